"""`zssar tune`: selection on validation classes only, resumable, reused by the benchmark run."""
import pytest
import yaml

import toydata
from methods import registry
from zssar.runner import RunOptions, run_one
from zssar.splits import Split
from zssar.tune import format_record, grid_points, parse_grid, tune

SPLITS = [Split(name=f"toy_8_2_{i}", dataset="toy", version=1, num_classes=10, unseen=u, validation_unseen=v)
          for i, (u, v) in enumerate((((2, 7), (4, 9)), ((1, 6), (3, 8))))]


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setitem(registry.METHODS, "toy", "toydata:ToyMethod")
    toydata.ToyMethod.calls.clear()
    return toydata.toy_dataset()


def test_grid_parsing_and_product():
    grid = parse_grid(["toy.scale=1,2", "lr_milestones=[10,16];[20,30]"])
    assert grid == {"toy.scale": ["1", "2"], "lr_milestones": ["[10,16]", "[20,30]"]}
    assert len(grid_points(grid)) == 4 and grid_points({}) == [{}]
    with pytest.raises(ValueError, match="key=v1,v2"):
        parse_grid(["scale"])


def test_tune_selects_on_validation_classes_and_never_sees_test(toy, monkeypatch):
    base = RunOptions(method="toy", dataset="toy", device="cpu")
    monkeypatch.setattr("zssar.data.registry.load_dataset", lambda name: toy)
    # the inverted point comes first: the choice must follow the metric, not the order
    record = tune(base, SPLITS, [0], {"toy.invert": ["true", "false"]})
    means = {p["overrides"]["toy.invert"]: p["mean"] for p in record["points"]}
    assert means["false"] > means["true"]
    assert record["chosen"] == {"toy.invert": "false"}
    assert all(len(p["runs"]) == 2 for p in record["points"])
    text = format_record(record)
    assert "toy.invert=false" in text and "*" in text
    assert yaml.safe_load(yaml.safe_dump(record))["chosen"] == record["chosen"]


def test_tuning_never_shows_test_subjects_or_unseen_classes(toy, monkeypatch):
    monkeypatch.setattr("zssar.data.registry.load_dataset", lambda name: toy)
    split = SPLITS[0]
    tune(RunOptions(method="toy", dataset="toy", device="cpu"), [split], [0, 1], {"toy.scale": ["1", "2"]})
    assert len(toydata.ToyMethod.calls) == 2 * 2 * 3  # points x seeds x (fit, predict GZSL, predict ZSL)
    toydata.assert_blind_to_test(toydata.ToyMethod.calls, toy, split)


def test_bench_of_the_chosen_point_reuses_the_tuning_world(toy, monkeypatch):
    monkeypatch.setattr("zssar.data.registry.load_dataset", lambda name: toy)
    base = RunOptions(method="toy", dataset="toy", device="cpu")
    record = tune(base, SPLITS[:1], [0], {"toy.scale": ["2"]})
    fits = sum(1 for c in toydata.ToyMethod.calls if c[0] == "fit")
    out = run_one(RunOptions(method="toy", dataset="toy", device="cpu", method_overrides=record["chosen"]),
                  SPLITS[0], toy)
    # only the main world trains: the calibration world comes from the tuning record on disk
    assert sum(1 for c in toydata.ToyMethod.calls if c[0] == "fit") == fits + 1
    assert out.result["calibration"]["val_zsl"] == pytest.approx(record["points"][0]["runs"][0]["val_zsl"], abs=1e-3)


def test_bad_metric_and_unknown_config_key_are_clear_errors(toy, monkeypatch):
    monkeypatch.setattr("zssar.data.registry.load_dataset", lambda name: toy)
    base = RunOptions(method="toy", dataset="toy", device="cpu")
    with pytest.raises(ValueError, match="--metric must be one of"):
        tune(base, SPLITS[:1], [0], {}, metric="test_zsl")
    with pytest.raises(KeyError, match="scal"):  # did-you-mean names the real key
        tune(base, SPLITS[:1], [0], {"toy.scal": ["2"]})
