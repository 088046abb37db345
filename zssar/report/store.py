"""result.json files -> one tidy pandas DataFrame, one row per run.

Columns: run_dir, dataset, dataset_version, dataset_sha256, synthetic, protocol, split,
family, split_version, split_sha256, num_seen, unseen, method, method_version, tags,
reconstructed, config (canonical JSON), config_hash, tuning, seed, status, uses_unseen_text,
text_encoder, env.git_commit, env.git_dirty, env.device, env.num_threads, created, every metric
flattened with dots (``zsl_top1``, ``oracle.gzsl_h``, ``extra.<name>``, ``tiers.<tier>``) and the
run's wall-clock stages as ``timing.<stage>`` seconds (``timing.total_s``, ``timing.train_s``, …):
numbers like the metrics, so ``zssar compare A B --metric timing.total_s`` pairs them too.

Tuned runs (``zssar bench --tune-grid``: each split chose its own config on its validation
classes) are one system however their choices differ: their ``config_hash`` is their folder name
``<base config hash>-tuned-<spec hash>`` (the same for every split) and ``tuning`` says what was
tuned, ``tuned per split: key1,key2`` (sorted keys); ``config`` is the run's own final config.
``tuning`` is empty for untuned runs, whose columns are unchanged.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from zssar import paths
from zssar.io import read_json, sha256_json

log = logging.getLogger(__name__)

SCHEMA_VERSIONS = (1,)
TABLE_STATUSES = ("complete",)  # `limited` and `partial` runs never enter tables
ID_COLUMNS = ["run_dir", "dataset", "dataset_version", "dataset_sha256", "synthetic", "protocol", "split",
              "family", "split_version", "split_sha256", "num_seen", "unseen", "method", "method_version",
              "tags", "reconstructed", "config", "config_hash", "tuning", "seed", "status", "uses_unseen_text",
              "text_encoder", "env.git_commit", "env.git_dirty", "env.device", "env.num_threads", "created"]


def runs_root(results: str | Path | None = None) -> Path:
    """The folder searched for result.json: ``<results>/runs`` if it exists, else ``results``."""
    root = Path(results) if results else paths.results_dir()
    return root / "runs" if (root / "runs").is_dir() else root


def find_result_files(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    if folder.is_file():
        return [folder]
    return sorted(folder.rglob("result.json"))


def _field(doc: dict, dotted: str, path: Path, expected: str, required: bool = True):
    cur = doc
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            if required:
                raise ValueError(f"{path}: field {dotted!r} missing (expected {expected})")
            return None
        cur = cur[part]
    return cur


def flatten_metrics(metrics: dict, prefix: str = "") -> dict[str, float]:
    out = {}
    for key, value in (metrics or {}).items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten_metrics(value, name + "."))
        elif value is None or isinstance(value, (int, float)) and not isinstance(value, bool):
            out[name] = np.nan if value is None else float(value)
    return out


TUNED_PREFIX = "tuned per split"


def tuning_label(method: str, keys) -> str:
    """`tuned per split: k1,k2`: the tuned config keys without the method prefix, sorted."""
    names = sorted({k.split(".", 1)[1] if k.startswith(method + ".") else k for k in keys})
    return f"{TUNED_PREFIX}: {','.join(names)}"


def flatten_result(result: dict, path: Path, root: Path | None = None) -> dict:
    """One result.json -> one row."""
    if not isinstance(result, dict):
        raise ValueError(f"{path}: expected a JSON object at the top level")
    version = result.get("schema_version")
    if version not in SCHEMA_VERSIONS:
        raise ValueError(f"{path}: field 'schema_version' is {version!r}, expected one of {SCHEMA_VERSIONS}")
    method = _field(result, "method", path, "an object {name, version, config, ...}")
    config = method.get("config") or {}
    run_dir = path.parent
    config_hash = (method.get("config_hash") or result.get("config_hash")
                   or sha256_json({"name": method.get("name"), "config": config})[:12])
    tuning = result.get("tuning") or None
    if tuning:  # one system for all splits, whichever point each chose (see the module docstring)
        from zssar.runner import tuned_folder
        config_hash = tuned_folder(tuning)
    tags = sorted(method.get("tags") or [])
    env = result.get("env") or {}
    encoder = result.get("text_encoder") or {}
    split = _field(result, "split", path, "an object {name, family, version, sha256, seen, unseen, ...}")
    seed = _field(result, "seed", path, "an integer seed")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"{path}: field 'seed' is {seed!r}, expected an integer")
    row = {
        "run_dir": str(run_dir.relative_to(root)) if root and run_dir.is_relative_to(root) else str(run_dir),
        "dataset": _field(result, "dataset.name", path, "the dataset name"),
        "dataset_version": str(_field(result, "dataset.version", path, "", required=False)),
        "dataset_sha256": _field(result, "dataset.data_sha256", path, "", required=False) or "",
        "synthetic": bool(_field(result, "dataset.synthetic", path, "", required=False)),
        "protocol": _field(result, "dataset.protocol", path, "", required=False) or "",
        "split": _field(result, "split.name", path, "the split name"),
        "family": split.get("family") or "",
        "split_version": str(split.get("version")),
        "split_sha256": split.get("sha256") or "",
        "num_seen": len(split.get("seen") or []),
        "unseen": tuple(int(c) for c in split.get("unseen") or []),
        "method": _field(result, "method.name", path, "the method name"),
        "method_version": str(method.get("version", "")),
        "tags": ",".join(tags),
        "reconstructed": "reconstructed" in tags,
        "config": json.dumps(config, sort_keys=True),
        "config_hash": config_hash,
        "tuning": tuning_label(method.get("name") or "", tuning["grid"]) if tuning else "",
        "seed": seed,
        "status": _field(result, "status", path, "complete, partial or limited"),
        "uses_unseen_text": bool(method.get("uses_unseen_text", False)),
        "text_encoder": str(encoder.get("id", "")) if isinstance(encoder, dict) else str(encoder),
        "env.git_commit": env.get("git_commit") or "",
        "env.git_dirty": bool(env.get("git_dirty", False)),
        "env.device": env.get("device") or "",
        "env.num_threads": env.get("num_threads"),
        "created": result.get("created") or "",
    }
    metrics = _field(result, "metrics", path, "an object of metrics")
    if not isinstance(metrics, dict):
        raise ValueError(f"{path}: field 'metrics' is {type(metrics).__name__}, expected an object")
    row.update(flatten_metrics(metrics))
    timing = result.get("timing") or {}
    if not isinstance(timing, dict):
        raise ValueError(f"{path}: field 'timing' is {type(timing).__name__}, expected an object of seconds per stage")
    row.update(flatten_metrics(timing, "timing."))
    return row


def load_results(results: str | Path | None = None) -> pd.DataFrame:
    """Every result.json under the results folder (or a folder/file given) as a DataFrame."""
    root = runs_root(results)
    files = find_result_files(root)
    rows = [flatten_result(read_json(p), p, root if root.is_dir() else None) for p in files]
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=ID_COLUMNS)
    metric_cols = sorted(c for c in df.columns if c not in ID_COLUMNS)
    return df[ID_COLUMNS + metric_cols].sort_values(["dataset", "protocol", "split", "method", "config_hash",
                                                     "seed"], kind="stable").reset_index(drop=True)


def for_tables(df: pd.DataFrame) -> pd.DataFrame:
    """Only runs that may enter tables: status ``complete``."""
    skipped = df[~df["status"].isin(TABLE_STATUSES)]
    if len(skipped):
        log.info("%d run(s) with status %s left out of tables", len(skipped),
                 "/".join(sorted(skipped["status"].unique())))
    return df[df["status"].isin(TABLE_STATUSES)].reset_index(drop=True)


def check_versions(df: pd.DataFrame) -> None:
    """Refuse to mix results computed on different data or split versions."""
    problems = []
    for dataset, g in df.groupby("dataset", sort=True):
        versions = g.groupby(["dataset_version", "dataset_sha256"], sort=True)
        if versions.ngroups > 1:
            detail = "; ".join(f"version {v} (data {h[:12]}): {', '.join(sub['run_dir'].head(3))}"
                               + (f" and {len(sub) - 3} more" if len(sub) > 3 else "")
                               for (v, h), sub in versions)
            problems.append(f"dataset {dataset!r} has results from {versions.ngroups} data versions: {detail}")
    for (dataset, split), g in df.groupby(["dataset", "split"], sort=True):
        versions = g.groupby(["split_version", "split_sha256"], sort=True)
        if versions.ngroups > 1:
            detail = "; ".join(f"version {v} ({h[:12]}): {', '.join(sub['run_dir'].head(3))}"
                               + (f" and {len(sub) - 3} more" if len(sub) > 3 else "")
                               for (v, h), sub in versions)
            problems.append(f"split {split!r} of {dataset!r} has results from {versions.ngroups} split "
                            f"versions: {detail}")
    if problems:
        raise ValueError("refusing to put results of different versions in one table (re-run the old ones "
                         "or pass --dataset / --results to select one version):\n  " + "\n  ".join(problems))


def dirty_runs(df: pd.DataFrame) -> pd.DataFrame:
    """Runs made from a git tree with uncommitted changes; logs a warning naming them."""
    dirty = df[df["env.git_dirty"].astype(bool)]
    if len(dirty):
        names = ", ".join(dirty["run_dir"].head(5)) + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else "")
        log.warning("%d run(s) were made from a dirty git tree (uncommitted changes; the code that produced "
                    "them cannot be recovered exactly): %s", len(dirty), names)
    return dirty


def load_run(run_dir: str | Path, root: Path | None = None) -> dict:
    """The full result.json of one run (for per-class accuracies and other nested fields)."""
    path = Path(run_dir)
    if root is not None and not path.is_absolute():
        path = root / path
    return read_json(path / "result.json")


def load_preds(run_dir: Path) -> dict[str, np.ndarray] | None:
    """preds.npz beside a result.json, or None when it is absent (it is git-ignored)."""
    path = Path(run_dir) / "preds.npz"
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}
