"""Bring-your-own dataset: a generated folder prepares and loads by its own name; every
malformed field gives an error naming the file, the field and the expectation."""
from __future__ import annotations

import numpy as np
import pytest
import yaml

from zssar.data import custom
from zssar.data.registry import load_dataset, partition

SPEC = {
    "name": "lab_actions",
    "layout": "kinect_v1_20",
    "class_names": ["wave", "clap", "kick"],
    "meta_fields": ["subject", "view"],
    "protocols": {"cross_subject": {"field": "subject", "train_values": [1, 2]},
                  "cross_view": {"field": "view", "train_values": [0]}},
    "default_protocol": "cross_subject",
}


def make_folder(root, spec=SPEC, n=9):
    root.mkdir(parents=True, exist_ok=True)
    (root / "joints").mkdir(exist_ok=True)
    (root / "dataset.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    rows = ["sample_id,label,subject,view"]
    rng = np.random.default_rng(0)
    for i in range(n):
        sid = f"clip{i:03d}"
        rows.append(f"{sid},{i % 3},{i % 3 + 1},{i % 2}")
        np.save(root / "joints" / f"{sid}.npy", rng.normal(size=(3, 5 + i, 20, 1 + i % 2)))
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return root


def test_prepare_and_load_by_own_name(tmp_path):
    from zssar import paths
    raw = make_folder(tmp_path / "my_data")
    assert custom.prepared_out(raw) == paths.prepared_dir() / "lab_actions"
    # the generic default target is redirected to the dataset's own name
    m = custom.prepare(raw, paths.prepared_dir() / "custom")
    assert m["name"] == "lab_actions" and m["num_samples"] == 9 and m["num_bodies"] == 2
    ds = load_dataset("lab_actions")
    assert ds.class_names == SPEC["class_names"] and ds.layout.name == "kinect_v1_20"
    s = ds[int(np.flatnonzero(ds.sample_ids == "clip004")[0])]
    assert s.label == 1 and s.meta == {"subject": 2, "view": 0} and s.joints.shape == (3, 9, 20, 2)
    np.testing.assert_allclose(s.joints[..., 0], np.load(raw / "joints" / "clip004.npy")[..., 0], rtol=1e-6)
    train, test = partition(ds, None)
    assert train.tolist() == ds.meta.subject.isin([1, 2]).tolist() and test.sum() == 3
    train, _ = partition(ds, "cross_view")
    assert train.sum() == 5
    with pytest.raises(KeyError, match="cross_setup"):
        partition(ds, "cross_setup")


def _bad_spec(**changes):
    spec = {k: v for k, v in SPEC.items()}
    for k, v in changes.items():
        if v is None:
            spec.pop(k)
        else:
            spec[k] = v
    return spec


@pytest.mark.parametrize("spec, match", [
    (_bad_spec(name=None), r"dataset.yaml: field 'name' missing"),
    (_bad_spec(name="Bad Name"), r"field 'name' is 'Bad Name', expected a lower-case identifier"),
    (_bad_spec(name="ntu60"), r"field 'name' is 'ntu60', which is a built-in dataset"),
    (_bad_spec(layout="kinect_v9"), r"field 'layout': unknown skeleton layout 'kinect_v9'"),
    (_bad_spec(class_names="wave"), r"field 'class_names' must be a non-empty list of strings"),
    (_bad_spec(class_names=["a", "b", "a"]), r"field 'class_names' has duplicates: \['a'\]"),
    (_bad_spec(meta_fields=["sub ject"]), r"field 'meta_fields' must be a list of column names"),
    (_bad_spec(protocols={}), r"field 'protocols' must be a non-empty mapping"),
    (_bad_spec(protocols={"p": {"field": "camera", "train_values": [1]}}),
     r"field 'protocols.p'.field is 'camera', which is not one of meta_fields"),
    (_bad_spec(protocols={"p": {"field": "subject", "train_values": "1,2"}}),
     r"field 'protocols.p'.train_values must be a non-empty list of integers"),
    (_bad_spec(default_protocol="p9"), r"field 'default_protocol' is 'p9'"),
    (_bad_spec(colour="red"), r"unknown fields \['colour'\]"),
])
def test_bad_dataset_yaml(tmp_path, spec, match):
    raw = make_folder(tmp_path / "d", spec=spec)
    with pytest.raises(ValueError, match=match) as e:
        custom.prepare(raw, tmp_path / "out")
    assert "dataset.yaml" in str(e.value)


@pytest.mark.parametrize("edit, match", [
    (lambda t: t.replace("sample_id,label,subject,view", "sample_id,label,subject"),
     r"labels.csv: line 1: header lacks columns \['view'\]"),
    (lambda t: t.replace("clip002,2,", "clip002,7,"), r"labels.csv: line 4: field 'label' is 7, expected a 0-based"),
    (lambda t: t.replace("clip002,2,", "clip002,kick,"), r"labels.csv: line 4: field 'label' is 'kick', expected an integer"),
    (lambda t: t.replace("clip003,0,1,1", "clip003,0,one,1"), r"line 5: field 'subject' is 'one', expected an integer"),
    (lambda t: t.replace("clip003,", "clip001,"), r"line 5: sample_id 'clip001' already used on line 3"),
    (lambda t: t.replace("clip003,", "../x,"), r"line 5: field 'sample_id' is '../x'"),
    (lambda t: "sample_id,label,subject,view\n", r"labels.csv: no samples"),
])
def test_bad_labels_csv(tmp_path, edit, match):
    raw = make_folder(tmp_path / "d")
    path = raw / "labels.csv"
    path.write_text(edit(path.read_text()))
    with pytest.raises(ValueError, match=match):
        custom.prepare(raw, tmp_path / "out")


@pytest.mark.parametrize("array, match", [
    (np.zeros((3, 5, 25, 1)), r"clip005.npy: shape \(3, 5, 25, 1\), expected \(3, T>=1, 20, M>=1\)"),
    (np.zeros((5, 20, 3)), r"clip005.npy: shape \(5, 20, 3\)"),
    (np.full((3, 5, 20, 1), np.nan), r"clip005.npy: contains NaN"),
    (np.array([{"a": 1}], dtype=object), r"clip005.npy: not a plain numeric .npy array"),
    (None, r"clip005.npy: missing"),
])
def test_bad_joints(tmp_path, array, match):
    raw = make_folder(tmp_path / "d")
    target = raw / "joints" / "clip005.npy"
    target.unlink()
    if array is not None:
        np.save(target, array, allow_pickle=True)
    with pytest.raises((ValueError, FileNotFoundError), match=match) as e:
        custom.prepare(raw, tmp_path / "out")
    assert "labels.csv line 7" in str(e.value)
    m = custom.prepare(raw, tmp_path / "skipped", skip_bad=True)
    assert m["num_samples"] == 8 and "clip005" in m["excluded"]["samples"]


def test_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="dataset.yaml: missing"):
        custom.prepare(tmp_path, tmp_path / "out")
    raw = make_folder(tmp_path / "d")
    (raw / "labels.csv").unlink()
    with pytest.raises(FileNotFoundError, match=r"labels.csv: missing \(expected a CSV with columns "
                                                r"sample_id,label,subject,view\)"):
        custom.prepare(raw, tmp_path / "out")
