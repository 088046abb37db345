"""`zssar prepare` for NTU: CLI, CTR-GCN export/import, bad files, missing skeletons, resume."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from zssar import cli
from zssar.data import ctrgcn_format, ntu
from zssar.data.dataset import SkeletonDataset
from zssar.data.ntu_skeleton import format_skeleton

REAL = ["S001C001P001R001A001", "S001C001P001R001A011", "S001C003P008R002A058",
        "S002C001P003R001A003", "S003C001P015R001A034", "S004C002P003R001A017"]


def person(seed: int, frames: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.stack([rng.uniform(-0.2, 0.2, 25), rng.uniform(-0.8, 0.8, 25), rng.uniform(2.5, 3.5, 25)], 1)
    return base[None] + 0.02 * rng.normal(size=(frames, 25, 3))


def synthetic_raw(folder: Path, n: int = 8) -> list[str]:
    """n small valid files over several subjects/cameras; the last one is two-person."""
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(n):
        two = i == n - 1
        name = f"S001C{1 + i % 3:03d}P{1 + i % 4:03d}R001A{(51 if two else 1 + i):03d}"
        t = 14 + 3 * i
        a, b = person(i, t), person(100 + i, t)
        frames = [[("11", a[f])] + ([("12", b[f])] if two else []) for f in range(t)]
        (folder / f"{name}.skeleton").write_bytes(format_skeleton(frames))
        names.append(name)
    return sorted(names)


@pytest.fixture
def no_shared(monkeypatch, tmp_path):
    """Behave as on a machine without ../shared (no default missing list or statistics)."""
    monkeypatch.setenv("ZSSAR_SHARED", str(tmp_path / "no-shared"))


def loaded(folder: Path) -> dict[str, tuple[int, np.ndarray, dict]]:
    ds = SkeletonDataset.load(folder)
    return {s.sample_id: (s.label, s.joints, s.meta) for s in ds}


def assert_same(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b)
    for k in a:
        assert a[k][0] == b[k][0] and a[k][2] == b[k][2], k
        np.testing.assert_array_equal(a[k][1], b[k][1], err_msg=k)


@pytest.mark.shared
def test_cli_prepare_real_files(shared, tmp_path, capsys):
    out = tmp_path / "ntu60"
    rc = cli.main(["prepare", "ntu60", "--raw", str(shared / "data/ntu60_samples/raw"), "--out", str(out),
                   "--format", "ctrgcn", "--workers", "1"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "prepared ntu60: 6 samples, 60 classes" in printed and "NTU60_CS.npz" in printed
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["meta_fields"] == ["setup", "camera", "subject", "replication"]
    assert manifest["missing_skeletons"]["list_size"] == 302  # the shared copy of the official list
    ds = SkeletonDataset.load(out)
    assert sorted(ds.sample_ids) == REAL
    s = ds[list(ds.sample_ids).index("S001C003P008R002A058")]
    assert s.label == 57 and s.meta == {"setup": 1, "camera": 3, "subject": 8, "replication": 2}
    assert s.joints.shape == (3, 70, 25, 2) and s.joints[..., 1].any()  # two actors
    assert not ds[list(ds.sample_ids).index("S001C001P001R001A001")].joints[..., 1].any()
    for ev in ("CS", "CV"):
        ours = np.load(out / "ctrgcn" / f"NTU60_{ev}.npz")
        ref = np.load(shared / f"data/ntu60_samples/ctrgcn_reference/NTU60_{ev}.npz")
        for key in ref.files:
            np.testing.assert_allclose(ours[key], ref[key], rtol=0, atol=1e-5, err_msg=f"{ev} {key}")


@pytest.mark.shared
def test_import_reference_npz_recovers_names(shared, tmp_path):
    ref = shared / "data/ntu60_samples/ctrgcn_reference"
    ntu.prepare(shared / "data/ntu60_samples/raw", tmp_path / "raw", dataset="ntu60", workers=1)
    m = ntu.prepare(ref / "NTU60_CS.npz", tmp_path / "imported", dataset="ntu60",
                    statistics=ref / "statistics_used")
    assert m["sample_ids"]["origin"] == "reconstructed"
    assert_same(loaded(tmp_path / "raw"), loaded(tmp_path / "imported"))


def test_export_import_round_trip(tmp_path, no_shared):
    names = synthetic_raw(tmp_path / "raw")
    ntu.prepare(tmp_path / "raw", tmp_path / "prep", dataset="ntu60", workers=1)
    exports = ntu.export_ctrgcn(tmp_path / "prep", tmp_path / "npz", chunk=3)
    assert [e["protocol"] for e in exports] == ["xsub", "xview"]
    cs = np.load(tmp_path / "npz" / "NTU60_CS.npz")
    assert cs["x_train"].shape[1:] == (14 + 3 * 7, 150) and cs["y_train"].shape[1] == 60
    # streamed reading gives the same blocks as np.load
    blocks = list(ctrgcn_format.iter_rows(tmp_path / "npz" / "NTU60_CS.npz", "x_train", chunk=2))
    np.testing.assert_array_equal(np.concatenate(blocks), cs["x_train"])

    stats = tmp_path / "statistics"
    stats.mkdir()
    (stats / "skes_available_name.txt").write_text("\n".join(names) + "\n")
    m = ntu.prepare(tmp_path / "npz" / "NTU60_CS.npz", tmp_path / "back", dataset="ntu60", statistics=stats)
    assert m["sample_ids"]["origin"] == "reconstructed"
    assert_same(loaded(tmp_path / "prep"), loaded(tmp_path / "back"))

    # without the statistics: synthesised ids, the npz partition still defines the protocol
    m = ntu.prepare(tmp_path / "npz" / "NTU60_CV.npz", tmp_path / "anon", dataset="ntu60")
    assert m["sample_ids"]["origin"] == "synthesised" and "statistics" in m["sample_ids"]["reason"]
    from zssar.data.registry import partition
    anon = SkeletonDataset.load(tmp_path / "anon")
    train, test = partition(anon, "xview")
    cv = np.load(tmp_path / "npz" / "NTU60_CV.npz")
    assert (train.sum(), test.sum()) == (len(cv["x_train"]), len(cv["x_test"]))
    for i in range(len(anon)):
        part = "train" if train[i] else "test"
        k = int(anon.sample_ids[i].rsplit("_", 1)[1])
        t = anon.joints(i).shape[1]
        np.testing.assert_array_equal(ctrgcn_format.joints_to_rows(anon.joints(i)), cv[f"x_{part}"][k, :t])


def test_import_compressed_npz_and_bad_layout(tmp_path, no_shared):
    x = np.zeros((2, 5, 150), np.float32)
    x[0, :3] = 1.0
    x[1, :4] = 2.0
    y = np.eye(60)[[3, 7]]
    np.savez_compressed(tmp_path / "NTU60_CS.npz", x_train=x, y_train=y, x_test=x[:1], y_test=y[:1])
    m = ntu.prepare(tmp_path / "NTU60_CS.npz", tmp_path / "out", dataset="ntu60")
    assert m["num_samples"] == 3
    ds = SkeletonDataset.load(tmp_path / "out")
    assert [ds.joints(i).shape[1] for i in range(3)] == [3, 4, 3] and list(ds.labels) == [3, 7, 3]
    np.savez(tmp_path / "bad.npz", x_train=x, y_train=y[:, :10], x_test=x, y_test=y)
    with pytest.raises(ValueError, match=r"bad.npz: field 'y_train' has shape \(2, 10\)"):
        ntu.prepare(tmp_path / "bad.npz", tmp_path / "bad", dataset="ntu60")


def test_bad_file_fails_or_is_skipped(tmp_path, capsys, no_shared):
    raw = tmp_path / "raw"
    synthetic_raw(raw, n=4)
    broken = raw / "S002C001P001R001A005.skeleton"
    broken.write_bytes(b"\r\n".join(format_skeleton([[("1", person(0, 1)[0])]] * 3).split(b"\r\n")[:40]))
    with pytest.raises(ValueError, match=rf"{broken}, line 40: .*truncated"):
        ntu.prepare(raw, tmp_path / "strict", dataset="ntu60", workers=1)
    rc = cli.main(["prepare", "ntu60", "--raw", str(raw), "--out", str(tmp_path / "out"), "--skip-bad",
                   "--workers", "1"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "prepared ntu60: 4 samples" in printed and "S002C001P001R001A005" in printed
    m = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert m["excluded"]["count"] == 1
    assert "line 40" in m["excluded"]["samples"]["S002C001P001R001A005"]
    assert m["excluded_by_reason"] == {ntu.EXCLUDED_CORRUPT: 1}


def test_missing_skeletons_by_list_or_by_parse(tmp_path, no_shared):
    raw = tmp_path / "raw"
    names = synthetic_raw(raw, n=4)
    (raw / "S001C002P005R002A008.skeleton").write_bytes(b"0\r\n")  # empty, as the official missing files
    listed = tmp_path / "lists" / "my_missing.txt"  # not where it would be found by itself
    listed.parent.mkdir()
    listed.write_text(f"S001C002P005R002A008\n{names[0]}\n")
    m = ntu.prepare(raw, tmp_path / "listed", dataset="ntu60", missing_list=listed, workers=1)
    assert m["num_samples"] == 3 and m["excluded"]["count"] == 2
    assert m["excluded_by_reason"] == {ntu.EXCLUDED_LISTED: 2}
    assert m["missing_skeletons"]["list"] == str(listed)

    m = ntu.prepare(raw, tmp_path / "parsed", dataset="ntu60", workers=1)  # no list anywhere
    assert m["missing_skeletons"]["list"] is None and "no official list" in m["missing_skeletons"]["rule"]
    assert m["num_samples"] == 4 and m["excluded_by_reason"] == {ntu.EXCLUDED_NO_BODY: 1}

    # the official file name next to the raw folder is picked up by itself
    listed.rename(tmp_path / "NTU_RGBD_samples_with_missing_skeletons.txt")
    m = ntu.prepare(raw, tmp_path / "found", dataset="ntu60", workers=1)
    assert m["missing_skeletons"]["list"] == str(tmp_path / "NTU_RGBD_samples_with_missing_skeletons.txt")


def test_resume_after_interruption(tmp_path, monkeypatch, no_shared):
    raw = tmp_path / "raw"
    synthetic_raw(raw, n=7)
    out = tmp_path / "out"
    first = ntu.prepare(raw, out, dataset="ntu60", shard_size=2, workers=1)
    before = loaded(out)
    assert len(first["shards"]) == 4
    # simulate a crash while writing the last shard: no manifest, last shard gone
    (out / "manifest.json").unlink()
    for f in out.glob("shard-00003.*"):
        f.unlink()
    seen = []
    real = ntu._process_files
    monkeypatch.setattr(ntu, "_process_files", lambda paths, cfg: seen.extend(paths) or real(paths, cfg))
    again = ntu.prepare(raw, out, dataset="ntu60", shard_size=2, workers=1)
    assert len(seen) == 1  # only the sample of the lost shard was redone
    assert again["shards"] == first["shards"] and again["num_samples"] == 7
    assert_same(before, loaded(out))


def test_workers_give_the_same_result(tmp_path, no_shared):
    synthetic_raw(tmp_path / "raw", n=6)
    one = ntu.prepare(tmp_path / "raw", tmp_path / "one", dataset="ntu60", workers=1, files_per_task=2)
    two = ntu.prepare(tmp_path / "raw", tmp_path / "two", dataset="ntu60", workers=2, files_per_task=2)
    assert one["shards"] == two["shards"]  # same bytes, shard by shard


def test_cli_errors(tmp_path, capsys, no_shared):
    assert cli.main(["prepare", "ntu60"]) == 2
    assert "pass --raw PATH" in capsys.readouterr().err
    assert cli.main(["prepare", "ntu61", "--raw", str(tmp_path)]) == 2
    assert "did you mean 'ntu60'" in capsys.readouterr().err.lower()
    assert cli.main(["prepare", "ntu60", "--raw", str(tmp_path)]) == 2
    assert "no .skeleton files" in capsys.readouterr().err


def test_dataset_selection_ignores_ntu120_only_files(tmp_path, no_shared):
    raw = tmp_path / "raw"
    synthetic_raw(raw, n=3)
    (raw / "S018C001P001R001A001.skeleton").write_bytes(format_skeleton([[("1", person(0, 1)[0])]] * 15))
    (raw / "S001C001P001R001A061.skeleton").write_bytes(format_skeleton([[("1", person(1, 1)[0])]] * 15))
    m60 = ntu.prepare(raw, tmp_path / "60", dataset="ntu60", workers=1)
    m120 = ntu.prepare(raw, tmp_path / "120", dataset="ntu120", workers=1)
    assert (m60["num_samples"], m60["source"]["ignored_files"]) == (3, 2)
    assert (m120["num_samples"], m120["num_classes"]) == (5, 120)
