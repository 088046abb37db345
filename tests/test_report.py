"""The reporter on FAKE result.json fixtures (tests/fake_results.py) written into tmp dirs."""
from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import pandas as pd
import pytest

from fake_results import NTU60_55_5, build_fake_results, fake_tuning, m, write_run
from zssar.cli import main
from zssar.report import reported, store, tables

GOLDEN = Path(__file__).parent / "golden" / "report"
GOLDEN_FILES = ["neuron_zsl_gzsl.md", "neuron_zsl_gzsl.csv", "neuron_gzsl_oracle.md", "skeletoncontext_zsl.md",
                "random_splits.md", "random_splits.csv", "dataset_synthetic.md", "ablation.md"]


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory) -> Path:
    root = build_fake_results(tmp_path_factory.mktemp("fake_results"))
    out = root / "tables"
    assert main(["report", "--results", str(root), "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("name", GOLDEN_FILES)
def test_report_matches_golden(report_dir, name):
    got = (report_dir / name).read_text()
    if os.environ.get("ZSSAR_UPDATE_GOLDEN"):  # regenerate after an intended change, then review the diff
        (GOLDEN / name).parent.mkdir(parents=True, exist_ok=True)
        (GOLDEN / name).write_text(got)
    assert got == (GOLDEN / name).read_text()


def test_report_writes_all_formats_and_figures(report_dir):
    for stem in ("neuron_zsl_gzsl", "neuron_gzsl_oracle", "skeletoncontext_zsl", "skeletoncontext_gzsl_h",
                 "skeletoncontext_gzsl_h_oracle", "random_splits", "dataset_ntu60", "dataset_synthetic", "ablation"):
        for ext in ("md", "tex", "csv"):
            assert (report_dir / f"{stem}.{ext}").is_file(), f"{stem}.{ext}"
    assert (report_dir / "per_class_ntu60-xsub_ntu60_55_5.png").stat().st_size > 1000
    assert (report_dir / "calibration_ntu60-xsub_ntu60_55_5.png").stat().st_size > 1000
    family_pngs = sorted(p.name for p in report_dir.glob("family_*.png"))
    assert family_pngs and all((report_dir / p).stat().st_size > 1000 for p in family_pngs)
    tex = (report_dir / "neuron_zsl_gzsl.tex").read_text()
    assert r"$\pm$" in tex and r"\begin{tabular}" in tex


def test_limited_and_partial_runs_never_enter_tables(report_dir):
    tidy = pd.read_csv(report_dir / "dataset_ntu60.csv")
    assert not (tidy["mean"] >= 99).any()  # the FAKE limited/partial runs score 99 everywhere
    linear = tidy[(tidy["row"] == "linear") & (tidy["setting"] == "ntu60_55_5")]
    assert (linear["n_runs"] == 2).all()  # seeds 0 and 1; the limited seed 7 and partial seed 8 are out


def test_time_per_run_table_from_the_recorded_timings(report_dir):
    text = (report_dir / "timing.md").read_text()
    rows = {line.split("|")[2].strip(): [c.strip() for c in line.split("|")[1:-1]]
            for line in text.splitlines() if line.startswith("| NTU-60")}
    # FAKE neuron 55/5 runs: totals 10 / 20 / 60 s; seed 2 has no calibration stage
    assert rows["neuron"] == ["NTU-60", "neuron", "cpu × 1 thread(s)", "3", "20.0 [15.0, 40.0]", "5.0 (n=2)",
                              "2.0", "10.0", "2.0"]
    assert "linear" not in rows  # runs that recorded no timing give no row
    tidy = pd.read_csv(report_dir / "timing.csv")
    total = tidy[(tidy["row"] == "neuron") & (tidy["stage"] == "total_s") & (tidy["dataset"] == "ntu60")].iloc[0]
    assert (total["median_s"], total["q25_s"], total["q75_s"], total["n_runs"]) == (20.0, 15.0, 40.0, 3)


def test_timings_pair_like_metrics(tmp_path, capsys):
    for seed, (a, b) in enumerate([(30.0, 10.0), (50.0, 20.0)]):
        write_run(tmp_path, method="neuron", seed=seed, metrics=m(50, 50, 50, 50), timing={"total_s": a})
        write_run(tmp_path, method="linear", seed=seed, metrics=m(40, 40, 40, 40), timing={"total_s": b})
    df = store.load_results(tmp_path)
    assert sorted(df["timing.total_s"]) == [10.0, 20.0, 30.0, 50.0] and set(df["env.device"]) == {"cpu"}
    assert main(["compare", "neuron", "linear", "--results", str(tmp_path), "--metric", "timing.total_s",
                 "--unit", "run"]) == 0
    assert "+25.00" in capsys.readouterr().out  # (20 + 30) / 2


def test_hand_checked_cells(report_dir):
    tidy = pd.read_csv(report_dir / "neuron_zsl_gzsl.csv")
    cell = tidy[(tidy["row"] == "neuron") & (tidy["metric"] == "zsl_top1")].iloc[0]
    # seeds 80, 82, 84 -> mean 82, sample std 2; Neuron CVPR2025 Table 2 prints 86.9
    assert (cell["mean"], cell["spread"], cell["n"]) == (82.0, 2.0, 3)
    assert cell["paper"] == 86.9 and cell["delta"] == pytest.approx(82.0 - 86.9)
    assert cell["paper_source"] == "Neuron CVPR2025 Table 2"
    linear = tidy[(tidy["row"] == "linear") & (tidy["metric"] == "zsl_top1") & (tidy["split_label"] == "55/5")].iloc[0]
    assert (linear["n"], linear["n_expected"]) == (2, 3)  # 3 seeds on 48/12, only 2 here
    md = (report_dir / "neuron_zsl_gzsl.md").read_text()
    assert "42.0 ± 2.8 (n=2/3)" in md
    assert "star (reconstructed) †" in md


def test_family_aggregation_is_mean_and_standard_error_over_splits():
    # split a: seeds 60, 62 -> 61; b: 70; c: 65 -> mean 65.333, SE = sd(61, 70, 65) / sqrt(3)
    runs = pd.DataFrame({"split": ["a", "a", "b", "c"], "seed": [0, 1, 0, 0], "zsl_top1": [60.0, 62.0, 70.0, 65.0]})
    c = tables.cell_stats(runs, "zsl_top1", is_family=True)
    sd = math.sqrt(((61 - 196 / 3) ** 2 + (70 - 196 / 3) ** 2 + (65 - 196 / 3) ** 2) / 2)
    assert c["mean"] == pytest.approx(196 / 3)
    assert c["spread"] == pytest.approx(sd / math.sqrt(3))
    assert (c["spread_kind"], c["n"], c["n_runs"]) == ("se", 3, 4)
    assert tables.fmt_cell({**c, "n_expected": 4}) == "65.3 ± 2.6 (n=3/4 splits)"


def test_mixing_data_versions_is_refused_naming_the_runs(tmp_path):
    write_run(tmp_path, method="linear", seed=0, metrics=m(40, 80, 10, 17.8), data_sha="aaaa")
    write_run(tmp_path, method="linear", seed=1, metrics=m(41, 80, 10, 17.8), data_sha="bbbb", data_version="2")
    with pytest.raises(ValueError, match="2 data versions.*seed0.*seed1"):
        tables.make_report(tmp_path, tmp_path / "out", figures=False)
    assert main(["report", "--results", str(tmp_path), "--out", str(tmp_path / "out")]) == 2


def test_mixing_split_versions_is_refused(tmp_path):
    write_run(tmp_path, method="linear", seed=0, metrics=m(40, 80, 10, 17.8), split_version=1)
    write_run(tmp_path, method="linear", seed=1, metrics=m(41, 80, 10, 17.8), split_version=2)
    with pytest.raises(ValueError, match="split 'ntu60_55_5'.*2 split versions"):
        tables.make_report(tmp_path, tmp_path / "out", figures=False)


def test_dirty_tree_runs_are_warned_about(tmp_path, caplog):
    write_run(tmp_path, method="linear", seed=0, metrics=m(40, 80, 10, 17.8), dirty=True)
    with caplog.at_level(logging.WARNING, logger="zssar.report.store"):
        tables.make_report(tmp_path, tmp_path / "out", formats=("md",), figures=False)
    assert "dirty git tree" in caplog.text and "seed0" in caplog.text
    assert "WARNING: 1 run(s) in this table come from a dirty git tree" in (tmp_path / "out" / "dataset_ntu60.md").read_text()


def test_store_flattens_metrics_and_rejects_bad_files(tmp_path):
    write_run(tmp_path, method="linear", seed=3, metrics=m(40, 80, 10, 17.8, extra={"head_top1": 12.5}))
    df = store.load_results(tmp_path)
    row = df.iloc[0]
    assert row["zsl_top1"] == 40 and row["oracle.gzsl_h"] == 18.8 and row["extra.head_top1"] == 12.5
    assert (row["dataset"], row["protocol"], row["split"], row["seed"]) == ("ntu60", "xsub", "ntu60_55_5", 3)
    bad = tmp_path / "runs" / "x" / "result.json"
    bad.parent.mkdir(parents=True)
    bad.write_text('{"schema_version": 1, "status": "complete", "seed": 0, "metrics": {}}')
    with pytest.raises(ValueError, match=r"x/result.json: field 'method' missing"):
        store.load_results(tmp_path)
    bad.unlink()
    write_run(tmp_path, method="linear", seed=4, metrics=m(40, 80, 10, 17.8), timing=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"seed4/result.json: field 'timing' is list, expected an object"):
        store.load_results(tmp_path)


def test_no_runs_is_a_clear_error(tmp_path, capsys):
    assert main(["report", "--results", str(tmp_path)]) == 2
    assert "no complete runs" in capsys.readouterr().err


def test_split_names_and_benchmarks_map_to_paper_settings():
    assert reported.split_label("ntu60", "ntu60_55_5") == "55/5"
    assert reported.split_label("ntu120", "whatever", unseen=list(range(24)), num_seen=96) == "96/24"
    assert reported.benchmark_of("ntu60", "xsub", "55/5", NTU60_55_5) == "star_official"
    assert reported.benchmark_of("ntu60", "cross_subject", "55/5", NTU60_55_5) == "star_official"
    assert reported.benchmark_of("ntu60", "xsub", "55/5", [1, 2, 3, 4, 5]) == ""  # not the SynSE list
    assert reported.benchmark_of("ntu60", "xset", "55/5", NTU60_55_5) == ""        # no such NTU-60 protocol
    assert reported.benchmark_of("ntu60", "xsub", "55/5", [1, 2, 3, 4, 5], family="smie") == "random3_avg"
    assert reported.benchmark_of("msr_action3d", "xsub", "15/5") == ""


def test_reported_file_has_a_citation_for_every_number():
    df = reported.load()
    assert len(df) > 600  # 284 entries of the reference compilation, one row per printed number
    assert (df["citation"] != "").all() and (df["table"] != "").all()
    assert df["verification"].isin(["primary", "secondary", "aggregator"]).all()
    # the same number printed by two papers: the layout's paper wins, then the method's own paper
    kw = dict(method="star", dataset="ntu60", protocol="xsub", split="55/5", benchmark="star_official",
              metric="zsl_top1")
    assert reported.lookup(df, **kw, prefer=("skeletoncontext",)).reported_by == "skeletoncontext"
    assert reported.lookup(df, **kw).verification == "primary"
    # benchmark settings never mix: STAR's own number is not a SynSE-benchmark number
    assert reported.lookup(df, **{**kw, "benchmark": "synse", "protocol": ""}).reported_by in ("fs_vae", "tdsm")
    assert reported.lookup(df, **{**kw, "benchmark": "purls"}) is None


@pytest.mark.shared
def test_reported_file_is_the_shared_compilation(tmp_path):
    out = tmp_path / "reported.csv"
    built = reported.build(out=out)
    assert out.read_text() == reported.default_path().read_text()
    assert len(built) == sum(1 for _ in reported.load(out).itertuples())


def test_ablation_delta_is_paired_on_shared_runs(tmp_path):
    # base on 3 family splits (ZSL 60, 70, 80), variant only on the first (ZSL 59): the paired Δ
    # is 59 − 60 = −1; a difference of means over different splits would say 59 − 70 = −11
    import numpy as np
    rng = np.random.default_rng(1)
    for i, z in enumerate((60.0, 70.0, 80.0)):
        unseen = sorted(rng.choice(60, 5, replace=False).tolist())
        write_run(tmp_path, split=f"fam_{i}", family="fam", unseen=unseen, method="neuron",
                  config={"spatial_compression": True}, metrics=m(z, 50, 40, 44.4))
        if i == 0:
            write_run(tmp_path, split=f"fam_{i}", family="fam", unseen=unseen, method="neuron",
                      config={"spatial_compression": False}, metrics=m(59.0, 50, 40, 44.4))
    df = store.for_tables(store.load_results(tmp_path))
    table = tables.ablation_table(tables.prepare(df))[0].display
    row = table[table["Variant"].str.contains("spatial_compression=false")].iloc[0]
    assert row["Δ ZSL"] == "-1.0"


TUNED_LABEL = "neuron[tuned per split: logit_scale,spatial_compression]"


def _add_tuned_runs(root: Path) -> None:
    """FAKE tuned neuron runs: every split / seed chose another point of the same grid."""
    grid = {"neuron.spatial_compression": ["true", "false"], "neuron.logit_scale": ["10", "20"]}
    df = store.load_results(root)
    for i in range(3):  # the family: choices differ from split to split
        unseen = list(df.loc[df["split"] == f"fake_random_{i}", "unseen"].iloc[0])
        scale = (10, 20, 10)[i]
        chosen = {"neuron.spatial_compression": "true" if i else "false", "neuron.logit_scale": str(scale)}
        write_run(root, split=f"fake_random_{i}", family="fake_random", unseen=unseen, method="neuron",
                  config={"spatial_compression": i > 0, "epochs": 5, "logit_scale": scale},
                  metrics=m(62.0 + i, 50, 40, 44.4), tuning=fake_tuning(grid, chosen))
    for seed in range(2):  # synthetic: a boolean key tuned, so the ablation table must leave it out
        write_run(root, dataset="synthetic", protocol="default", split="synthetic_tiers", unseen=[0, 1, 2, 3],
                  num_classes=12, method="neuron", config={"spatial_compression": seed == 0, "epochs": 5},
                  seed=seed, synthetic=True, tiers={"0": "easy", "1": "easy", "2": "hard", "3": "hard"},
                  metrics=m(72.0 + seed, 90, 40, 55.4, tiers={"easy": 80.0, "hard": 60.0}),
                  tuning=fake_tuning(grid, {"neuron.spatial_compression": "true" if seed == 0 else "false",
                                            "neuron.logit_scale": "10"}))


def _cells(md: str) -> set[tuple[str, ...]]:
    """Table rows as stripped cells: column widths move when a longer row label is added."""
    rows = {tuple(c.strip() for c in line.strip("|").split("|")) for line in md.splitlines() if line.startswith("|")}
    return {r for r in rows if not all(set(c) <= set("-:") for c in r)}  # not the |---|---| rule


def test_tuned_runs_are_one_row_and_untuned_rows_do_not_change(tmp_path):
    root = build_fake_results(tmp_path / "fake")
    before = tables.prepare(store.for_tables(store.load_results(root))).set_index("run_dir")["row"]
    _add_tuned_runs(root)
    df = store.for_tables(store.load_results(root))
    runs = tables.prepare(df).set_index("run_dir")
    assert runs.loc[before.index, "row"].equals(before)  # untuned labels unchanged
    tuned = runs[runs["tuning"] != ""]
    assert len(tuned) == 5 and set(tuned["row"]) == {TUNED_LABEL}
    assert tuned.loc[tuned["dataset"] == "ntu60", "config"].nunique() == 3  # three splits, three choices
    assert set(tuned["config_hash"]) == {"abcdef012345-tuned-0000fa4e"}
    out = tmp_path / "tables"
    tables.make_report(root, out, figures=False)
    for name in GOLDEN_FILES:  # every untuned row of the golden tables is still there, unchanged
        got, golden = (out / name).read_text(), (GOLDEN / name).read_text()
        if name.endswith(".csv"):
            assert set(golden.splitlines()) <= set(got.splitlines()), name
        else:
            assert _cells(golden) <= _cells(got), name
    assert (out / "ablation.md").read_text() == (GOLDEN / "ablation.md").read_text()
    family = pd.read_csv(out / "random_splits.csv")
    cell = family[(family["row"] == TUNED_LABEL) & (family["metric"] == "zsl_top1")].iloc[0]
    assert (cell["mean"], cell["n"]) == (63.0, 3)  # one row over the 3 splits: (62 + 63 + 64) / 3
    synthetic = (out / "dataset_synthetic.md").read_text()
    assert synthetic.count(TUNED_LABEL) == 1 and "72.5 ± 0.7 (n=2)" in synthetic


def test_tuned_systems_with_the_same_keys_stay_apart(tmp_path):
    _add_tuned_runs(build_fake_results(tmp_path))
    grid = {"neuron.logit_scale": ["20", "10"], "neuron.spatial_compression": ["true", "false"]}
    write_run(tmp_path, dataset="synthetic", protocol="default", split="synthetic_tiers", unseen=[0, 1, 2, 3],
              num_classes=12, method="neuron", config={"spatial_compression": True, "epochs": 5}, synthetic=True,
              metrics=m(71.0, 90, 40, 55.4), tuning=fake_tuning(grid, {"neuron.logit_scale": "20"}, spec="0000fa4f"))
    runs = tables.prepare(store.for_tables(store.load_results(tmp_path)))
    rows = set(runs.loc[(runs["dataset"] == "synthetic") & (runs["tuning"] != ""), "row"])
    assert rows == {f"{TUNED_LABEL}@abcdef012345-tuned-0000fa4e", f"{TUNED_LABEL}@abcdef012345-tuned-0000fa4f"}


def test_the_plain_method_label_is_the_current_default_config_even_when_another_is_run_as_often():
    import json

    import pandas as pd

    from methods.base import config_to_dict
    from methods.registry import get_method
    from zssar.report.tables import _system_labels
    default = json.loads(json.dumps(config_to_dict(get_method("linear").default_config("synthetic"))))
    other = {**default, "text_source": "names" if default["text_source"] != "names" else "descriptions"}
    rows = [{"dataset": "synthetic", "method": "linear", "system": name, "config": json.dumps(cfg),
             "config_hash": name, "text_encoder": "minilm", "tuning": "", "reconstructed": False,
             "uses_unseen_text": False}
            for name, cfg in (("aaa", other), ("bbb", default)) for _ in range(3)]  # a tie; "aaa" sorts first
    labels = _system_labels(pd.DataFrame(rows))
    assert set(labels[:3]) == {f"linear[text_source={other['text_source']}]"}
    assert set(labels[3:]) == {"linear"}
