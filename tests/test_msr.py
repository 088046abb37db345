"""MSR Action3D loader: the real data in ../shared, the msr20 layout, corrupt inputs."""
from __future__ import annotations

import numpy as np
import pytest

from zssar.data import msr
from zssar.data.dataset import SkeletonDataset
from zssar.data.layouts import get_layout
from zssar.data.registry import load_dataset, partition


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    from zssar import paths
    if not paths.shared_available():
        pytest.skip(f"needs ../shared reference data; not found at {paths.shared_dir()}")
    out = tmp_path_factory.mktemp("msr") / "msr_action3d"
    msr.prepare(msr.default_raw(), out)
    return SkeletonDataset.load(out)


def test_layout():
    layout = get_layout("msr20")
    assert layout.num_joints == 20 and len(layout.bones) == 19
    layout.validate()
    # a tree: following parents from any joint reaches the centre
    parent = dict(layout.bones)
    for j in range(20):
        seen = set()
        while j != layout.center:
            assert j not in seen
            seen.add(j)
            j = parent[j]
    assert layout.joint_names[6] == "hip_center" and layout.joint_names[19] == "head"


@pytest.mark.shared
def test_layout_bones_match_body_model():
    from scipy.io import loadmat
    body = loadmat(str(msr.default_raw() / "body_model.mat"))["body_model"][0, 0]
    upstream = {frozenset((int(a) - 1, int(b) - 1)) for a, b in body["bones"]}
    assert {frozenset(b) for b in get_layout("msr20").bones} == upstream
    assert int(body["hip_center_index"][0, 0]) - 1 == 6 and int(body["head_index"][0, 0]) - 1 == 19
    assert int(body["right_wrist_index"][0, 0]) - 1 == get_layout("msr20").joint_names.index("right_wrist")


def test_real_data_counts(prepared):
    ds = prepared
    # the 557-file standard list; the all-zero a13_s09_e02 is outside it and detected anyway
    assert len(ds) == 557
    assert ds.manifest["all_zero_excluded"] == ["a13_s09_e02"]
    excluded = ds.manifest["excluded"]
    assert excluded["count"] == 567 - 557
    assert excluded["samples"]["a13_s09_e02"].startswith("all-zero")
    assert ds.class_names == msr.CLASS_NAMES and ds.layout.name == "msr20"
    assert np.bincount(ds.labels).tolist()[14] == 20  # "side kick" has 20 sequences
    train, test = partition(ds, "xsub")
    assert (train.sum(), test.sum()) == (284, 273)
    assert set(ds.meta.subject[train]) == {1, 3, 5, 7, 9} and set(ds.meta.subject[test]) == {2, 4, 6, 8, 10}
    s = ds[int(np.flatnonzero(ds.sample_ids == "a01_s01_e01")[0])]
    assert (s.joints.shape[0], s.joints.shape[2], s.joints.shape[3]) == (3, 20, 1) and s.joints.dtype == np.float32
    np.testing.assert_allclose(s.joints[:, 0, 0, 0], [-0.371736, 0.371031, 2.674849], atol=1e-6)


@pytest.mark.shared
def test_all_files_subset(tmp_path):
    m = msr.prepare(msr.default_raw(), tmp_path / "all", subset="all")
    assert m["num_samples"] == 566 and m["excluded"]["count"] == 1


@pytest.mark.shared
def test_load_dataset_auto_prepares():
    ds = load_dataset("msr_action3d")  # ZSSAR_DATA is a temp dir (conftest)
    assert len(ds) == 557


def _fake_raw(tmp_path, files: dict[str, str]):
    d = tmp_path / "raw" / "real_world_coordinates"
    d.mkdir(parents=True)
    for name, text in files.items():
        (d / name).write_text(text)
    return tmp_path / "raw"


def _frames_text(t: int, seed=0) -> str:
    rows = np.random.default_rng(seed).normal(size=(t * 20, 4)) + 1
    return "\n".join(" ".join(f"{v:.6f}" for v in r) for r in rows) + "\n"


def test_corrupt_inputs(tmp_path):
    raw = _fake_raw(tmp_path, {"a01_s01_e01_skeleton3D.txt": _frames_text(3),
                               "a02_s02_e01_skeleton3D.txt": _frames_text(2)[:-30] + "\n",
                               "a03_s01_e01_skeleton3D.txt": "0 0 0 0\n" * 40})
    with pytest.raises(ValueError, match=r"a02_s02_e01_skeleton3D.txt: .* not a whole number of frames"):
        msr.prepare(raw, tmp_path / "out", subset="all")
    m = msr.prepare(raw, tmp_path / "out2", subset="all", skip_bad=True)
    assert m["num_samples"] == 1
    assert m["excluded"]["samples"]["a03_s01_e01"].startswith("all-zero")
    assert "unreadable" in m["excluded"]["samples"]["a02_s02_e01"]
    with pytest.raises(FileNotFoundError, match="files_used"):
        msr.prepare(raw, tmp_path / "out3")  # the standard list is required by default


def test_train_mask_rejects_unknown_protocol():
    import pandas as pd
    with pytest.raises(KeyError, match="xview"):
        msr.train_mask(pd.DataFrame({"subject": [1]}), "xview")
