"""NW-UCLA loader: the real data in ../shared and corrupt inputs."""
from __future__ import annotations

import json

import numpy as np
import pytest

from zssar.data import nwucla
from zssar.data.dataset import SkeletonDataset
from zssar.data.registry import partition


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    from zssar import paths
    if not paths.shared_available():
        pytest.skip(f"needs ../shared reference data; not found at {paths.shared_dir()}")
    out = tmp_path_factory.mktemp("ucla") / "nw_ucla"
    nwucla.prepare(nwucla.default_raw(), out)
    return SkeletonDataset.load(out)


def test_real_data_counts(prepared):
    ds = prepared
    assert len(ds) == 1484 and ds.manifest["excluded"]["count"] == 0
    assert ds.class_names == nwucla.CLASS_NAMES and ds.layout.name == "kinect_v1_20"
    assert ds.meta.view.value_counts().sort_index().tolist() == [516, 504, 464]
    train, test = partition(ds, None)  # default protocol: xview
    assert (train.sum(), test.sum()) == (1020, 464)
    assert set(ds.meta.view[test]) == {3}
    assert np.bincount(ds.labels).tolist() == [150, 152, 141, 173, 148, 149, 142, 142, 145, 142]
    assert sum(ds.joints(i).shape[1] for i in range(len(ds))) == 58_534
    s = ds[int(np.flatnonzero(ds.sample_ids == "a01_s01_e00_v01")[0])]
    assert s.meta == {"subject": 1, "view": 1, "episode": 0} and s.joints.shape[0::2] == (3, 20)
    np.testing.assert_allclose(s.joints[:, 0, 0, 0], [-0.619699, 0.328046, 3.18186], atol=1e-6)


def _write(folder, stem, **overrides):
    doc = {"file_name": stem, "skeletons": np.ones((4, 20, 3)).tolist(), "label": 1}
    doc.update(overrides)
    (folder / f"{stem}.json").write_text(json.dumps(doc))


@pytest.mark.parametrize("overrides, match", [
    ({"label": 3}, r"field 'label' is 3 but file name a01 means label 1"),
    ({"skeletons": [[[0, 0, 0]] * 19]}, r"field 'skeletons' has shape \(1, 19, 3\)"),
    ({"skeletons": [[[0, 0]] * 20, [[0, 0, 0]] * 20]}, r"field 'skeletons' is not a rectangular"),
    ({"file_name": "a01_s02_e00_v01"}, r"field 'file_name' is 'a01_s02_e00_v01', expected the file's own name"),
    ({"skeletons": None}, r"field 'skeletons' has shape \(\)"),
])
def test_corrupt_files(tmp_path, overrides, match):
    _write(tmp_path, "a01_s01_e00_v01", **overrides)
    with pytest.raises(ValueError, match=match) as e:
        nwucla.prepare(tmp_path, tmp_path / "out")
    assert "a01_s01_e00_v01.json" in str(e.value)


def test_bad_json_and_skip_bad(tmp_path):
    _write(tmp_path, "a01_s01_e00_v01")
    _write(tmp_path, "a12_s03_e01_v03", label=10)
    (tmp_path / "a02_s01_e00_v02.json").write_text('{"file_name": ')
    with pytest.raises(ValueError, match=r"a02_s01_e00_v02.json: not valid JSON"):
        nwucla.prepare(tmp_path, tmp_path / "out")
    m = nwucla.prepare(tmp_path, tmp_path / "out2", skip_bad=True)
    assert m["num_samples"] == 2 and list(m["excluded"]["samples"]) == ["a02_s01_e00_v02"]
    ds = SkeletonDataset.load(tmp_path / "out2")
    assert sorted(ds.labels.tolist()) == [0, 9]
