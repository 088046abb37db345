"""The `.skeleton` parser: real files (../shared) and hand-made exact-format fixtures."""
from __future__ import annotations

import numpy as np
import pytest

from zssar.data.ntu_skeleton import (SkeletonFormatError, _decode_decimals, format_skeleton, parse_name,
                                     parse_skeleton, read_skeleton)

# frame counts of the six real files (shared/data/ntu60_samples/PROVENANCE.md)
REAL_FRAMES = {"S001C001P001R001A001": 103, "S001C001P001R001A011": 82, "S001C003P008R002A058": 70,
               "S002C001P003R001A003": 100, "S003C001P015R001A034": 71, "S004C002P003R001A017": 124}


def body(seed: int, frames: int = 1) -> np.ndarray:
    """(frames, 25, 3) plausible joints: tall (y spread) rather than wide (x spread)."""
    rng = np.random.default_rng(seed)
    base = np.stack([rng.uniform(-0.2, 0.2, 25), rng.uniform(-0.8, 0.8, 25), rng.uniform(2.5, 3.5, 25)], 1)
    return base[None] + rng.normal(0, 0.01, (frames, 25, 3))


def reference_xyz(data: bytes) -> np.ndarray:
    """Slow, obviously-right reading: first three values of every 12-value line."""
    rows = [line.split() for line in data.splitlines()]
    return np.array([[float(v) for v in r[:3]] for r in rows if len(r) == 12]).reshape(-1, 25, 3)


@pytest.mark.shared
def test_real_files_frame_counts_crlf_and_values(shared):
    raw = shared / "data" / "ntu60_samples" / "raw"
    for name, frames in REAL_FRAMES.items():
        data = (raw / f"{name}.skeleton").read_bytes()
        assert b"\r\n" in data  # the original files are CRLF
        ske = read_skeleton(raw / f"{name}.skeleton")
        assert ske.name == name and ske.num_frames == frames
        np.testing.assert_array_equal(ske.xyz, reference_xyz(data))  # bit-exact decoding
        two_person = name.endswith("A058")
        assert ske.max_bodies == (2 if two_person else 1)
        assert len(set(ske.body_ids)) == (2 if two_person else 1)
        assert len(ske.xyz) == frames * (2 if two_person else 1)


@pytest.mark.shared
def test_real_file_equals_official_txt2npy(shared):
    ref = np.load(shared / "data/ntu60_samples/txt2npy_reference/S001C001P001R001A001.skeleton.npy",
                  allow_pickle=True).item()  # legacy official format (pickled dict), trusted reference data
    ske = read_skeleton(shared / "data/ntu60_samples/raw/S001C001P001R001A001.skeleton")
    np.testing.assert_array_equal(ske.xyz, ref["skel_body0"])
    assert list(ske.body_counts) == list(ref["nbodys"])


def test_zero_body_frames_and_more_than_two_bodies(tmp_path):
    frames = [[("7", body(0)[0])], [], [("7", body(0)[0]), ("8", body(1)[0]), ("9", body(2)[0])], []]
    path = tmp_path / "S001C001P001R001A001.skeleton"
    path.write_bytes(format_skeleton(frames))
    ske = read_skeleton(path)
    assert ske.num_frames == 4
    assert list(ske.body_counts) == [1, 0, 3, 0]
    assert ske.body_ids == ["7", "7", "8", "9"]
    assert list(ske.record_frame) == [0, 2, 2, 2]
    np.testing.assert_allclose(ske.xyz[3], body(2)[0], atol=1e-6)


def test_lf_line_endings_and_64bit_body_ids():
    ids = ("72057594037931101", "72057594037931102")  # differ only below float64 precision
    ske = parse_skeleton(format_skeleton([[(ids[0], body(0)[0]), (ids[1], body(1)[0])]], newline="\n"))
    assert ske.body_ids == list(ids)


def test_exponent_and_unusual_tokens_are_exact():
    xyz = body(3)[0]
    xyz[0] = [7.29689e-05, -1.5e-7, 3.0]
    data = format_skeleton([[("1", xyz)]])
    assert b"e-05" in data
    np.testing.assert_array_equal(parse_skeleton(data).xyz, reference_xyz(data))


def test_vectorised_decimals_match_float():
    rng = np.random.default_rng(0)
    values = rng.normal(size=3000) * 10.0 ** rng.integers(-7, 3, size=3000)
    tokens = [(fmt % v).encode() for v, fmt in zip(values, ["%.7g", "%.6f", "%.9g", "%.3E"] * 750)]
    tokens += [b"0", b"-0.0", b"5.", b".5", b"123456789012345", b"1E+02"]
    text = b" ".join(tokens)
    starts = np.cumsum([0] + [len(t) + 1 for t in tokens[:-1]])
    ends = starts + np.array([len(t) for t in tokens])
    got = _decode_decimals(np.frombuffer(text, np.uint8), starts, ends)
    np.testing.assert_array_equal(got, np.array([float(t) for t in tokens]))
    for bad in (b"1.2.3", b"--1", b"abc", b"1-2"):
        assert _decode_decimals(np.frombuffer(bad, np.uint8), np.array([0]), np.array([len(bad)])) is None


def test_truncated_file_names_file_and_line(tmp_path):
    good = format_skeleton([[("1", body(0)[0])], [("1", body(1)[0])]]).decode()
    lines = good.split("\r\n")
    cut = "\r\n".join(lines[:40])  # inside the second frame's joints
    path = tmp_path / "S001C001P001R001A001.skeleton"
    path.write_text(cut)
    with pytest.raises(SkeletonFormatError) as e:
        read_skeleton(path)
    assert str(path) in str(e.value) and "line 40" in str(e.value) and "truncated" in str(e.value)


def test_short_joint_line_names_its_line(tmp_path):
    lines = format_skeleton([[("1", body(0)[0])]]).decode().split("\r\n")
    lines[9] = " ".join(lines[9].split()[:5])  # line 10 (1-based) loses 7 of its 12 values
    path = tmp_path / "S001C001P001R001A002.skeleton"
    path.write_text("\r\n".join(lines))
    with pytest.raises(SkeletonFormatError, match=r"line 10: expected a joint line of 12 values, got 5"):
        read_skeleton(path)


def test_bad_counts_and_trailing_data(tmp_path):
    lines = format_skeleton([[("1", body(0)[0])]]).decode().split("\r\n")
    with pytest.raises(SkeletonFormatError, match="line 2: expected the body count"):
        parse_skeleton("\r\n".join([lines[0], "x"] + lines[2:]).encode(), "f.skeleton")
    with pytest.raises(SkeletonFormatError, match="line 4: expected 25 joints, got 24"):
        parse_skeleton("\r\n".join(lines[:3] + ["24"] + lines[4:]).encode(), "f.skeleton")
    with pytest.raises(SkeletonFormatError, match="unexpected data after the last of 1 frames"):
        parse_skeleton(("\r\n".join(lines) + "1\r\n").encode(), "f.skeleton")
    with pytest.raises(SkeletonFormatError, match="line 6: joint x y z are not numbers"):
        parse_skeleton("\r\n".join(lines[:5] + ["a b c 1 1 1 1 1 1 1 1 2"] + lines[6:]).encode(), "f.skeleton")


def test_parse_name():
    assert parse_name("S017C003P040R002A060") == {"setup": 17, "camera": 3, "subject": 40,
                                                  "replication": 2, "action": 60}
    with pytest.raises(ValueError, match="not an NTU sample name"):
        parse_name("S17C003P040R002A060")
