"""`zssar tune`: selection on validation classes only, resumable, reused by the benchmark run."""
import pytest
import yaml

import toydata
from methods import registry
from zssar.runner import RunOptions, run_one
from zssar.splits import Split
from zssar.tune import choose, format_record, grid_points, parse_grid, tune

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


def _point(name, mean, gain_mean, gain_se):
    return {"overrides": {"k": name}, "mean": mean, "vs_default": {"mean": gain_mean, "se": gain_se}}


def test_margin_rule_keeps_the_default_unless_the_paired_gain_clears_k_standard_errors():
    default, small, large = _point("d", 80.0, 0.0, 0.0), _point("s", 83.0, 3.0, 4.0), _point("l", 90.0, 10.0, 4.0)
    assert choose([default, small], 0, 1.0)[0] == 0      # +3 < 1 SE of 4: noise, default kept
    assert choose([default, small], 0, 0.0)[0] == 1      # plain highest mean adopts it
    assert choose([default, large], 0, 1.0)[0] == 1      # +10 >= 1 SE
    assert choose([default, large], 0, 3.0)[0] == 0      # +10 < 3 SE of 4
    # the default is the reference wherever it sits in the grid
    assert choose([small, default], 1, 1.0)[0] == 1
    # one world has no standard error: the rule cannot adopt a change
    assert choose([default, _point("x", 99.0, 19.0, None)], 0, 1.0)[0] == 0


def test_tune_reference_is_todays_default_and_the_margin_can_keep_it(toy, monkeypatch):
    monkeypatch.setattr("zssar.data.registry.load_dataset", lambda name: toy)
    base = RunOptions(method="toy", dataset="toy", device="cpu")
    # scale multiplies the toy's scores: every point ties. Plain highest mean keeps the earlier
    # grid point (scale=2); the margin rule keeps today's default (scale=1), wherever it sits
    tie = {"toy.scale": ["2", "1"]}
    kept = tune(base, SPLITS, [0], tie, margin_se=1.0)
    assert kept["default"] == {"toy.scale": "1"} and kept["chosen"] == {"toy.scale": "1"}
    assert kept["best_by_mean"] == {"toy.scale": "2"} and all(p["vs_default"]["mean"] == 0 for p in kept["points"])
    assert "paired gain >= 1 SE" in kept["selection"] and "rule:" in format_record(kept)
    plain = tune(base, SPLITS, [0], tie, margin_se=0.0)
    assert plain["chosen"] == {"toy.scale": "2"} and "rule:" not in format_record(plain)
    # a bad default (--set invert=true) is replaced: the toy is noiseless, so +100 with SE 0 clears any margin
    bad = RunOptions(method="toy", dataset="toy", device="cpu", method_overrides={"toy.invert": "true"})
    fixed = tune(bad, SPLITS, [0], {"toy.invert": ["false", "true"]}, margin_se=1e6)
    assert fixed["default"] == {"toy.invert": "true"} and fixed["chosen"] == {"toy.invert": "false"}
    assert fixed["points"][0]["vs_default"] == {"mean": 100.0, "se": 0.0}
    # a grid without today's config: its first point stands in as the default
    assert tune(base, SPLITS[:1], [0], {"toy.scale": ["2", "3"]})["default"] == {"toy.scale": "2"}
    with pytest.raises(ValueError, match="--margin-se must be >= 0"):
        tune(base, SPLITS[:1], [0], tie, margin_se=-1)
