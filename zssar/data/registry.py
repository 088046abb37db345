"""Dataset registry: name -> loader module, resolved lazily.

Each dataset module exposes:

- ``CLASS_NAMES: list[str]`` (0-based order) and ``LAYOUT: str``
- ``PROTOCOLS: dict[str, str]`` protocol name -> one-line description, ``DEFAULT_PROTOCOL``
- ``prepare(raw: Path, out: Path, *, skip_bad: bool = False, **kw) -> dict`` (the manifest);
  writes a prepared folder via ``zssar.data.dataset.PreparedWriter`` and resumes if
  interrupted
- ``train_mask(meta: pandas.DataFrame, protocol: str) -> np.ndarray[bool]``: which samples
  belong to the protocol's training partition (the rest is the test partition)
- ``default_raw() -> Path | None``: where raw data is found without ``--raw`` (e.g. in
  ``../shared``), or None
- optional ``is_current(folder) -> bool``: False when a prepared folder was written by an
  older generator (``load_dataset`` then prepares it again; used by ``synthetic``)

A prepared manifest may instead declare its protocols as data (bring-your-own datasets):
``"protocols": {"cross_subject": {"field": "subject", "train_values": [1, 3, 5]}}``.
"""
from __future__ import annotations

import difflib
import importlib
from pathlib import Path
from types import ModuleType

import numpy as np

from zssar import paths
from zssar.data.dataset import SkeletonDataset

DATASETS: dict[str, str] = {
    "synthetic": "zssar.data.synthetic",
    "ntu60": "zssar.data.ntu",
    "ntu120": "zssar.data.ntu",
    "pku_mmd1": "zssar.data.pku",
    "msr_action3d": "zssar.data.msr",
    "nw_ucla": "zssar.data.nwucla",
    "custom": "zssar.data.custom",
}


def unknown_name_error(kind: str, name: str, known) -> KeyError:
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=3)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return KeyError(f"unknown {kind} {name!r}.{hint} Known: {', '.join(known)}")


def dataset_module(name: str) -> ModuleType:
    if name not in DATASETS:
        raise unknown_name_error("dataset", name, DATASETS)
    mod = importlib.import_module(DATASETS[name])
    # one module may serve several datasets (ntu60/ntu120): it exposes `for_dataset(name)`
    return mod.for_dataset(name) if hasattr(mod, "for_dataset") else mod


def prepared_path(name: str, root: str | Path | None = None) -> Path:
    return Path(root) if root else paths.prepared_dir() / name


def load_dataset(name_or_path: str, root: str | Path | None = None, auto_prepare: bool = True) -> SkeletonDataset:
    """Load a prepared dataset by name (or folder path).

    Datasets whose raw data is available without user action (the synthetic default, and
    the small real datasets when ``../shared`` is present) are prepared on first use.
    """
    p = Path(name_or_path)
    if name_or_path not in DATASETS and (p / "manifest.json").is_file():
        return SkeletonDataset.load(p)
    folder = prepared_path(name_or_path, root)
    stale = False
    if (folder / "manifest.json").is_file() and name_or_path in DATASETS:
        # generated datasets expose `is_current(folder)`: output of an older generator is redone
        try:
            check = getattr(dataset_module(name_or_path), "is_current", None)
        except ModuleNotFoundError:  # loader not installed: the prepared folder is all we have
            check = None
        stale = check is not None and not check(folder)
    if stale or not (folder / "manifest.json").is_file():
        mod = dataset_module(name_or_path)
        raw = mod.default_raw() if auto_prepare else None
        if raw is None:
            raise FileNotFoundError(
                f"dataset {name_or_path!r} is not prepared at {folder}; run "
                f"`zssar prepare {name_or_path} --raw PATH` (see docs/datasets.md)")
        mod.prepare(Path(raw), folder)
    return SkeletonDataset.load(folder)


def partition(ds: SkeletonDataset, protocol: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Boolean (train, test) masks over `ds` for an evaluation protocol."""
    declared = ds.manifest.get("protocols")
    if declared:  # data-defined protocols (bring-your-own datasets)
        protocol = protocol or ds.manifest.get("default_protocol") or next(iter(declared))
        if protocol not in declared:
            raise unknown_name_error(f"protocol for {ds.name}", protocol, declared)
        spec = declared[protocol]
        train = ds.meta[spec["field"]].isin(spec["train_values"]).to_numpy()
        return train, ~train
    if ds.name not in DATASETS:
        raise KeyError(f"dataset {ds.name!r} declares no protocols in its manifest")
    mod = dataset_module(ds.name)
    protocol = protocol or mod.DEFAULT_PROTOCOL
    if protocol not in mod.PROTOCOLS:
        raise unknown_name_error(f"protocol for {ds.name}", protocol, mod.PROTOCOLS)
    train = np.asarray(mod.train_mask(ds.meta, protocol), dtype=bool)
    return train, ~train
