"""Runner mechanics on a tiny in-memory dataset: skip, resume, atomic writes, honest calibration."""
import json

import numpy as np
import pytest

import toydata
from methods import registry
from zssar.runner import RunOptions, run_one
from zssar.splits import Split

SPLIT = Split(name="toy_8_2", dataset="toy", version=1, num_classes=10, unseen=(2, 7),
              validation_unseen=(4, 9), tiers={2: "easy", 7: "hard"})


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setitem(registry.METHODS, "toy", "toydata:ToyMethod")
    toydata.ToyMethod.calls.clear()
    return toydata.toy_dataset()


def opts(**kw):
    return RunOptions(method="toy", dataset="toy", device="cpu", **kw)


def test_result_json_has_the_documented_schema(toy):
    out = run_one(opts(), SPLIT, toy)
    r = json.loads((out.run_dir / "result.json").read_text())
    for key in ("schema_version", "run_key", "status", "method", "dataset", "split", "seed", "metrics",
                "per_class", "text_encoder", "backbone", "env", "timing"):
        assert key in r, key
    assert r["status"] == "complete"
    assert r["split"]["unseen"] == [2, 7] and r["split"]["seen"] == [0, 1, 3, 4, 5, 6, 8, 9]
    m = r["metrics"]
    for key in ("zsl_top1", "zsl_top5", "zsl_mean_class_acc", "gzsl_seen", "gzsl_unseen", "gzsl_h",
                "gzsl_ausuc", "gzsl_uncalibrated_h"):
        assert key in m, key
    assert set(m["oracle"]) >= {"gzsl_seen", "gzsl_unseen", "gzsl_h", "gzsl_gamma"}
    assert "half_zsl_top1" in m["extra"]
    assert set(m["tiers"]) == {"easy", "hard"}
    assert r["env"]["device"] == "cpu" and "torch" in r["env"]
    assert r["text_encoder"]["id"] == "minilm"
    preds = np.load(out.run_dir / "preds.npz", allow_pickle=False)
    assert preds["zsl_scores"].shape == (r["dataset"]["n_zsl_test"], 2)
    assert preds["gzsl_scores"].shape == (r["dataset"]["n_test"], 10)
    assert (out.run_dir / "config.json").is_file() and (out.run_dir / "run.log").is_file()


def test_finished_run_is_skipped_and_force_recomputes(toy):
    first = run_one(opts(), SPLIT, toy)
    n_calls = len(toydata.ToyMethod.calls)
    again = run_one(opts(), SPLIT, toy)
    assert again.skipped and len(toydata.ToyMethod.calls) == n_calls
    assert again.result["run_key"] == first.result["run_key"]
    forced = run_one(opts(force=True), SPLIT, toy)
    assert not forced.skipped and len(toydata.ToyMethod.calls) > n_calls


def test_config_change_is_a_different_run(toy):
    a = run_one(opts(), SPLIT, toy)
    b = run_one(opts(method_overrides={"scale": "2.0"}), SPLIT, toy)
    assert not b.skipped and a.run_dir != b.run_dir and a.result["run_key"] != b.result["run_key"]


def test_changed_class_text_invalidates_a_finished_run(toy, monkeypatch):
    """Same config, same directory, different text (an edited pack): the run is recomputed."""
    from methods.base import Requirements
    from zssar.text import packs
    monkeypatch.setattr(toydata.ToyMethod, "requires",
                        Requirements(features=False, raw=True, text_sources=("names", "descriptions")))
    text = {"descriptions": [[f"someone does {n}."] for n in toydata.TOY_CLASSES]}
    monkeypatch.setattr(packs, "_yaml_pack", lambda dataset: {"path": "toy.yaml", "class_names":
                                                              toydata.TOY_CLASSES, "sources": text})
    first = run_one(opts(), SPLIT, toy)
    assert run_one(opts(), SPLIT, toy).skipped
    text["descriptions"][3] = ["someone kicks with the leg on the liver side."]
    again = run_one(opts(), SPLIT, toy)
    assert not again.skipped and again.run_dir == first.run_dir
    assert again.result["run_key"] != first.result["run_key"]
    assert again.result["text_encoder"]["text_sha256"] != first.result["text_encoder"]["text_sha256"]


def test_side_information_a_method_reads_itself_is_part_of_the_run_key(toy, monkeypatch):
    """Text a method reads outside its text sources (SkeletonContext's context pack) keys the run
    too: editing it recomputes a finished run. A method that reads none adds no key field."""
    first = run_one(opts(), SPLIT, toy)
    assert "method_text_sha256" not in first.result["text_encoder"]
    pack = {"contexts": ["in a gym, the left arm uses a ball to throw on a wall."]}
    monkeypatch.setattr(toydata.ToyMethod, "identity_text", lambda self, dataset, names: dict(pack), raising=False)
    keyed = run_one(opts(), SPLIT, toy)
    assert not keyed.skipped and keyed.result["run_key"] != first.result["run_key"]
    assert run_one(opts(), SPLIT, toy).skipped
    pack["contexts"] = ["in a gym, the right arm uses a ball to throw on a wall."]
    again = run_one(opts(), SPLIT, toy)
    assert not again.skipped and again.run_dir == first.run_dir
    assert again.result["text_encoder"]["method_text_sha256"] != keyed.result["text_encoder"]["method_text_sha256"]


def test_calibration_never_sees_test_data_or_unseen_classes(toy):
    run_one(opts(), SPLIT, toy)
    test_ids = set(toy.sample_ids[toy.meta["subject"].to_numpy() == 4])
    unseen_ids = set(toy.sample_ids[np.isin(toy.labels, SPLIT.unseen)])
    calls = toydata.ToyMethod.calls
    # the first fit + predict pair is the calibration world
    (kind1, fit_ids, fit_classes), (kind2, eval_ids, eval_classes) = calls[0], calls[1]
    assert kind1 == "fit" and kind2 == "predict"
    assert set(fit_classes) == set(SPLIT.seen) - set(SPLIT.validation_unseen)
    assert set(eval_classes) == set(SPLIT.seen)
    for ids in (fit_ids, eval_ids):
        assert not set(ids) & test_ids, "calibration used test-partition samples"
        assert not set(ids) & unseen_ids, "calibration used samples of real unseen classes"
    assert not set(fit_ids) & set(eval_ids), "calibration scored its own training samples"


def test_interrupted_run_leaves_no_result_and_resumes(toy):
    from zssar import paths
    crashing = opts(method_overrides={"fail_in_fit": "true"})
    # the calibration world's fit + predict succeed, then the main-world fit crashes
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_one(crashing, SPLIT, toy)
    saved = list(paths.results_dir().glob("runs/**/calibration.json"))
    assert len(saved) == 1, "the finished calibration stage was not saved"
    run_dir = saved[0].parent
    assert not (run_dir / "result.json").exists()
    assert not list(run_dir.glob(".*.tmp")), "a half-written file was left behind"
    # rerunning the same run resumes past calibration: only the main world trains again
    toydata.ToyMethod.calls.clear()
    out = run_one(crashing, SPLIT, toy)
    assert out.run_dir == run_dir and out.result["status"] == "complete"
    fits = [c for c in toydata.ToyMethod.calls if c[0] == "fit"]
    assert len(fits) == 1 and set(fits[0][2]) == set(SPLIT.seen)


def test_limit_runs_are_marked_limited(toy):
    out = run_one(opts(limit=5), SPLIT, toy)
    assert out.result["status"] == "limited"
    assert out.result["dataset"]["n_train"] <= 5


def test_split_for_another_dataset_is_refused(toy):
    other = Split(name="x", dataset="ntu60", version=1, num_classes=10, unseen=(1,))
    with pytest.raises(ValueError, match="is for dataset 'ntu60'"):
        run_one(opts(), other, toy)


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    from zssar.io import atomic_path, write_json
    target = tmp_path / "r.json"
    write_json(target, {"a": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text('{"a": 2, "trunc')
            raise RuntimeError("killed mid-write")
    assert json.loads(target.read_text()) == {"a": 1}
    assert list(tmp_path.iterdir()) == [target]
