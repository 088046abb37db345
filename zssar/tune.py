"""Hyper-parameter selection on validation classes only: the engine behind `zssar tune`.

Papers tune on the test split; we do not. For every point of a grid of method overrides and
every (split, seed), only the run's **calibration world** is trained: a backbone and the method
on the seen classes minus the split's ``validation_unseen`` classes (training subjects only),
scored on those held-out classes (``val_zsl``: validation classes among themselves, ``val_h``:
calibrated GZSL over all seen classes). Unseen classes and test subjects are never touched.

The calibration world of a run is exactly what ``zssar bench`` trains first for the same
configuration (same run key, same RNG stream), and it is saved as ``calibration.json`` in that
run's folder: tuning is resumable, and a later benchmark of the chosen point reuses it.

The record (YAML) lists every point with its mean, standard error, per-run values and paired
gain over today's default, the chosen overrides and the rule that chose them (`choose`: the
default stays unless the best point clears `margin_se` paired standard errors); methods cite it
where they adopt the choice as a dataset default (``Method.DATASET_DEFAULTS``).

**Per-split tuning** (``zssar bench --tune-grid``, `run_tuned`): the strict protocol. Every
(split, seed) of a benchmark gets its own choice, made by `tune` on that split's validation world
with that seed alone, so no split's choice ever looks at classes another split tests on. The
benchmark run of the choice carries a ``tuning`` block in its result.json and lives in its own
folder (`zssar.runner.tuned_folder`); the reporter shows one row per (method, tuning spec).
"""
from __future__ import annotations

import dataclasses
import itertools
import logging
import math
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from zssar.env import git_state
from zssar.io import sha256_json
from zssar.runner import Run, RunOptions, RunOutcome, run_one
from zssar.splits import Split

log = logging.getLogger("zssar.tune")

METRICS = ("val_zsl", "val_h")
TUNING_PROTOCOL = "per-split: this split's validation classes, this seed"


def parse_grid(items: list[str] | None, flag: str = "--grid") -> dict[str, list[str]]:
    """`["neuron.lr=0.05,0.1", "epochs=20,40"]` -> {"neuron.lr": ["0.05", "0.1"], "epochs": [...]}.

    Values stay strings: the method's config parser types them. A value containing a comma
    (a tuple such as `lr_milestones=[10,16]`) is written with `;` between grid values:
    `--grid "lr_milestones=[10,16];[20,30]"`.
    """
    grid: dict[str, list[str]] = {}
    for item in items or []:
        key, sep, values = item.partition("=")
        sep_char = ";" if ";" in values else ","
        parsed = [v.strip() for v in values.split(sep_char) if v.strip()]
        if not sep or not key.strip() or not parsed:  # "key=," has no value: not an empty point
            raise ValueError(f"{flag} expects key=v1,v2,..., got {item!r}")
        grid[key.strip()] = parsed
    return grid


def grid_points(grid: dict[str, list[str]]) -> list[dict[str, str]]:
    keys = list(grid)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(grid[k] for k in keys))] or [{}]


def check_metric(metric: str, flag: str = "--metric") -> None:
    if metric not in METRICS:
        raise ValueError(f"{flag} must be one of {METRICS}, got {metric!r}")


def validation_world(opts: RunOptions, split: Split, ds=None) -> dict:
    """Train (or reuse) the calibration world of one run and return its calibration record."""
    run = Run(opts, split, ds)
    if opts.force:  # `bench --force --tune-grid`: re-score the selection too
        (run.world_dir / "calibration.json").unlink(missing_ok=True)
    out = run.cached_calibration()  # before loading the encoder: a re-run only reads JSON
    if out is None:
        from zssar.text.encoders import get_encoder
        encoder = get_encoder(opts.text_encoder, device=run.device)
        all_text = run._class_text(encoder)
        # the same RNG stream as Run.execute, so the record equals what `bench` would compute
        rng = np.random.default_rng(opts.seed)
        out = run.calibrate(encoder, all_text, rng, {})
    return {**out, "config_hash": run.config_hash, "method_config": run.method_config}


def _mean_se(values: list[float]) -> tuple[float, float]:
    arr = np.asarray(values, dtype=float)
    se = float(arr.std(ddof=1) / math.sqrt(len(arr))) if len(arr) > 1 else float("nan")
    return float(arr.mean()), se


def paired_gain(runs: list[dict], reference: list[dict], metric: str) -> tuple[float, float | None]:
    """Mean and standard error of `metric` differences, point minus reference, over the (split,
    seed) worlds both scored (every point of a grid scores the same worlds)."""
    ref = {(r["split"], r["seed"]): r[metric] for r in reference}
    diffs = [r[metric] - ref[(r["split"], r["seed"])] for r in runs if (r["split"], r["seed"]) in ref]
    mean, se = _mean_se(diffs)
    return mean, None if math.isnan(se) else se


def choose(points: list[dict], reference: int, margin_se: float) -> tuple[int, str]:
    """Index of the chosen point and the rule that chose it.

    margin_se 0: the highest mean (ties keep the earlier point). margin_se k > 0: the highest-mean
    point replaces the reference (today's default) only if its paired gain over the reference is
    positive and at least k standard errors of the paired differences — on worlds of ~5
    validation classes, "highest mean" alone adopts noise (a session-4 choice won by +6.2 on
    validation and lost 5.3 on test).
    """
    best = max(range(len(points)), key=lambda j: (points[j]["mean"], -j))
    if margin_se <= 0:
        return best, "highest mean"
    rule = f"highest mean, adopted over the default only if its paired gain >= {margin_se:g} SE"
    gain = points[best]["vs_default"]
    if best == reference or gain["se"] is None or gain["mean"] <= 0 or gain["mean"] < margin_se * gain["se"]:
        return reference, rule
    return best, rule


def tune(base: RunOptions, splits: list[Split], seeds: list[int], grid: dict[str, list[str]],
         metric: str = "val_zsl", ds=None, margin_se: float = 1.0) -> dict:
    """Evaluate every grid point on every (split, seed) validation world; return the record.

    The *default* point is the grid point whose config equals the base config (today's defaults
    plus --set); when the grid does not contain it, its first point stands in. `margin_se`: see
    `choose`.
    """
    from zssar.data.registry import load_dataset
    check_metric(metric)
    if not splits:
        raise ValueError("tune needs at least one split")
    if margin_se < 0:
        raise ValueError(f"--margin-se must be >= 0, got {margin_se}")
    ds = ds if ds is not None else load_dataset(base.dataset)
    default_hash = Run(base, splits[0], ds).config_hash
    points = []
    for i, point in enumerate(grid_points(grid)):
        overrides = {**base.method_overrides, **point}
        runs = []
        for split in splits:
            for seed in seeds:
                opts = RunOptions(**{**base.__dict__, "seed": seed, "method_overrides": overrides})
                log.info("[point %d] %s | %s seed %d", i + 1, point or "defaults", split.name, seed)
                rec = validation_world(opts, split, ds)
                runs.append({"split": split.name, "seed": seed, "val_zsl": round(rec["val_zsl"], 4),
                             "val_h": round(rec["val_h"], 4)})
        mean, se = _mean_se([r[metric] for r in runs])
        points.append({"overrides": point, "config_hash": rec["config_hash"], "mean": round(mean, 4),
                       "se": None if math.isnan(se) else round(se, 4), "runs": runs})
    reference = next((j for j, p in enumerate(points) if p["config_hash"] == default_hash), 0)
    for p in points:
        mean, se = paired_gain(p["runs"], points[reference]["runs"], metric)
        p["vs_default"] = {"mean": round(mean, 4), "se": None if se is None else round(se, 4)}
    best, rule = choose(points, reference, margin_se)
    return {
        "method": base.method,
        "dataset": ds.name,
        "protocol": base.protocol,
        "text_encoder": base.text_encoder,
        "metric": metric,
        "selection": f"{rule} of {metric} over splits x seeds of the calibration world "
                     "(validation classes carved out of the seen set; unseen classes and test subjects unused)",
        "margin_se": margin_se,
        "base_config_hash": default_hash,  # the base config (defaults + --set), in the grid or not
        "default": dict(points[reference]["overrides"]),
        "splits": [s.name for s in splits],
        "seeds": list(seeds),
        "base_overrides": dict(base.method_overrides),
        "backbone_overrides": dict(base.backbone_overrides),
        "grid": grid,
        "points": points,
        "chosen": dict(points[best]["overrides"]),  # a copy: no YAML alias in the record
        "chosen_mean": points[best]["mean"],
        "best_by_mean": dict(points[choose(points, reference, 0.0)[0]]["overrides"]),
        **git_state(),  # git_commit, git_dirty: the code that made the record
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


# --------------------------------------------------------------------------------------
# per-split tuning: `zssar bench --tune-grid`
# --------------------------------------------------------------------------------------
def check_tuning(method: str, dataset: str, overrides: dict[str, str], grid: dict[str, list[str]], metric: str,
                 splits: list[Split], grid_flag: str = "--tune-grid", metric_flag: str = "--tune-metric") -> None:
    """Refuse bad tuning input before any work: an empty grid, a metric other than val_zsl/val_h,
    a key or value the method's config rejects, a split without validation classes."""
    from methods.base import apply_overrides
    from methods.registry import get_method
    if not grid:
        raise ValueError(f"{grid_flag}: no grid given, expected at least one KEY=V1,V2 "
                         f"({metric_flag} only says how a grid is scored)")
    check_metric(metric, metric_flag)
    default = get_method(method).default_config(dataset)
    apply_overrides(default, overrides, method)  # --set errors keep their own message
    for key, values in grid.items():
        for value in values:
            try:
                apply_overrides(default, {key: value}, method)
            except (KeyError, ValueError) as e:
                reason = str(e.args[0] if e.args else e).removeprefix("--set ")  # the value is not a --set
                raise ValueError(f"{grid_flag} {key}={','.join(values)}: {reason}") from None
    missing = [s.name for s in splits if not s.validation_unseen]
    if missing:
        raise ValueError(f"{grid_flag} selects on each split's validation classes, but split(s) "
                         f"{', '.join(missing)} have no validation_unseen classes")


def spec_hash(grid: dict[str, list[str]], metric: str) -> str:
    """Short hash of a tuning spec. Key and value order are hashed too: ties keep the earlier point."""
    return sha256_json({"protocol": TUNING_PROTOCOL, "grid": [[k, list(v)] for k, v in grid.items()],
                        "metric": metric})[:8]


def select_for_split(opts: RunOptions, split: Split, grid: dict[str, list[str]], metric: str = "val_zsl",
                     ds=None) -> dict:
    """The tuning block of one (split, seed): `tune` on this split and this seed alone, so the choice
    is exactly what `zssar tune --split <split> --seeds <seed> --margin-se 0` makes (highest metric;
    ties: the earlier point). Every point's world is this split's calibration world, cached on disk."""
    from zssar.data.registry import load_dataset
    ds = ds if ds is not None else load_dataset(opts.dataset)
    record = tune(opts, [split], [opts.seed], grid, metric, ds, margin_se=0.0)  # one world: no SE to test against
    return {
        "protocol": TUNING_PROTOCOL,
        "grid": grid,
        "metric": metric,
        "spec_hash": spec_hash(grid, metric),
        # the untuned config the grid varies (defaults + --set): it names the tuned system, whose
        # final config differs from split to split
        "base_config_hash": record["base_config_hash"],
        "points": [{"overrides": p["overrides"], "config_hash": p["config_hash"],
                    "val_zsl": p["runs"][0]["val_zsl"], "val_h": p["runs"][0]["val_h"]} for p in record["points"]],
        "chosen": record["chosen"],
    }


def run_tuned(opts: RunOptions, split: Split, grid: dict[str, list[str]], metric: str = "val_zsl",
              ds=None) -> RunOutcome:
    """One tuned benchmark run: choose on this split's validation world with this seed, then run
    the normal benchmark with --set values + the choice. A finished one is skipped (its selection
    is re-read from the cached worlds); an interrupted one resumes."""
    tuning = select_for_split(opts, split, grid, metric, ds)
    final = dataclasses.replace(opts, method_overrides={**opts.method_overrides, **tuning["chosen"]})
    return run_one(final, split, ds, tuning)


def format_record(record: dict) -> str:
    from tabulate import tabulate
    rows = []
    for p in record["points"]:
        mark = "*" if p["overrides"] == record["chosen"] else ""
        label = ", ".join(f"{k}={v}" for k, v in p["overrides"].items()) or "(defaults)"
        se = "" if p["se"] is None else f" ± {p['se']:.1f}"
        zsl = np.mean([r["val_zsl"] for r in p["runs"]])
        h = np.mean([r["val_h"] for r in p["runs"]])
        gain = p.get("vs_default") or {}
        paired = "" if gain.get("se") is None or p["overrides"] == record.get("default") else \
            f"{gain['mean']:+.1f} ± {gain['se']:.1f}"
        rows.append([mark, label, f"{p['mean']:.1f}{se}", paired, f"{zsl:.1f}", f"{h:.1f}", len(p["runs"])])
    head = (f"{record['method']} on {record['dataset']}: {len(record['splits'])} split(s) x seeds "
            f"{record['seeds']}, selected on {record['metric']} (validation classes only)")
    head += f"; rule: {record['selection'].split(' of ')[0]}" if record.get("margin_se") else ""
    headers = ["", "overrides", f"{record['metric']} mean ± se", "vs default (paired)", "val_zsl", "val_h", "runs"]
    return head + "\n" + tabulate(rows, headers=headers)
