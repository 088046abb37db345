"""PKU-MMD I loader on generated fixtures in the three source forms (no PKU data ships)."""
from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from zssar.data import pku
from zssar.data.dataset import SkeletonDataset
from zssar.data.registry import partition

# video -> [(1-based label, start, end)] ; frames per video
VIDEOS = {"0002-L": [(2, 1, 12), (51, 15, 30)], "0002-M": [(2, 3, 10)], "0003-R": [(7, 5, 40), (1, 41, 41)]}
FRAMES = 45
XSUB = (["0002-L", "0002-M"], ["0003-R"])
XVIEW = (["0002-M", "0003-R"], ["0002-L"])


def _frames(video: str) -> np.ndarray:
    rng = np.random.default_rng(int(video[:4]) * 10 + "LMR".index(video[-1]))
    return rng.normal(size=(FRAMES, 150)).astype(np.float32) + 0.5  # never an all-zero frame


def _write_list(path, train, val):
    path.write_text("Training videos: \n" + ", ".join(train) + ", \nValidataion videos: \n" + ", ".join(val) + "\n")


@pytest.fixture
def official(tmp_path):
    raw = tmp_path / "pku_raw"
    (raw / "PKU_Skeleton_Renew").mkdir(parents=True)
    (raw / "Train_Label_PKU_final").mkdir()
    (raw / "Split").mkdir()
    for video, rows in VIDEOS.items():
        np.savetxt(raw / "PKU_Skeleton_Renew" / f"{video}.txt", _frames(video), fmt="%.6f")
        (raw / "Train_Label_PKU_final" / f"{video}.txt").write_text(
            "".join(f"{l},{s},{e},1\n" for l, s, e in rows))
    _write_list(raw / "Split" / "cross-subject.txt", *XSUB)
    _write_list(raw / "Split" / "cross-view.txt", *XVIEW)
    return raw


def _clips():
    """Every labelled interval as (video, index, 0-based label, (3, T, 25, 2) joints)."""
    for video, rows in VIDEOS.items():
        f = _frames(video).reshape(FRAMES, 2, 25, 3).transpose(3, 0, 2, 1)
        for k, (label, s, e) in enumerate(rows):
            yield video, k, label - 1, f[:, s - 1:e]


@pytest.fixture
def aimclr(tmp_path):
    raw = tmp_path / "aimclr"
    for protocol, (train, _) in (("xsub", XSUB), ("xview", XVIEW)):
        for part, in_part in (("train", lambda v: v in train), ("val", lambda v: v not in train)):
            names, labels, data = [], [], []
            for video, k, label, joints in _clips():
                if not in_part(video):
                    continue
                view = "LMR".index(video[-1]) + 1
                names.append(f"F{int(video[:4]):03d}V{view:03d}C{label + 1:03d}L{k + 1:03d}.skeleton")
                labels.append(np.int64(label) if part == "val" else label)  # both kinds occur upstream
                padded = np.zeros((3, 60, 25, 2), np.float32)
                padded[:, :joints.shape[1]] = joints
                data.append(padded)
            (raw / protocol).mkdir(parents=True, exist_ok=True)
            np.save(raw / protocol / f"{part}_data.npy", np.stack(data))
            with open(raw / protocol / f"{part}_label.pkl", "wb") as f:
                pickle.dump((names, labels), f)
    return raw


def _prepare(raw, tmp_path, name="out", **kw):
    pku.prepare(raw, tmp_path / name, **kw)
    return SkeletonDataset.load(tmp_path / name)


def test_class_names_official_order(shared):
    assert len(pku.CLASS_NAMES) == 51 and len(set(pku.CLASS_NAMES)) == 51
    star = [l.split(";")[0].strip() for l in
            (shared / "semantics/star/pkuv1_part_descriptions.txt").read_text().splitlines() if l.strip()]
    assert star == pku.CLASS_NAMES


def test_official_release(official, tmp_path):
    ds = _prepare(official, tmp_path)
    assert ds.manifest["source_format"] == "official" and ds.layout.name == "ntu25"
    assert sorted(ds.sample_ids) == ["0002-L_000", "0002-L_001", "0002-M_000", "0003-R_000", "0003-R_001"]
    by_id = {s.sample_id: s for s in ds}
    for video, k, label, joints in _clips():
        s = by_id[f"{video}_{k:03d}"]
        assert s.label == label
        np.testing.assert_allclose(s.joints, joints, atol=1e-5)  # written with 6 decimals
        assert s.meta["video"] == int(video[:4]) and s.meta["view"] == "LMR".index(video[-1]) + 1
    assert by_id["0003-R_001"].joints.shape == (3, 1, 25, 2)  # a one-frame interval
    assert by_id["0002-L_001"].label == 50
    train, test = partition(ds, "xsub")
    assert sorted(ds.sample_ids[train]) == ["0002-L_000", "0002-L_001", "0002-M_000"]
    train, test = partition(ds, "xview")
    assert sorted(ds.sample_ids[test]) == ["0002-L_000", "0002-L_001"]
    assert ds.manifest["source_sha256"] and ds.manifest["excluded"]["count"] == 0


def test_aimclr_layout_equals_official(official, aimclr, tmp_path):
    a, b = _prepare(official, tmp_path, "a"), _prepare(aimclr, tmp_path, "b")
    assert b.manifest["source_format"] == "aimclr"
    assert sorted(a.sample_ids) == sorted(b.sample_ids)
    order_a, order_b = np.argsort(a.sample_ids), np.argsort(b.sample_ids)
    np.testing.assert_array_equal(a.labels[order_a], b.labels[order_b])
    for col in ("video", "view", "xsub_train", "xview_train"):
        np.testing.assert_array_equal(a.meta[col].to_numpy()[order_a], b.meta[col].to_numpy()[order_b])
    for i, j in zip(order_a, order_b):
        np.testing.assert_allclose(a.joints(i), b.joints(j), atol=1e-5)  # padding trimmed


def test_star_npz(tmp_path):
    clips = list(_clips())
    x = np.zeros((len(clips), 3, 50, 25, 2), np.float32)
    for i, (_, _, _, joints) in enumerate(clips):
        x[i, :, :joints.shape[1]] = joints
    y = np.array([[c[2]] for c in clips])
    np.savez(tmp_path / "pkuv1_xsub.npz", x_train=x[:3], y_train=y[:3], x_test=x[3:], y_test=y[3:])
    ds = _prepare(tmp_path, tmp_path)
    assert ds.manifest["source_format"] == "npz" and len(ds) == len(clips)
    train, _ = partition(ds, "xsub")
    assert train.sum() == 3
    np.testing.assert_allclose(ds.joints(int(np.flatnonzero(ds.sample_ids == "xsub_test_00001")[0])), clips[4][3])
    with pytest.raises(ValueError, match="no xview partition"):
        partition(ds, "xview")


def test_refuses_code_in_label_pickle(aimclr, tmp_path):
    class Evil:
        def __reduce__(self):
            return os.system, ("echo pwned",)
    with open(aimclr / "xsub" / "train_label.pkl", "wb") as f:
        pickle.dump((["F002V001C002L001.skeleton"], [Evil()]), f)
    with pytest.raises(ValueError, match="refusing to load"):
        _prepare(aimclr, tmp_path)


@pytest.mark.parametrize("label_text, match", [
    ("2,1,12,1\n99,3,4,1\n", r"line 2: label 99 out of range"),
    ("2,12,1,1\n", r"line 1: interval 12..1"),
    ("2;1;12\n", r"line 1: expected 'label,start,end,confidence'"),
    ("2,1,400,1\n", r"ends after the last frame \(45\)"),
])
def test_corrupt_label_files(official, tmp_path, label_text, match):
    (official / "Train_Label_PKU_final" / "0002-M.txt").write_text(label_text)
    with pytest.raises(ValueError, match=match) as e:
        _prepare(official, tmp_path)
    assert "0002-M.txt" in str(e.value)


def test_corrupt_skeleton_and_skip_bad(official, tmp_path):
    path = official / "PKU_Skeleton_Renew" / "0002-M.txt"
    lines = path.read_text().splitlines()
    lines[6] = " ".join(lines[6].split()[:149])
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"0002-M.txt: line 7: expected 150 numbers per frame"):
        _prepare(official, tmp_path)
    ds = _prepare(official, tmp_path, "skipped", skip_bad=True)
    assert len(ds) == 4 and "0002-M" in ds.manifest["excluded"]["samples"]


def test_split_list_errors(official, tmp_path):
    (official / "Split" / "cross-view.txt").write_text("Training videos: \n0002-M, 0003-R\n")
    with pytest.raises(ValueError, match=r"cross-view.txt: no 'Validataion videos:' line"):
        _prepare(official, tmp_path)
    (official / "Split" / "cross-view.txt").unlink()
    with pytest.raises(FileNotFoundError, match="cross-view.txt not found"):
        _prepare(official, tmp_path)


def test_video_missing_from_lists_is_excluded(official, tmp_path):
    _write_list(official / "Split" / "cross-subject.txt", ["0002-L"], ["0003-R"])
    ds = _prepare(official, tmp_path)
    assert "0002-M" in ds.manifest["excluded"]["samples"]
    assert not any(s.startswith("0002-M") for s in ds.sample_ids)
