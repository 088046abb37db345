"""`zssar compare` on FAKE result.json fixtures written into tmp dirs."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fake_results import NTU60_48_12, fake_tuning, m, write_run
from zssar.cli import main
from zssar.report import compare as cmp
from zssar.report import store

# FAKE per-seed ZSL top-1 on two splits; A - B = [2, 1, 3, 2, -1, 4]
A_VALUES = {("ntu60_55_5", 0): 50.0, ("ntu60_55_5", 1): 52.0, ("ntu60_55_5", 2): 49.0,
            ("ntu60_48_12", 0): 30.0, ("ntu60_48_12", 1): 28.0, ("ntu60_48_12", 2): 35.0}
DIFFS = np.array([2.0, 1.0, 3.0, 2.0, -1.0, 4.0])


@pytest.fixture
def results(tmp_path):
    for i, ((split, seed), a) in enumerate(A_VALUES.items()):
        unseen = NTU60_48_12 if split == "ntu60_48_12" else [10, 11, 19, 26, 56]
        d = float(DIFFS[i])
        for method, config, z in (("neuron", {"spatial_compression": True}, a),
                                  ("neuron", {"spatial_compression": False}, a - d)):
            write_run(tmp_path, split=split, unseen=unseen, method=method, config=config, seed=seed,
                      metrics=m(z, 70, 50, 58.3))
        write_run(tmp_path, split=split, unseen=unseen, method="linear", seed=seed, metrics=m(a - 20, 70, 5, 9.3))
    # a synthetic run only A has: it cannot be paired and must not count
    write_run(tmp_path, dataset="synthetic", protocol="default", split="s", unseen=[0], num_classes=4,
              method="neuron", config={"spatial_compression": True}, metrics=m(99, 99, 99, 99))
    return tmp_path


def test_ci_matches_scipy_on_a_known_vector(results):
    df = store.for_tables(store.load_results(results))
    table = cmp.compare(df, "neuron[spatial_compression=true]", "neuron[spatial_compression=false]", unit="run")
    row = table.iloc[0]
    lo, hi = stats.t.interval(0.95, len(DIFFS) - 1, loc=DIFFS.mean(), scale=stats.sem(DIFFS))
    assert (row["dataset"], row["pairs"]) == ("ntu60", 6)
    assert row["mean_diff"] == pytest.approx(11 / 6)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi))
    assert row["a_wins"] == pytest.approx(5 / 6)
    # hand check: squared deviations from 11/6 sum to 14.8333, sd = sqrt(14.8333 / 5), t(0.975, 5) = 2.5706
    assert hi - row["mean_diff"] == pytest.approx(2.5706 * np.sqrt(14.833333 / 5) / np.sqrt(6), rel=1e-4)


def test_default_unit_is_the_split_with_seeds_averaged(results):
    df = store.for_tables(store.load_results(results))
    row = cmp.compare(df, "neuron[spatial_compression=true]", "neuron[spatial_compression=false]").iloc[0]
    # DIFFS per split (file order): ntu60_55_5 -> [2, 1, 3], ntu60_48_12 -> [2, -1, 4]
    per_split = np.array([np.mean([2.0, -1.0, 4.0]), np.mean([2.0, 1.0, 3.0])])
    lo, hi = stats.t.interval(0.95, 1, loc=per_split.mean(), scale=stats.sem(per_split))
    assert (row["unit"], row["pairs"], row["runs"]) == ("split", 2, 6)
    assert row["mean_diff"] == pytest.approx(per_split.mean())
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi))
    # two splits only: the split-level interval is far wider than the run-level one
    run = cmp.compare(df, "neuron[spatial_compression=true]", "neuron[spatial_compression=false]", unit="run").iloc[0]
    assert row["ci_high"] - row["ci_low"] > run["ci_high"] - run["ci_low"]


def test_summary_edge_cases():
    one = cmp.summarize(np.array([1.5]), np.array([3.0]), np.array([1.5]))
    assert one["pairs"] == 1 and np.isnan(one["ci_low"])
    constant = cmp.summarize(np.array([2.0, 2.0, 2.0]), np.zeros(3), np.zeros(3))
    assert (constant["ci_low"], constant["ci_high"]) == (2.0, 2.0)
    ties = cmp.summarize(np.array([0.0, 1.0]), np.zeros(2), np.zeros(2))
    assert (ties["a_wins"], ties["ties"]) == (0.5, 1)


def test_side_specs(results):
    df = store.for_tables(store.load_results(results))
    assert cmp.parse_side("neuron[neuron.spatial_compression=false]").config == {"spatial_compression": False}
    by_hash = df[df["config"].str.contains('"spatial_compression": false')]["config_hash"].iloc[0]
    assert set(cmp.select(df, cmp.parse_side(by_hash[:6]))["config_hash"]) == {by_hash}
    folder = next((results / "runs").rglob(by_hash))
    assert set(cmp.select(df, cmp.parse_side(str(folder)))["config_hash"]) == {by_hash}
    with pytest.raises(KeyError, match="no config key 'nope'"):
        cmp.select(df, cmp.parse_side("neuron[nope=1]"))
    with pytest.raises(KeyError, match="methods with runs: linear, neuron"):
        cmp.select(df, cmp.parse_side("skeletoncontext"))
    with pytest.raises(ValueError, match="names 2 configs"):
        cmp.compare(df, "neuron", "linear")


def test_cli_prints_and_writes_csv_and_markdown(results, tmp_path, capsys):
    csv, md = tmp_path / "cmp.csv", tmp_path / "cmp.md"
    code = main(["compare", "neuron[spatial_compression=true]", "linear", "--results", str(results),
                 "--metric", "zsl_top1,gzsl_h", "--csv", str(csv), "--md", str(md)])
    assert code == 0
    out = capsys.readouterr().out
    assert "+20.00" in out and "100% (2/2)" in out and "seeds averaged within a split" in out
    table = pd.read_csv(csv)
    assert list(table["metric"]) == ["zsl_top1", "gzsl_h"]
    assert table.loc[1, "mean_diff"] == pytest.approx(58.3 - 9.3)
    assert "| metric" in md.read_text()
    assert main(["compare", "neuron", "linear", "--results", str(results), "--dataset", "nope"]) == 2


def test_help_texts_render():
    # argparse %-formats help strings: a stray '%' breaks `zssar --help` for every command
    for argv in (["--help"], ["compare", "--help"], ["report", "--help"]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 0


def _tuned(results, spec="0000fa4e", offset=1.0):
    """FAKE tuned neuron runs on every (split, seed): the choice alternates, the row is one system."""
    grid = {"neuron.spatial_compression": ["true", "false"]}
    for i, ((split, seed), a) in enumerate(A_VALUES.items()):
        unseen = NTU60_48_12 if split == "ntu60_48_12" else [10, 11, 19, 26, 56]
        write_run(results, split=split, unseen=unseen, method="neuron", config={"spatial_compression": i % 2 == 0},
                  seed=seed, metrics=m(a + offset, 70, 50, 58.3),
                  tuning=fake_tuning(grid, {"neuron.spatial_compression": str(i % 2 == 0).lower()}, spec=spec))


def test_tuned_runs_are_one_side(results):
    _tuned(results)
    df = store.for_tables(store.load_results(results))
    for spec in ("neuron[tuned]", "neuron[tuned per split: spatial_compression]",
                 "neuron[tuned per split: neuron.spatial_compression]", "abcdef012345-tuned"):
        row = cmp.compare(df, spec, "neuron[spatial_compression=true]", unit="run").iloc[0]
        assert (row["pairs"], row["mean_diff"], row["a_wins"]) == (6, pytest.approx(1.0), 1.0), spec
    # config-value and method sides never pick tuned runs, even where a split chose that value
    same = cmp.compare(df, "neuron[spatial_compression=true]", "neuron[spatial_compression=false]", unit="run")
    assert same.iloc[0]["mean_diff"] == pytest.approx(11 / 6)
    assert set(cmp.select(df, cmp.parse_side("neuron[spatial_compression=true]"))["tuning"]) == {""}
    with pytest.raises(KeyError, match=r"tuned: tuned per split: spatial_compression"):
        cmp.select(df, cmp.parse_side("neuron[tuned per split: epochs]"))
    _tuned(results, spec="0000fa4f", offset=2.0)  # the same keys tuned again with another grid/metric
    df = store.for_tables(store.load_results(results))
    with pytest.raises(ValueError, match="names 2 configs.*abcdef012345-tuned-0000fa4e.*tuned per split"):
        cmp.compare(df, "neuron[tuned]", "linear")
    row = cmp.compare(df, "abcdef012345-tuned-0000fa4f", "abcdef012345-tuned-0000fa4e", unit="run").iloc[0]
    assert row["mean_diff"] == pytest.approx(1.0)


def test_hash_prefix_may_start_with_a_digit(results):
    df = store.for_tables(store.load_results(results))
    digit = df[df["config_hash"].str.match(r"\d")]["config_hash"]
    assert not digit.empty  # the FAKE tree has one; such prefixes used to be unreadable
    assert set(cmp.select(df, cmp.parse_side(digit.iloc[0][:6]))["config_hash"]) == {digit.iloc[0]}
