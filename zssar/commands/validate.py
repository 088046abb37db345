"""`zssar validate [--data NAME|PATH ...]`: check every split file and prepared dataset.

Splits: every YAML in splits/ loads, ids are in range and disjoint, validation classes are
seen classes, and names match the dataset's class names. Prepared datasets (the ones named
with --data, else every folder under the prepared-data directory): the manifest's fields,
every shard's sha256, and the counts the manifest claims against the shards themselves.
Exit status 1 if anything is wrong.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

MANIFEST_FIELDS = ("format_version", "name", "num_samples", "num_classes", "class_names", "class_counts",
                   "layout", "meta_fields", "shards", "excluded")


def register(sub) -> None:
    p = sub.add_parser("validate", help="check split files and prepared datasets (exit 1 on problems)")
    p.add_argument("--data", nargs="*", metavar="NAME|PATH", default=None,
                   help="prepared datasets to check (default: every prepared dataset found)")
    p.add_argument("--no-hash", action="store_true", help="skip the sha256 of shard files (faster)")
    p.set_defaults(func=run)


# -- splits ----------------------------------------------------------------------------------

def validate_split_files(files: list[Path] | None = None) -> tuple[list[str], list[str], int]:
    """(problems, warnings, number of splits checked) for split YAML files (default: splits/)."""
    from zssar import paths, splits as splits_mod
    from zssar.commands.splits import dataset_class_names
    from zssar.data.registry import DATASETS

    if files is None:
        files = sorted(paths.splits_dir().glob("**/*.yaml"))
    problems, warnings, count = [], [], 0
    owners: dict[str, Path] = {}
    names_cache: dict[str, list[str] | None] = {}
    for path in files:
        try:
            loaded = splits_mod.load_file(path)
        except (ValueError, KeyError, TypeError) as e:
            problems.append(str(e) if str(path) in str(e) else f"{path}: {e}")
            continue
        top = loaded[0].family or loaded[0].name
        if top in owners:
            problems.append(f"{path}: name {top!r} is also used by {owners[top]}")
        owners[top] = path
        members = [s.name for s in loaded]
        dups = sorted({m for m in members if members.count(m) > 1})
        if dups:
            problems.append(f"{path}: member names used more than once: {dups}")
        for split in loaded:
            count += 1
            if split.dataset not in names_cache:
                names_cache[split.dataset] = dataset_class_names(split.dataset)
                if names_cache[split.dataset] is None:
                    known = "module not importable yet" if split.dataset in DATASETS else "unknown dataset, not prepared"
                    warnings.append(f"{path}: dataset {split.dataset!r}: class names unavailable ({known}); "
                                    f"names not checked")
            where = f"{path} [{split.name}]" if split.family else str(path)
            problems += [p.replace(str(path), where, 1) for p in
                         splits_mod.validate(split, names_cache[split.dataset])]
            if not split.validation_unseen:
                warnings.append(f"{where}: no validation_unseen classes (GZSL calibration impossible)")
    return problems, warnings, count


# -- prepared datasets -------------------------------------------------------------------------

def validate_prepared(folder: str | Path, *, check_hashes: bool = True) -> list[str]:
    """Problems with a prepared dataset folder (empty list if none)."""
    from zssar.data.dataset import FORMAT_VERSION, MANIFEST
    from zssar.data.layouts import get_layout
    from zssar.data.registry import DATASETS, dataset_module
    from zssar.io import read_json, sha256_file

    folder = Path(folder)
    mpath = folder / MANIFEST
    if not mpath.is_file():
        return [f"{folder}: no {MANIFEST} (not a prepared dataset)"]
    try:
        m = read_json(mpath)
    except ValueError as e:
        return [str(e)]
    missing = [k for k in MANIFEST_FIELDS if k not in m]
    if missing:
        return [f"{mpath}: fields missing: {missing}"]
    errs = []
    if m["format_version"] != FORMAT_VERSION:
        errs.append(f"{mpath}: field 'format_version' is {m['format_version']}, expected {FORMAT_VERSION}")
    n_classes = len(m["class_names"])
    if m["num_classes"] != n_classes:
        errs.append(f"{mpath}: field 'num_classes' is {m['num_classes']} but class_names has {n_classes}")
    try:
        num_joints = get_layout(m["layout"]).num_joints
    except KeyError as e:
        errs.append(f"{mpath}: field 'layout': {e.args[0]}")
        num_joints = None
    if m["name"] in DATASETS and m["name"] != "custom":
        mod = dataset_module(m["name"])
        if list(mod.CLASS_NAMES) != list(m["class_names"]):
            errs.append(f"{mpath}: field 'class_names' differs from zssar.data {m['name']} CLASS_NAMES; re-prepare")
        if mod.LAYOUT != m["layout"]:
            errs.append(f"{mpath}: field 'layout' is {m['layout']!r}, the dataset module says {mod.LAYOUT!r}")
    for pname, spec in (m.get("protocols") or {}).items():
        if not isinstance(spec, dict) or spec.get("field") not in m["meta_fields"] or "train_values" not in spec:
            errs.append(f"{mpath}: field 'protocols.{pname}' must be {{field: <one of meta_fields>, train_values}}")
    excluded = m["excluded"]
    if not isinstance(excluded, dict) or excluded.get("count") != len(excluded.get("samples") or {}):
        errs.append(f"{mpath}: field 'excluded.count' does not match the excluded samples listed")

    counts = np.zeros(n_classes, dtype=np.int64)
    total, ids = 0, []
    for shard in m["shards"]:
        name = shard.get("name", "?")
        jpath, ipath = folder / f"{name}.joints.npy", folder / f"{name}.index.npz"
        if not jpath.is_file() or not ipath.is_file():
            errs.append(f"{folder}: shard {name}: {jpath.name} or {ipath.name} missing")
            continue
        if check_hashes:
            for key, path in (("joints_sha256", jpath), ("index_sha256", ipath)):
                if shard.get(key) != sha256_file(path):
                    errs.append(f"{path}: sha256 differs from manifest field shards[{name}].{key} (file changed)")
        try:
            with np.load(ipath, allow_pickle=False) as idx:
                index = {k: idx[k] for k in idx.files}
            joints = np.load(jpath, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError) as e:
            errs.append(f"{folder}: shard {name}: unreadable ({e})")
            continue
        need = ["sample_ids", "labels", "offsets"] + [f"meta_{f}" for f in m["meta_fields"]]
        lacking = [k for k in need if k not in index]
        if lacking:
            errs.append(f"{ipath}: arrays missing: {lacking}")
            continue
        n, off = len(index["labels"]), index["offsets"]
        if n != shard.get("num_samples"):
            errs.append(f"{ipath}: {n} samples, manifest says {shard.get('num_samples')}")
        if any(len(index[k]) != n for k in need if k != "offsets"):
            errs.append(f"{ipath}: arrays of different lengths")
        if len(off) != n + 1 or off[0] != 0 or np.any(np.diff(off) < 1) or off[-1] != joints.shape[0]:
            errs.append(f"{ipath}: 'offsets' must rise from 0 to the {joints.shape[0]} frames of {jpath.name}, "
                        f"one step of >= 1 frame per sample")
        if joints.dtype != np.float32 or joints.ndim != 4 or joints.shape[1] != 3 or (
                num_joints is not None and joints.shape[2] != num_joints):
            errs.append(f"{jpath}: {joints.dtype} {joints.shape}, expected float32 (frames, 3, {num_joints}, M)")
        labels = index["labels"]
        if n and (labels.min() < 0 or labels.max() >= n_classes):
            errs.append(f"{ipath}: labels outside 0..{n_classes - 1}")
        else:
            counts += np.bincount(labels, minlength=n_classes)[:n_classes]
        total += n
        ids.extend(index["sample_ids"].tolist())
    if total != m["num_samples"]:
        errs.append(f"{mpath}: field 'num_samples' is {m['num_samples']}, the shards hold {total}")
    if counts.tolist() != list(m["class_counts"]):
        errs.append(f"{mpath}: field 'class_counts' does not match the labels in the shards")
    if len(set(ids)) != len(ids):
        errs.append(f"{folder}: {len(ids) - len(set(ids))} sample ids occur more than once")
    return errs


def _data_folders(targets: list[str] | None) -> list[Path]:
    """--data values (dataset names or folders) -> folders; default: everything prepared."""
    from zssar import paths
    from zssar.data.registry import prepared_path
    if targets:
        return [Path(t) if (Path(t) / "manifest.json").is_file() or "/" in t else prepared_path(t)
                for t in targets]
    root = paths.prepared_dir()
    return sorted(p for p in root.iterdir() if (p / "manifest.json").is_file()) if root.is_dir() else []


def run(args) -> int:
    problems, warnings, n_splits = validate_split_files()
    folders = _data_folders(args.data)
    for folder in folders:
        problems += validate_prepared(folder, check_hashes=not args.no_hash)
    for w in warnings:
        print(f"warning: {w}")
    for p in problems:
        print(f"problem: {p}")
    print(f"checked {n_splits} splits and {len(folders)} prepared datasets: "
          f"{len(problems)} problems, {len(warnings)} warnings")
    return 1 if problems else 0
