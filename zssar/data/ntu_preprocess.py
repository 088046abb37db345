"""NTU preprocessing equivalent to the upstream CTR-GCN / SGN pipeline, one sample at a time.

Upstream (Microsoft SGN scripts, reused by CTR-GCN, Neuron, STAR, SkeletonContext) runs
three dataset-wide scripts: `get_raw_skes_data.py` (parse), `get_raw_denoised_data.py`
(drop noisy bodies, pick two actors, drop missing frames) and `seq_transformation.py`
(centre, pad every sequence to the longest one, split). Every step except the padding is
per sample, so here it is a pure function of one parsed file; the padding (to 300 frames
on the full data) is done at export time (`zssar.data.ctrgcn_format`).

Rules reproduced exactly, including the quirks that change the numbers:

* frames with no body are dropped before anything else; a body's frames are stored
  consecutively from the (non-empty) frame where its id first appears, even when the
  id is absent in between (upstream appends `interval[-1] + 1`);
* with one body id in the file there is no denoising at all;
* otherwise: ids seen in <= 11 frames are noise; then, while more than one id is left,
  an id whose frames have x-spread > 0.8 * y-spread in >= 69.754 % of its frames is
  noise, and the others get motion = min(motion, motion over the non-noisy frames);
  motion = sum over x, y, z of the variance of all its joints (float32, as upstream);
* the id with the largest motion is actor 1; each further id (by motion) fills actor 1's
  slot if its interval does not overlap actor 1's (touching counts as not overlapping),
  else actor 2's slot if it does not overlap actor 2's (whose interval starts as [0, 0]),
  else it is dropped; then frames whose joint sum is 0 are dropped;
* centring: subtract joint 2 (spine middle) of actor 1 in the first frame where actor 1
  is present from every joint of both actors, keeping absent-actor frames at zero.

Upstream crashes when every id of a multi-id file is <= 11 frames long; here the length
rule is then skipped (recorded in `Preprocessed.notes`). A file with no body at all is a
"missing skeleton" sample (`MissingSkeleton`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from zssar.data.ntu_skeleton import NUM_JOINTS, SkeletonFile

NUM_BODIES = 2
ROW = NUM_JOINTS * 3  # one actor's joints in a frame, as upstream's flat 75-vector
SPINE_MID = 1  # joint 2 (1-based): the centring origin


@dataclass(frozen=True)
class DenoiseConfig:
    """Thresholds of get_raw_denoised_data.py (the values every NTU paper uses)."""
    max_noise_length: int = 11        # ids tracked for <= this many frames are noise
    spread_ratio: float = 0.8         # a frame is noisy when x-spread > ratio * y-spread
    max_noisy_fraction: float = 0.69754  # an id with >= this fraction of noisy frames is noise


class MissingSkeleton(ValueError):
    """The file lists no body in any frame (NTU's "samples with missing skeletons")."""


@dataclass
class Body:
    body_id: str
    start: int            # index (among non-empty frames) of the first frame of this id
    joints: np.ndarray    # (L, 25, 3) float32, frames start .. start + L - 1
    motion: np.float32 | None = None

    @property
    def end(self) -> int:
        return self.start + len(self.joints) - 1


@dataclass
class Preprocessed:
    joints: np.ndarray                 # (3, T, 25, 2) float32, centred, valid frames only
    num_ids: int                       # distinct body ids in the file
    notes: list[str] = field(default_factory=list)


def track_bodies(ske: SkeletonFile) -> tuple[list[Body], int]:
    """Group body records by id in order of first appearance (get_raw_skes_data)."""
    non_empty = np.flatnonzero(ske.body_counts > 0)
    num_valid = len(non_empty)
    if num_valid == 0:
        raise MissingSkeleton(f"{ske.name}: no body in any of its {ske.num_frames} frames (missing skeleton)")
    valid_index = np.full(ske.num_frames, -1, dtype=np.int64)
    valid_index[non_empty] = np.arange(num_valid)
    records: dict[str, list[int]] = {}
    for r, body_id in enumerate(ske.body_ids):
        records.setdefault(body_id, []).append(r)
    xyz = ske.xyz.astype(np.float32)  # upstream parses straight into float32 arrays
    bodies = [Body(bid, int(valid_index[ske.record_frame[rs[0]]]), xyz[rs]) for bid, rs in records.items()]
    if len(bodies) > 1:
        for b in bodies:
            b.motion = _motion(b.joints)
    return bodies, num_valid


def _motion(joints: np.ndarray) -> np.float32:
    # same array shape and dtype as upstream, so the float32 reduction order is identical
    return np.sum(np.var(joints.reshape(-1, 3), axis=0))


def denoise(bodies: list[Body], cfg: DenoiseConfig = DenoiseConfig(), notes: list[str] | None = None) -> list[Body]:
    """Multi-id files: drop noisy ids, return the rest by decreasing motion."""
    notes = notes if notes is not None else []
    kept = [b for b in bodies if len(b.joints) > cfg.max_noise_length]
    if not kept:
        notes.append(f"every body id is <= {cfg.max_noise_length} frames long; length rule skipped")
        kept = list(bodies)
    if len(kept) > 1:
        survivors = list(kept)
        for b in kept:
            if len(survivors) == 1:
                break
            x, y = b.joints[:, :, 0], b.joints[:, :, 1]
            valid = (x.max(axis=1) - x.min(axis=1)) <= cfg.spread_ratio * (y.max(axis=1) - y.min(axis=1))
            num_noise = len(valid) - int(valid.sum())
            if num_noise == 0:
                continue
            if num_noise / float(len(valid)) >= cfg.max_noisy_fraction:
                survivors.remove(b)
                notes.append(f"body {b.body_id} dropped: noisy spread in {num_noise}/{len(valid)} frames")
            else:
                b.motion = min(b.motion, _motion(b.joints[valid]))
        kept = survivors
    if len(kept) == 1:
        return kept
    return sorted(kept, key=lambda b: b.motion, reverse=True)  # stable, like upstream


def assemble_actors(bodies: list[Body], num_frames: int, multi_id: bool) -> np.ndarray:
    """Upstream's per-frame rows: (T, 75) for one actor, (T, 150) for two, missing frames cut."""
    if len(bodies) == 1:
        b = bodies[0]
        rows = np.zeros((num_frames, ROW), dtype=np.float32)
        rows[b.start:b.end + 1] = b.joints.reshape(-1, ROW)
    else:
        rows = np.zeros((num_frames, 2 * ROW), dtype=np.float32)
        first = bodies[0]
        start1, end1 = first.start, first.end
        rows[start1:end1 + 1, :ROW] = first.joints.reshape(-1, ROW)
        start2, end2 = 0, 0  # actor 2's interval starts as [0, 0], as upstream
        for b in bodies[1:]:
            if min(end1, b.end) - max(start1, b.start) <= 0:
                rows[b.start:b.end + 1, :ROW] = b.joints.reshape(-1, ROW)
                start1, end1 = min(b.start, start1), max(b.end, end1)
            elif min(end2, b.end) - max(start2, b.start) <= 0:
                rows[b.start:b.end + 1, ROW:] = b.joints.reshape(-1, ROW)
                start2, end2 = min(b.start, start2), max(b.end, end2)
    if multi_id:  # upstream runs remove_missing_frames only for multi-id files
        rows = rows[rows.sum(axis=1) != 0]
    return rows


def centre(rows: np.ndarray) -> np.ndarray:
    """seq_translation: origin = actor 1's spine-middle joint in its first present frame."""
    rows = rows.copy()
    two = rows.shape[1] == 2 * ROW
    if two:
        absent1 = rows[:, :ROW].sum(axis=1) == 0
        absent2 = rows[:, ROW:].sum(axis=1) == 0
    present = np.flatnonzero((rows[:, :ROW] != 0).any(axis=1))
    if len(present) == 0:  # upstream would index past the end here
        raise MissingSkeleton("every joint of the main actor is exactly 0 (no usable skeleton)")
    first = present[0]
    origin = rows[first, 3 * SPINE_MID:3 * SPINE_MID + 3].copy()
    rows -= np.tile(origin, rows.shape[1] // 3)
    if two:
        rows[absent1, :ROW] = 0
        rows[absent2, ROW:] = 0
    return rows


def rows_to_joints(rows: np.ndarray) -> np.ndarray:
    """(T, 75 | 150) upstream rows -> (3, T, 25, 2) float32 (missing actor 2 = zeros)."""
    if rows.shape[1] == ROW:
        rows = np.hstack([rows, np.zeros_like(rows)])
    t = rows.shape[0]
    return np.ascontiguousarray(rows.reshape(t, NUM_BODIES, NUM_JOINTS, 3).transpose(3, 0, 2, 1), dtype=np.float32)


def joints_to_rows(joints: np.ndarray) -> np.ndarray:
    """(3, T, 25, M<=2) -> (T, 150), the CTR-GCN npz row layout."""
    c, t, v, m = joints.shape
    if m < NUM_BODIES:
        joints = np.concatenate([joints, np.zeros((c, t, v, NUM_BODIES - m), joints.dtype)], axis=3)
    return joints[..., :NUM_BODIES].transpose(1, 3, 2, 0).reshape(t, NUM_BODIES * v * c)


def preprocess(ske: SkeletonFile, cfg: DenoiseConfig = DenoiseConfig()) -> Preprocessed:
    """Parsed file -> centred (3, T, 25, 2) joints, exactly as the CTR-GCN npz rows (unpadded)."""
    bodies, num_frames = track_bodies(ske)
    notes: list[str] = []
    multi_id = len(bodies) > 1
    actors = denoise(bodies, cfg, notes) if multi_id else bodies
    rows = assemble_actors(actors, num_frames, multi_id)
    try:
        centred = centre(rows)
    except MissingSkeleton as e:
        raise MissingSkeleton(f"{ske.name}: {e}") from None
    return Preprocessed(joints=rows_to_joints(centred), num_ids=len(bodies), notes=notes)
