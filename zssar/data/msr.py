"""MSR Action3D (Li, Zhang & Liu, CVPR-W 2010): 20 actions, 10 subjects, 20 joints, 1 body.

Raw form (as bundled with Vemulapalli et al.'s Lie-group code, see
``../shared/data/msr_action3d/PROVENANCE.md``)::

    real_world_coordinates/aXX_sYY_eZZ_skeleton3D.txt   4 values per row (x y z confidence),
                                                        20 rows per frame
    files_used.mat (or real_world_coordinates/files_used_in_cvpr12_paper.txt)
                                                        the standard 557-sequence list
    body_model.mat                                      bones (1-based joint pairs)

The joint order is MSR's own (hip centre = joint 7, head = joint 20, 1-based), not the
Kinect SDK order of NW-UCLA; it gets its own layout, ``msr20``. Left/right follow
body_model.mat (left_hip_index 5, right_wrist_index 11, ...); the data agree with it: in
"high arm wave" (mostly right-handed) joints 11/13 move ~8x more than joints 10/12.

Protocol ``xsub`` (the standard cross-subject split of Li et al. and the Lie-group code):
subjects 1, 3, 5, 7, 9 train, subjects 2, 4, 6, 8, 10 test.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from zssar import paths
from zssar.data.layouts import Layout, register_layout
from zssar.io import sha256_file, sha256_json

log = logging.getLogger(__name__)

# The exact strings other modules (text packs) are written against; action_names.mat
# spells a few differently ("draw X", "side boxing", "pickup and throw").
CLASS_NAMES = [
    "high arm wave", "horizontal arm wave", "hammer", "hand catch", "forward punch",
    "high throw", "draw x", "draw tick", "draw circle", "hand clap", "two hand wave",
    "side-boxing", "bend", "forward kick", "side kick", "jogging", "tennis swing",
    "tennis serve", "golf swing", "pick up & throw",
]
LAYOUT = "msr20"
PROTOCOLS = {"xsub": "cross-subject: subjects 1,3,5,7,9 train, subjects 2,4,6,8,10 test"}
DEFAULT_PROTOCOL = "xsub"
META_FIELDS = ("subject", "episode")
TRAIN_SUBJECTS = (1, 3, 5, 7, 9)

NUM_JOINTS = 20
VALUES_PER_ROW = 4  # x, y, z, confidence
FILE_PATTERN = re.compile(r"^a(\d\d)_s(\d\d)_e(\d\d)_skeleton3D\.txt$")


def _zero_based(pairs):
    return tuple((a - 1, b - 1) for a, b in pairs)


# Bones of body_model.mat, re-rooted at the shoulder centre (joint 3) so that, like the
# NTU and Kinect-v1 graphs, every (child, parent) pair points towards the layout centre.
MSR20 = register_layout(Layout(
    name="msr20",
    joint_names=(
        "left_shoulder", "right_shoulder", "shoulder_center", "spine", "left_hip",
        "right_hip", "hip_center", "left_elbow", "right_elbow", "left_wrist",
        "right_wrist", "left_hand", "right_hand", "left_knee", "right_knee",
        "left_ankle", "right_ankle", "left_foot", "right_foot", "head",
    ),
    bones=_zero_based([
        (4, 3), (20, 3), (1, 3), (2, 3), (7, 4), (8, 1), (9, 2), (10, 8), (11, 9),
        (12, 10), (13, 11), (5, 7), (6, 7), (14, 5), (15, 6), (16, 14), (17, 15),
        (18, 16), (19, 17),
    ]),
    center=2,
    parts={
        "head": (19,),
        "hand": (9, 10, 11, 12),
        "arm": (0, 1, 7, 8),
        "hip": (2, 3, 4, 5, 6),
        "leg": (13, 14, 15, 16),
        "foot": (17, 18),
    },
))


@dataclass
class MSRConfig:
    """Every knob of MSR preparation."""
    subset: str = "standard"  # "standard": the 557-file list of files_used.mat; "all": every file
    shard_size: int = 1000


def default_raw() -> Path | None:
    raw = paths.shared_dir() / "data" / "msr_action3d" / "raw"
    return raw if (raw / "real_world_coordinates").is_dir() else None


def _sequence_dir(raw: Path) -> Path:
    if (raw / "real_world_coordinates").is_dir():
        return raw / "real_world_coordinates"
    if any(raw.glob("a*_s*_e*_skeleton3D.txt")):
        return raw
    raise FileNotFoundError(f"{raw}: no MSR Action3D skeletons found (expected "
                            f"real_world_coordinates/aXX_sYY_eZZ_skeleton3D.txt)")


def standard_file_list(raw: Path) -> list[str] | None:
    """Sequence stems (``a01_s01_e01``) of the standard 557-file list, or None if absent."""
    mat = raw / "files_used.mat"
    if mat.is_file():
        from scipy.io import loadmat
        entries = loadmat(mat)["files_used"]
        return [str(e[0][0]).strip() for e in entries]
    txt = _sequence_dir(raw) / "files_used_in_cvpr12_paper.txt"
    if txt.is_file():
        return [s for s in txt.read_text().split() if s]
    return None


def read_sequence(path: Path) -> np.ndarray:
    """One sequence file -> float32 (3, T, 20, 1) (the confidence column is dropped)."""
    try:
        values = np.array(path.read_text().split(), dtype=np.float64)
    except ValueError as e:
        raise ValueError(f"{path}: non-numeric value ({e}); expected rows of 4 numbers "
                         f"(x y z confidence)") from None
    per_frame = NUM_JOINTS * VALUES_PER_ROW
    if values.size == 0 or values.size % per_frame:
        raise ValueError(f"{path}: {values.size} values is not a whole number of frames; expected "
                         f"{NUM_JOINTS} rows of {VALUES_PER_ROW} values (x y z confidence) per frame")
    frames = values.reshape(-1, NUM_JOINTS, VALUES_PER_ROW)[:, :, :3]
    return np.ascontiguousarray(frames.transpose(2, 0, 1)[..., None], dtype=np.float32)


def parse_name(name: str) -> tuple[int, int, int]:
    """``a13_s09_e02_skeleton3D.txt`` -> (action, subject, episode), all 1-based."""
    m = FILE_PATTERN.match(name)
    if not m:
        raise ValueError(f"{name}: file name does not match aXX_sYY_eZZ_skeleton3D.txt")
    return int(m[1]), int(m[2]), int(m[3])


def prepare(raw: Path, out: Path, *, skip_bad: bool = False, **kw) -> dict:
    from zssar.data.dataset import PreparedWriter, Sample

    try:
        cfg = MSRConfig(**kw)
    except TypeError as e:
        raise ValueError(f"msr_action3d: unsupported prepare option ({e})") from None
    if cfg.subset not in ("standard", "all"):
        raise ValueError(f"msr_action3d: subset must be 'standard' or 'all', got {cfg.subset!r}")
    raw = Path(raw)
    seq_dir = _sequence_dir(raw)
    files = sorted(p for p in seq_dir.glob("*_skeleton3D.txt"))
    standard = standard_file_list(raw) if cfg.subset == "standard" else None
    if cfg.subset == "standard" and standard is None:
        raise FileNotFoundError(f"{raw}: files_used.mat / files_used_in_cvpr12_paper.txt not found; "
                                f"pass subset='all' to use every sequence")
    standard_set = set(standard or [])
    source_sha = sha256_json({p.name: sha256_file(p) for p in files})
    writer = PreparedWriter(out, name="msr_action3d", class_names=CLASS_NAMES, layout=LAYOUT,
                            meta_fields=META_FIELDS, source_sha256=source_sha, shard_size=cfg.shard_size,
                            extra={"protocols_doc": PROTOCOLS, "subset": cfg.subset,
                                   "file_list": "files_used.mat (557 sequences)" if standard else "all files"})
    all_zero = []
    for path in files:
        stem = path.name[: -len("_skeleton3D.txt")]
        if stem in writer.done_ids:
            continue
        try:
            action, subject, episode = parse_name(path.name)
            if not 1 <= action <= len(CLASS_NAMES):
                raise ValueError(f"{path}: action a{action:02d} out of range a01..a20")
            joints = read_sequence(path)
        except ValueError as e:
            if not skip_bad:
                raise
            writer.exclude(stem, f"unreadable: {e}")
            continue
        # a13_s09_e02 is all zeros (a known bad recording): never a valid sample
        if not np.any(joints):
            all_zero.append(stem)
            writer.exclude(stem, "all-zero skeleton (known bad recording)")
            continue
        if standard is not None and stem not in standard_set:
            writer.exclude(stem, "not in the standard 557-sequence list (files_used.mat)")
            continue
        writer.add(Sample(stem, action - 1, joints, {"subject": subject, "episode": episode}))
    missing = sorted(standard_set - {p.name[: -len("_skeleton3D.txt")] for p in files})
    if missing:
        raise FileNotFoundError(f"{seq_dir}: {len(missing)} sequences of the standard list are missing, "
                                f"e.g. {missing[:3]}")
    # excluded samples are never in done_ids, so a resumed run re-detects them all
    writer.extra["all_zero_excluded"] = all_zero
    manifest = writer.close()
    log.info("msr_action3d: %d sequences prepared in %s (%d excluded)", manifest["num_samples"], out,
             manifest["excluded"]["count"])
    return manifest


def train_mask(meta: pd.DataFrame, protocol: str) -> np.ndarray:
    if protocol != "xsub":
        raise KeyError(f"msr_action3d: unknown protocol {protocol!r}; known: {sorted(PROTOCOLS)}")
    return meta["subject"].isin(TRAIN_SUBJECTS).to_numpy()
