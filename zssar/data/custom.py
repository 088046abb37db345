"""Bring your own dataset: a documented folder format that loads with no code change.

::

    my_dataset/
      dataset.yaml          what the data is (below)
      labels.csv            one row per sample: sample_id,label,<meta fields...>
      joints/<sample_id>.npy   float array (C=3, T, V, M) per sample (any T, V of the layout)

``dataset.yaml``::

    name: my_lab_actions              # lower-case identifier: the prepared folder's name and
                                      # the `dataset:` splits refer to
    layout: ntu25                     # a registered layout: ntu25, kinect_v1_20, msr20
    class_names: [wave, clap, kick]   # label k in labels.csv is class_names[k] (0-based)
    meta_fields: [subject, view]      # integer columns of labels.csv kept as sample meta
    protocols:                        # train/test partitions, declared as data
      cross_subject: {field: subject, train_values: [1, 2, 3]}
    default_protocol: cross_subject   # optional (default: the first protocol)

``zssar prepare custom --raw my_dataset`` writes the prepared folder under the dataset's own
name (``data/prepared/my_lab_actions``), after which ``--dataset my_lab_actions`` works
everywhere. Joints are read with ``allow_pickle=False``. Every malformed field is reported
with the file, the field or line and what was expected.
"""
from __future__ import annotations

import csv
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from zssar import paths
from zssar.io import sha256_file, sha256_json

log = logging.getLogger(__name__)

# Module-level API of zssar.data.registry: a custom dataset defines all of it in its folder.
CLASS_NAMES: list[str] = []
LAYOUT = None
PROTOCOLS: dict[str, str] = {}
DEFAULT_PROTOCOL = None

SPEC_FILE, LABELS_FILE, JOINTS_DIR = "dataset.yaml", "labels.csv", "joints"
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
SAMPLE_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass
class CustomSpec:
    """The parsed dataset.yaml."""
    name: str
    layout: str
    class_names: list[str]
    meta_fields: list[str] = field(default_factory=list)
    protocols: dict[str, dict] = field(default_factory=dict)
    default_protocol: str | None = None


def default_raw() -> Path | None:
    return None


def read_spec(folder: Path) -> CustomSpec:
    from zssar.data.layouts import get_layout
    from zssar.data.registry import DATASETS

    path = Path(folder) / SPEC_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; a custom dataset folder needs {SPEC_FILE}, "
                                f"{LABELS_FILE} and {JOINTS_DIR}/ (see docs/datasets.md)")
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: expected a mapping with name, layout, class_names, meta_fields, protocols")

    def need(key, expected):
        if key not in doc:
            raise ValueError(f"{path}: field {key!r} missing (expected {expected})")
        return doc[key]

    name = need("name", "a lower-case identifier")
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ValueError(f"{path}: field 'name' is {name!r}, expected a lower-case identifier like my_dataset")
    if name in DATASETS:
        raise ValueError(f"{path}: field 'name' is {name!r}, which is a built-in dataset; choose another name")
    layout = need("layout", "a layout name")
    try:
        get_layout(str(layout))
    except KeyError as e:
        raise ValueError(f"{path}: field 'layout': {e.args[0]}") from None
    classes = need("class_names", "a list of class names")
    if (not isinstance(classes, list) or not classes
            or not all(isinstance(c, str) and c.strip() for c in classes)):
        raise ValueError(f"{path}: field 'class_names' must be a non-empty list of strings, got {classes!r}")
    if len(set(classes)) != len(classes):
        dup = sorted({c for c in classes if classes.count(c) > 1})
        raise ValueError(f"{path}: field 'class_names' has duplicates: {dup}")
    meta_fields = doc.get("meta_fields") or []
    if not isinstance(meta_fields, list) or not all(isinstance(f, str) and f.isidentifier() for f in meta_fields):
        raise ValueError(f"{path}: field 'meta_fields' must be a list of column names (identifiers), "
                         f"got {meta_fields!r}")
    if {"sample_id", "label"} & set(meta_fields):
        raise ValueError(f"{path}: field 'meta_fields' must not contain sample_id or label")
    protocols = need("protocols", "a mapping name -> {field, train_values}")
    if not isinstance(protocols, dict) or not protocols:
        raise ValueError(f"{path}: field 'protocols' must be a non-empty mapping name -> "
                         f"{{field: META_FIELD, train_values: [...]}}")
    for pname, spec in protocols.items():
        where = f"{path}: field 'protocols.{pname}'"
        if not isinstance(spec, dict) or set(spec) != {"field", "train_values"}:
            raise ValueError(f"{where} must be {{field: META_FIELD, train_values: [int, ...]}}, got {spec!r}")
        if spec["field"] not in meta_fields:
            raise ValueError(f"{where}.field is {spec['field']!r}, which is not one of meta_fields {meta_fields}")
        values = spec["train_values"]
        if (not isinstance(values, list) or not values
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in values)):
            raise ValueError(f"{where}.train_values must be a non-empty list of integers, got {values!r}")
    default = doc.get("default_protocol")
    if default is not None and default not in protocols:
        raise ValueError(f"{path}: field 'default_protocol' is {default!r}, not one of {sorted(protocols)}")
    unknown = set(doc) - {"name", "layout", "class_names", "meta_fields", "protocols", "default_protocol",
                          "description", "version"}
    if unknown:
        raise ValueError(f"{path}: unknown fields {sorted(unknown)}")
    return CustomSpec(name=name, layout=str(layout), class_names=list(classes), meta_fields=list(meta_fields),
                      protocols={k: dict(v) for k, v in protocols.items()}, default_protocol=default)


def read_labels(folder: Path, spec: CustomSpec) -> list[tuple[str, int, dict[str, int], int]]:
    """labels.csv -> [(sample_id, label, meta, line number)]."""
    path = Path(folder) / LABELS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing (expected a CSV with columns sample_id,label,"
                                f"{','.join(spec.meta_fields)})")
    rows = []
    seen: dict[str, int] = {}
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        columns = reader.fieldnames or []
        missing = [c for c in ["sample_id", "label", *spec.meta_fields] if c not in columns]
        if missing:
            raise ValueError(f"{path}: line 1: header lacks columns {missing} (has {columns})")
        for row in reader:
            line = reader.line_num
            sid = (row["sample_id"] or "").strip()
            if not SAMPLE_ID_PATTERN.match(sid):
                raise ValueError(f"{path}: line {line}: field 'sample_id' is {sid!r}, expected letters, "
                                 f"digits, '_', '-', '.' (it names joints/<sample_id>.npy)")
            if sid in seen:
                raise ValueError(f"{path}: line {line}: sample_id {sid!r} already used on line {seen[sid]}")
            seen[sid] = line
            label = _int_field(row["label"], path, line, "label")
            if not 0 <= label < len(spec.class_names):
                raise ValueError(f"{path}: line {line}: field 'label' is {label}, expected a 0-based class "
                                 f"index 0..{len(spec.class_names) - 1}")
            meta = {k: _int_field(row[k], path, line, k) for k in spec.meta_fields}
            rows.append((sid, label, meta, line))
    if not rows:
        raise ValueError(f"{path}: no samples")
    return rows


def _int_field(value: str | None, path: Path, line: int, name: str) -> int:
    try:
        return int((value or "").strip())
    except ValueError:
        raise ValueError(f"{path}: line {line}: field {name!r} is {value!r}, expected an integer") from None


def read_joints(path: Path, num_joints: int) -> np.ndarray:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing (every labels.csv row needs joints/<sample_id>.npy)")
    try:
        arr = np.load(path, allow_pickle=False)
    except ValueError as e:
        raise ValueError(f"{path}: not a plain numeric .npy array ({e})") from None
    if not isinstance(arr, np.ndarray) or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"{path}: expected a numeric array, got dtype {getattr(arr, 'dtype', type(arr))}")
    if arr.ndim != 4 or arr.shape[0] != 3 or arr.shape[1] < 1 or arr.shape[2] != num_joints or arr.shape[3] < 1:
        raise ValueError(f"{path}: shape {arr.shape}, expected (3, T>=1, {num_joints}, M>=1) = (C, T, V, M)")
    if not np.isfinite(arr).all():
        raise ValueError(f"{path}: contains NaN or infinite values")
    return arr.astype(np.float32, copy=False)


def prepared_out(raw: Path) -> Path:
    """Where `zssar prepare custom` puts a folder by default: under the dataset's own name."""
    return paths.prepared_dir() / read_spec(Path(raw)).name


def prepare(raw: Path, out: Path | None = None, *, skip_bad: bool = False, shard_size: int = 1000) -> dict:
    from zssar.data.dataset import PreparedWriter, Sample
    from zssar.data.layouts import get_layout

    raw = Path(raw)
    spec = read_spec(raw)
    rows = read_labels(raw, spec)
    # the generic default target (data/prepared/custom) would let two custom datasets
    # overwrite each other: the dataset's own name is used instead
    if out is None or Path(out).resolve() == (paths.prepared_dir() / "custom").resolve():
        out = paths.prepared_dir() / spec.name
    num_joints = get_layout(spec.layout).num_joints
    files = [raw / SPEC_FILE, raw / LABELS_FILE] + [raw / JOINTS_DIR / f"{sid}.npy" for sid, *_ in rows]
    source_sha = sha256_json({str(p.relative_to(raw)): sha256_file(p) for p in files if p.is_file()})
    writer = PreparedWriter(out, name=spec.name, class_names=spec.class_names, layout=spec.layout,
                            meta_fields=spec.meta_fields, source_sha256=source_sha, shard_size=shard_size,
                            extra={"protocols": spec.protocols,
                                   "default_protocol": spec.default_protocol or next(iter(spec.protocols))})
    for sid, label, meta, line in rows:
        if sid in writer.done_ids:
            continue
        try:
            joints = read_joints(raw / JOINTS_DIR / f"{sid}.npy", num_joints)
        except (ValueError, FileNotFoundError) as e:
            if not skip_bad:
                raise type(e)(f"{e} (labels.csv line {line})") from None
            writer.exclude(sid, f"unreadable: {e}")
            continue
        writer.add(Sample(sid, label, joints, meta))
    manifest = writer.close()
    log.info("%s: %d samples prepared in %s", spec.name, manifest["num_samples"], out)
    return manifest


def train_mask(meta: pd.DataFrame, protocol: str) -> np.ndarray:
    raise KeyError("custom datasets declare their protocols in dataset.yaml; load the prepared "
                   "dataset by its own name and use zssar.data.registry.partition()")
