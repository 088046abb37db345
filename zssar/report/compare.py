"""Paired comparison of two systems over the (split, seed) pairs both have run.

On small data the seed-to-seed and split-to-split spread is large, so unpaired error bars
overlap even when one system is better on every single pair. Pairing removes the shared
variation: per pair d = A - B, reported as mean d, a 95% t-interval for it, and the
fraction of pairs A wins.

The unit of the interval is the split by default: the seeds of one split share its classes,
so they are not independent draws of what a benchmark generalises over; d is averaged over
a split's common seeds first and the t-interval has (splits - 1) degrees of freedom.
``unit="run"`` treats every (split, seed) pair as independent (narrower, optimistic).

A side is named as
- a method: ``linear`` (must have one config per pair, else name the config);
- a method with config values: ``neuron[spatial_compression=false]`` (``,`` between keys;
  values are YAML: true/false, numbers, strings; keys may carry the ``neuron.`` prefix);
- the tuned runs of a method (``zssar bench --tune-grid``: each split chose its own config):
  ``neuron[tuned]``, or the report's label ``neuron[tuned per split: logit_scale,lr_milestones]``
  to name the tuned keys; method and config-value sides never select tuned runs;
- a config-hash prefix: ``3fa9c2`` (at least 4 hex digits; a tuned system's is its folder name
  ``<base hash>-tuned-<spec hash>``);
- a result folder: any folder holding result.json files (e.g. one run's config-hash folder).
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from zssar.report import store

PAIR_KEY = ["dataset", "protocol", "split", "seed"]
CONFIDENCE = 0.95


@dataclass
class Side:
    spec: str
    method: str | None = None
    config: dict = field(default_factory=dict)
    hash_prefix: str | None = None
    folder: Path | None = None
    tuned: str | None = None  # None: untuned runs; "": any tuned runs; else a tuning label (store.tuning_label)


def parse_side(spec: str) -> Side:
    path = Path(spec)
    if path.exists():
        return Side(spec, folder=path)
    # a leading digit is allowed: config-hash prefixes (`3fa9c2`) go through here too
    m = re.fullmatch(r"\s*(\w[\w\-]*)\s*(?:\[(.*)\])?\s*", spec)
    if m is None:
        raise ValueError(f"cannot read {spec!r}: expected METHOD, METHOD[key=value,...], a config-hash "
                         f"prefix or an existing result folder")
    method, body = m.group(1), m.group(2)
    tuned = re.fullmatch(r"\s*tuned(?:\s+per\s+split)?\s*(?::(.*))?", body or "")
    if tuned:  # neuron[tuned] or neuron[tuned per split: k1,k2] (keys in any order, prefixed or not)
        keys = [k.strip() for k in (tuned.group(1) or "").split(",") if k.strip()]
        return Side(spec, method=method, tuned=store.tuning_label(method, keys) if keys else "")
    config = {}
    for item in filter(None, (s.strip() for s in (body or "").split(","))):
        if "=" not in item:
            raise ValueError(f"{spec!r}: {item!r} is not key=value")
        key, value = (s.strip() for s in item.split("=", 1))
        key = key.split(".", 1)[1] if key.startswith(method + ".") else key
        config[key] = yaml.safe_load(value)
    return Side(spec, method=method, config=config)


def select(df: pd.DataFrame, side: Side) -> pd.DataFrame:
    """The complete runs a side names (folder sides read their own folder)."""
    if side.folder is not None:
        return store.for_tables(store.load_results(side.folder))
    hash_like = re.fullmatch(r"[0-9a-f]{4,}(-tuned(-[0-9a-f]*)?)?", side.method or "")  # tuned: folder name
    if not side.config and side.tuned is None and hash_like and side.method not in set(df["method"]):
        hit = df[df["config_hash"].str.startswith(side.method)]
        if hit.empty:
            raise KeyError(f"{side.spec!r}: no method of that name and no config hash starting with it")
        return hit
    hit = df[df["method"] == side.method]
    if hit.empty:
        known = ", ".join(sorted(df["method"].unique())) or "none"
        raise KeyError(f"{side.spec!r}: no complete runs of method {side.method!r} (methods with runs: {known})")
    # tuned runs are their own system (their configs differ per split): only [tuned...] selects them
    is_tuned = hit["tuning"] != ""
    if side.tuned is None:
        if is_tuned.all():
            raise KeyError(f"{side.spec!r}: {side.method} has only tuned runs; select them as "
                           f"{side.method}[tuned] ({', '.join(sorted(set(hit['tuning'])))})")
        hit = hit[~is_tuned]
    else:
        hit = hit[hit["tuning"] == side.tuned] if side.tuned else hit[is_tuned]
        if hit.empty:
            known = ", ".join(sorted(set(df.loc[df["method"] == side.method, "tuning"]) - {""})) or "none"
            raise KeyError(f"{side.spec!r}: no complete tuned runs of {side.method} like that (tuned: {known})")
        return hit
    for key, value in side.config.items():
        configs = hit["config"].map(json.loads)
        if not configs.map(lambda c: key in c).any():
            raise KeyError(f"{side.spec!r}: method {side.method} has no config key {key!r}")
        hit = hit[configs.map(lambda c: c.get(key) == value).to_numpy()]
    if hit.empty:
        raise KeyError(f"{side.spec!r}: no complete runs with that config")
    return hit


def _check_unique(runs: pd.DataFrame, side: Side) -> None:
    dup = runs[runs.duplicated(PAIR_KEY, keep=False)]
    if len(dup):
        configs = dup.drop_duplicates("config_hash")
        listing = "; ".join(f"{r.config_hash} ({r.method}, text {r.text_encoder}): {r.tuning or r.config}"
                            for r in configs.head(4).itertuples())
        raise ValueError(f"{side.spec!r} names {len(configs)} configs run on the same split and seed; name one "
                         f"as METHOD[key=value] or a config-hash prefix (or restrict with --dataset): {listing}")


def paired(a: pd.DataFrame, b: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Pairs both sides have (with a value for `metric`): key columns, a, b, diff."""
    for side, runs in (("A", a), ("B", b)):
        if metric not in runs.columns:
            raise KeyError(f"metric {metric!r} not found in the runs of {side}; "
                           f"available: {', '.join(c for c in runs.columns if c not in store.ID_COLUMNS)}")
    left = a[PAIR_KEY + [metric]].rename(columns={metric: "a"})
    right = b[PAIR_KEY + [metric]].rename(columns={metric: "b"})
    pairs = left.merge(right, on=PAIR_KEY).dropna(subset=["a", "b"])
    pairs["diff"] = pairs["a"] - pairs["b"]
    return pairs.sort_values(PAIR_KEY).reset_index(drop=True)


def summarize(diff: np.ndarray, a: np.ndarray, b: np.ndarray) -> dict:
    """Mean difference, its 95% t-interval, and A's win rate."""
    n = len(diff)
    out = {"pairs": n, "mean_a": float(np.mean(a)) if n else math.nan, "mean_b": float(np.mean(b)) if n else math.nan,
           "mean_diff": float(np.mean(diff)) if n else math.nan, "ci_low": math.nan, "ci_high": math.nan,
           "a_wins": float(np.mean(diff > 0)) if n else math.nan, "ties": int(np.sum(diff == 0))}
    if n >= 2:
        sem = stats.sem(diff)
        if sem == 0:  # every pair differs by the same amount: no uncertainty left to estimate
            out["ci_low"] = out["ci_high"] = out["mean_diff"]
        else:
            lo, hi = stats.t.interval(CONFIDENCE, n - 1, loc=out["mean_diff"], scale=sem)
            out["ci_low"], out["ci_high"] = float(lo), float(hi)
    return out


UNITS = ("split", "run")


def per_split(pairs: pd.DataFrame) -> pd.DataFrame:
    """Seed-averaged pairs: one row per (dataset, protocol, split) with a, b, diff and seeds."""
    keys = [k for k in PAIR_KEY if k != "seed"]
    out = pairs.groupby(keys, sort=True).agg(a=("a", "mean"), b=("b", "mean"), diff=("diff", "mean"),
                                             seeds=("seed", "count")).reset_index()
    return out


def compare(df: pd.DataFrame, spec_a: str, spec_b: str, metrics=("zsl_top1",), datasets=None,
            unit: str = "split") -> pd.DataFrame:
    """Per dataset and overall, for each metric: the paired summary of A - B."""
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}, got {unit!r}")
    side_a, side_b = parse_side(spec_a), parse_side(spec_b)
    a, b = select(df, side_a), select(df, side_b)
    if datasets:
        a, b = a[a["dataset"].isin(datasets)], b[b["dataset"].isin(datasets)]
    _check_unique(a, side_a)
    _check_unique(b, side_b)
    rows = []
    for metric in metrics:
        pairs = paired(a, b, metric)
        if pairs.empty:
            raise ValueError(f"{spec_a!r} and {spec_b!r} share no (dataset, protocol, split, seed) with "
                             f"{metric} in both; run them on the same splits and seeds")
        runs = pairs.groupby("dataset").size()
        units = per_split(pairs) if unit == "split" else pairs
        groups = [(d, g) for d, g in units.groupby("dataset", sort=True)]
        if len(groups) > 1:
            groups.append(("all", units))
        for dataset, g in groups:
            rows.append({"metric": metric, "dataset": dataset, "unit": unit,
                         "runs": int(runs.sum() if dataset == "all" else runs[dataset]),
                         **summarize(g["diff"].to_numpy(), g["a"].to_numpy(), g["b"].to_numpy())})
    return pd.DataFrame(rows)


def render(table: pd.DataFrame, spec_a: str, spec_b: str, fmt: str = "simple") -> str:
    from tabulate import tabulate
    unit = table["unit"].iloc[0] if "unit" in table and len(table) else "run"
    shown = pd.DataFrame({
        "metric": table["metric"], "dataset": table["dataset"],
        ("splits" if unit == "split" else "pairs"): table["pairs"], "runs": table["runs"],
        "A": table["mean_a"].map("{:.2f}".format), "B": table["mean_b"].map("{:.2f}".format),
        "A − B": table["mean_diff"].map("{:+.2f}".format),
        "95% CI": [("–" if math.isnan(lo) else f"[{lo:+.2f}, {hi:+.2f}]")
                   for lo, hi in zip(table["ci_low"], table["ci_high"])],
        "A wins": [f"{w:.0%} ({round(w * n)}/{n})" for w, n in zip(table["a_wins"], table["pairs"])],
    })
    if unit == "split":
        how = ("paired over (dataset, protocol, split, seed), seeds averaged within a split; "
               "CI: t-interval on A − B over splits")
    else:
        how = "paired over (dataset, protocol, split, seed), every run independent; CI: t-interval on A − B"
    head = f"A = {spec_a}\nB = {spec_b}\n{how}\n"
    return head + tabulate(shown, headers="keys", tablefmt=fmt, showindex=False, disable_numparse=True) + "\n"
