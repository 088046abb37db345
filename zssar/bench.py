"""Run a method over splits × seeds and summarise: the engine behind `zssar bench`."""
from __future__ import annotations

import logging
import math
from typing import Sequence

import numpy as np
import pandas as pd
from tabulate import tabulate

from zssar.runner import RunOptions, RunOutcome, run_one
from zssar.splits import Split, available, resolve

log = logging.getLogger("zssar.bench")

# The split a dataset is benchmarked on when none is named (a family means its first member).
DEFAULT_SPLITS = {
    "synthetic": "synthetic_default",
    "ntu60": "ntu60_55_5",
    "ntu120": "ntu120_110_10",
    "pku_mmd1": "pku_mmd1_46_5",
    "msr_action3d": "msr_action3d_random15_5",
    "nw_ucla": "nw_ucla_7_3",
}

SUMMARY_METRICS = ("zsl_top1", "zsl_mean_class_acc", "gzsl_seen", "gzsl_unseen", "gzsl_h", "gzsl_ausuc", "oracle.gzsl_h")


def resolve_splits(dataset: str, split_arg: str | None) -> list[Split]:
    """`None` -> the dataset's default split; `all` -> every shipped split of the dataset;
    otherwise a split name, family name (all members), FAMILY/MEMBER or a YAML path."""
    if split_arg in (None, ""):
        if dataset not in DEFAULT_SPLITS:
            raise ValueError(f"dataset {dataset!r} has no default split; pass --split NAME|PATH")
        return resolve(DEFAULT_SPLITS[dataset])[:1]
    if split_arg == "all":
        out = []
        for name in available():
            splits = resolve(name)
            if splits and splits[0].dataset == dataset:
                out.extend(splits)
        if not out:
            raise ValueError(f"no shipped splits for dataset {dataset!r}")
        return out
    return resolve(split_arg)


def select_splits(dataset: str, split_arg: str | None, max_splits: int | None) -> list[Split]:
    """`resolve_splits`, then only the first `max_splits` members (`--max-splits`)."""
    splits = resolve_splits(dataset, split_arg)
    if max_splits is not None:
        if max_splits < 1:
            raise ValueError(f"--max-splits must be >= 1, got {max_splits}")
        splits = splits[:max_splits]
    return splits


def parse_seeds(text: str | Sequence[int]) -> list[int]:
    if not isinstance(text, str):
        return [int(s) for s in text]
    try:
        return [int(s) for s in text.replace(" ", "").split(",") if s]
    except ValueError:
        raise ValueError(f"--seeds must be comma-separated integers like 0,1,2, got {text!r}") from None


def run_bench(base: RunOptions, splits: list[Split], seeds: list[int], tune_grid: dict[str, list[str]] | None = None,
              tune_metric: str | None = None) -> list[RunOutcome]:
    """Every (split, seed) run. With `tune_grid`, each run's config is first chosen on that split's
    validation classes with that seed (zssar.tune.run_tuned: the strict per-split protocol)."""
    from zssar.data.registry import load_dataset
    from zssar.tune import check_tuning, run_tuned
    tuned = tune_grid is not None or tune_metric is not None
    if tuned:  # bad tuning input fails here, before any data is loaded or trained
        tune_metric = tune_metric or "val_zsl"
        check_tuning(base.method, base.dataset, base.method_overrides, tune_grid or {}, tune_metric, splits)
    ds = load_dataset(base.dataset)
    outcomes = []
    total = len(splits) * len(seeds)
    for i, split in enumerate(splits):
        for j, seed in enumerate(seeds):
            opts = RunOptions(**{**base.__dict__, "seed": seed})
            log.info("[%d/%d] %s on %s / %s, seed %d%s", i * len(seeds) + j + 1, total, base.method,
                     base.dataset, split.name, seed, " (tuned on this split's validation classes)" if tuned else "")
            outcomes.append(run_tuned(opts, split, tune_grid, tune_metric, ds) if tuned else run_one(opts, split, ds))
    return outcomes


def _get(metrics: dict, key: str):
    cur = metrics
    for part in key.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def summary_frame(outcomes: list[RunOutcome]) -> pd.DataFrame:
    rows = []
    for o in outcomes:
        r = o.result
        row = {"split": r["split"]["name"], "family": r["split"]["family"], "seed": r["seed"],
               "status": r["status"], "skipped": o.skipped, "time_s": r["timing"].get("total_s")}
        for k in SUMMARY_METRICS:
            row[k] = _get(r["metrics"], k)
        for tier, v in (r["metrics"].get("tiers") or {}).items():
            row[f"tier:{tier}"] = v
        rows.append(row)
    return pd.DataFrame(rows)


def mean_spread(values: pd.Series, standard_error: bool = False) -> str:
    """'mean ± std' (over seeds) or 'mean ± se (se)' (over the splits of a family)."""
    v = values.dropna().astype(float)
    if v.empty:
        return "—"
    if len(v) == 1:
        return f"{v.iloc[0]:.1f}"
    spread = v.std(ddof=1) / (math.sqrt(len(v)) if standard_error else 1.0)
    return f"{v.mean():.1f} ± {spread:.1f}" + (" (se)" if standard_error else "")


def add_family_arguments(parser) -> None:
    """The options every diagnostic over a split family takes (benchmarks/*.py): --dataset,
    --split, --max-splits, --seeds, --md."""
    parser.add_argument("--dataset", default="synthetic")
    parser.add_argument("--split", default=None, help="split or family (default: the dataset's default)")
    parser.add_argument("--max-splits", type=int, default=None, metavar="N")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--md", default=None, help="also write the table here (markdown)")


def show_table(title: str, table: pd.DataFrame, md: str | None = None) -> None:
    """Print a diagnostic table (GitHub markdown) under its title; with `md`, also write it there
    atomically as a `## title` section."""
    from tabulate import tabulate

    from zssar.io import write_text
    print(title)
    print(tabulate(table, headers="keys", tablefmt="github", showindex=False))
    if md:
        write_text(md, f"## {title}\n\n{table.to_markdown(index=False)}\n")


def format_summary(outcomes: list[RunOutcome], title: str) -> str:
    df = summary_frame(outcomes)
    metric_cols = [c for c in df.columns if c in SUMMARY_METRICS or c.startswith("tier:")]
    lines = [title]
    per_split = []
    for split, g in df.groupby("split", sort=False):
        row = {"split": split, "n seeds": len(g)}
        row.update({c: mean_spread(g[c]) for c in metric_cols})
        row["time/run (s)"] = f"{g['time_s'].astype(float).mean():.1f}"
        per_split.append(row)
    lines.append(tabulate(per_split, headers="keys", tablefmt="github"))
    families = df["family"].dropna().unique()
    for fam in families:
        g = df[df["family"] == fam]
        if g["split"].nunique() < 2:
            continue
        # a family aggregates over splits: average seeds within a split first
        by_split = g.groupby("split")[metric_cols].mean(numeric_only=True)
        agg = {"family": fam, "n splits": len(by_split), "n runs": len(g)}
        agg.update({c: mean_spread(by_split[c], standard_error=True) for c in metric_cols if c in by_split})
        lines.append("")
        lines.append(tabulate([agg], headers="keys", tablefmt="github"))
    tunings = [o.result["tuning"] for o in outcomes if o.result.get("tuning")]
    if tunings:  # how often each point won (the per-run choices are in each result.json)
        wins = pd.Series([", ".join(f"{k}={v}" for k, v in t["chosen"].items()) for t in tunings]).value_counts()
        lines.append(f"\ntuned per split on {tunings[0]['metric']} (each split's validation classes, each seed): "
                     + "; ".join(f"{point} x{n}" for point, n in wins.items()))
    statuses = df["status"].value_counts().to_dict()
    lines.append(f"\nruns: {len(df)} ({', '.join(f'{v} {k}' for k, v in statuses.items())}; "
                 f"{int(df['skipped'].sum())} skipped as already finished). "
                 f"γ for GZSL chosen on validation classes; 'oracle' = tuned on test (paper protocol).")
    if (df["status"] == "limited").any():
        lines.append("NOTE: --limit runs are non-reportable and never enter tables.")
    return "\n".join(lines)
