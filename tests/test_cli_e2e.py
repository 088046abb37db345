"""End to end through the CLI on the embedded synthetic default: the README's path."""
import json
import time

import pytest

from zssar import paths
from zssar.cli import main


@pytest.fixture
def fast_backbone():
    # the CLI's own defaults are exercised by `make bench`; here the backbone is shortened
    return ["--backbone-set", "epochs=2"]


def test_bench_linear_writes_result_and_skips_rerun(capsys, fast_backbone):
    args = ["bench", "--method", "linear", "--seeds", "0", "--device", "cpu", *fast_backbone]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "SYNTHETIC" in out and "zsl_top1" in out
    results = list(paths.results_dir().glob("runs/synthetic-*/*/linear/*/seed0/result.json"))
    assert len(results) == 1
    r = json.loads(results[0].read_text())
    assert r["status"] == "complete" and r["dataset"]["synthetic"] is True
    assert r["backbone"]["trained_on_seen"] == r["split"]["seen"]
    assert 0 <= r["metrics"]["zsl_top1"] <= 100 and r["metrics"]["gzsl_h"] is not None
    mtime = results[0].stat().st_mtime
    t0 = time.perf_counter()
    assert main(args) == 0
    assert time.perf_counter() - t0 < 10, "a finished run must be skipped quickly"
    assert results[0].stat().st_mtime == mtime
    assert "1 skipped" in capsys.readouterr().out


def test_bench_unknown_method_is_a_clear_error(capsys):
    assert main(["bench", "--method", "neurom"]) == 2
    err = capsys.readouterr().err
    assert "Did you mean 'neuron'" in err


def test_bench_unknown_override_is_refused(capsys):
    assert main(["bench", "--method", "linear", "--set", "linear.epoch=3", "--limit", "20"]) == 2
    assert "Did you mean 'epochs'" in capsys.readouterr().err


def test_bench_tune_grid_chooses_per_split_and_skips_rerun(capsys, fast_backbone):
    from zssar.bench import resolve_splits
    from zssar.runner import RunOptions
    from zssar.tune import tune
    grid = ["--tune-grid", "linear.temperature=0.1,0.05"]
    args = ["bench", "--method", "linear", "--seeds", "0", "--device", "cpu", "--limit", "60", *fast_backbone, *grid]
    assert main(args) == 0
    assert "tuned per split on val_zsl" in capsys.readouterr().out
    results = list(paths.results_dir().glob("runs/synthetic-*/*/linear/*/seed0/result.json"))
    assert len(results) == 1 and "-tuned-" in results[0].parent.parent.name
    r = json.loads(results[0].read_text())
    block = r["tuning"]
    assert [p["overrides"] for p in block["points"]] == [{"linear.temperature": v} for v in ("0.1", "0.05")]
    assert r["method"]["config"]["temperature"] == float(block["chosen"]["linear.temperature"])
    # the choice is `zssar tune`'s on this split and seed (whose worlds are on disk: nothing retrains)
    base = RunOptions(method="linear", dataset="synthetic", device="cpu", limit=60, backbone_overrides={"epochs": "2"})
    record = tune(base, resolve_splits("synthetic", None), [0], {"linear.temperature": ["0.1", "0.05"]},
                  margin_se=0.0)  # one world has no SE: the per-split protocol is highest mean
    assert record["chosen"] == block["chosen"]
    t0 = time.perf_counter()
    assert main(args) == 0
    assert time.perf_counter() - t0 < 15, "a finished tuned run must be skipped quickly"
    assert "1 skipped" in capsys.readouterr().out
