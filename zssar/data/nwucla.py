"""Northwestern-UCLA Multiview Action3D (Wang et al., CVPR 2014): 10 actions, 10 subjects,
3 Kinect-v1 views, 20 joints, 1 body.

Raw form: the ``all_sqe`` folder distributed with CTR-GCN, one JSON per sequence::

    {"file_name": "a01_s01_e00_v01", "skeletons": [T][20][3], "label": 1}

The action id in the file name (a01..a06, a08, a09, a11, a12) is the ground truth; the
1-based ``label`` field must agree with it (checked). Sequences as short as one frame
exist in the release and are kept as they are.

Protocol ``xview`` (CTR-GCN and every ZSSAR paper using N-UCLA): views 1 and 2 train,
view 3 tests.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from zssar import paths
from zssar.io import sha256_file, sha256_json

log = logging.getLogger(__name__)

CLASS_NAMES = [
    "pick up with one hand", "pick up with two hands", "drop trash", "walk around", "sit down",
    "stand up", "donning", "doffing", "throw", "carry",
]
ACTION_IDS = (1, 2, 3, 4, 5, 6, 8, 9, 11, 12)  # raw aXX id of each class, in class order
LAYOUT = "kinect_v1_20"
PROTOCOLS = {"xview": "cross-view: views 1 and 2 train, view 3 test"}
DEFAULT_PROTOCOL = "xview"
META_FIELDS = ("subject", "view", "episode")
TRAIN_VIEWS = (1, 2)
NUM_JOINTS = 20
NAME_PATTERN = re.compile(r"^a(\d\d)_s(\d\d)_e(\d\d)_v(\d\d)$")


@dataclass
class NWUCLAConfig:
    """Every knob of N-UCLA preparation."""
    shard_size: int = 1000


def default_raw() -> Path | None:
    raw = paths.shared_dir() / "data" / "nw_ucla" / "raw" / "all_sqe"
    return raw if raw.is_dir() else None


def _json_dir(raw: Path) -> Path:
    for candidate in (raw, raw / "all_sqe"):
        if any(candidate.glob("a*_s*_e*_v*.json")):
            return candidate
    raise FileNotFoundError(f"{raw}: no N-UCLA sequences found (expected all_sqe/aXX_sYY_eZZ_vWW.json)")


def read_sequence(path: Path) -> tuple[int, dict[str, int], np.ndarray]:
    """One JSON file -> (0-based label, meta, float32 joints (3, T, 20, 1))."""
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON (line {e.lineno}: {e.msg})") from None
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: expected a JSON object with file_name, skeletons, label")
    for key in ("file_name", "skeletons", "label"):
        if key not in doc:
            raise ValueError(f"{path}: field {key!r} missing")
    m = NAME_PATTERN.match(str(doc["file_name"]))
    if doc["file_name"] != path.stem:
        raise ValueError(f"{path}: field 'file_name' is {doc['file_name']!r}, expected the file's "
                         f"own name {path.stem!r}")
    if not m:
        raise ValueError(f"{path}: field 'file_name' is {doc['file_name']!r}, expected aXX_sYY_eZZ_vWW")
    action, subject, episode, view = (int(g) for g in m.groups())
    if action not in ACTION_IDS:
        raise ValueError(f"{path}: action a{action:02d} is not an N-UCLA action {ACTION_IDS}")
    label = ACTION_IDS.index(action)
    if doc["label"] != label + 1:
        raise ValueError(f"{path}: field 'label' is {doc['label']!r} but file name a{action:02d} "
                         f"means label {label + 1} (1-based)")
    try:
        frames = np.asarray(doc["skeletons"], dtype=np.float32)
    except (ValueError, TypeError):
        raise ValueError(f"{path}: field 'skeletons' is not a rectangular [T][20][3] array of numbers") from None
    if frames.ndim != 3 or frames.shape[0] == 0 or frames.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(f"{path}: field 'skeletons' has shape {frames.shape}, expected (T>0, 20, 3)")
    if not np.isfinite(frames).all():
        raise ValueError(f"{path}: field 'skeletons' contains NaN or infinite values")
    joints = np.ascontiguousarray(frames.transpose(2, 0, 1)[..., None])
    return label, {"subject": subject, "view": view, "episode": episode}, joints


def prepare(raw: Path, out: Path, *, skip_bad: bool = False, **kw) -> dict:
    from zssar.data.dataset import PreparedWriter, Sample

    try:
        cfg = NWUCLAConfig(**kw)
    except TypeError as e:
        raise ValueError(f"nw_ucla: unsupported prepare option ({e})") from None
    folder = _json_dir(Path(raw))
    files = sorted(folder.glob("*.json"))
    source_sha = sha256_json({p.name: sha256_file(p) for p in files})
    writer = PreparedWriter(out, name="nw_ucla", class_names=CLASS_NAMES, layout=LAYOUT,
                            meta_fields=META_FIELDS, source_sha256=source_sha, shard_size=cfg.shard_size,
                            extra={"protocols_doc": PROTOCOLS})
    for path in files:
        if path.stem in writer.done_ids:
            continue
        try:
            label, meta, joints = read_sequence(path)
        except ValueError as e:
            if not skip_bad:
                raise
            writer.exclude(path.stem, f"unreadable: {e}")
            continue
        writer.add(Sample(path.stem, label, joints, meta))
    manifest = writer.close()
    log.info("nw_ucla: %d sequences prepared in %s", manifest["num_samples"], out)
    return manifest


def train_mask(meta: pd.DataFrame, protocol: str) -> np.ndarray:
    if protocol != "xview":
        raise KeyError(f"nw_ucla: unknown protocol {protocol!r}; known: {sorted(PROTOCOLS)}")
    return meta["view"].isin(TRAIN_VIEWS).to_numpy()
