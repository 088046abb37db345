"""Feeder transforms of the upstream NTU feeders (CTR-GCN `feeders/tools.py`), on numpy.

Training: valid-frame crop with a random ratio p in `p_interval` = (0.5, 1) (cropped length
at least `window` frames when possible), linear resize to `window` frames, random rotation
(angles uniform in [-0.3, 0.3] rad about x, y, z). Evaluation: deterministic centre crop
keeping 95 % of the valid frames, resize, no rotation. `test_time_random=True` applies the
training randomness at evaluation too (some upstream feature dumps do that), seeded.

Every random draw comes from a `numpy.random.Generator` passed in, so a (seed, epoch,
sample) triple fixes the augmentation and resumed runs see the same data.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

TRAIN_P_INTERVAL = (0.5, 1.0)
TEST_P_INTERVAL = (0.95,)
ROTATION_THETA = 0.3


def valid_frame_count(joints: np.ndarray) -> int:
    """Frames with any non-zero coordinate (upstream: sum over C, V, M != 0)."""
    return int(np.count_nonzero(np.abs(joints).sum(axis=(0, 2, 3)) != 0))


def valid_crop_resize(joints: np.ndarray, valid_frames: int, p_interval, window: int,
                      rng: np.random.Generator | None = None) -> np.ndarray:
    """(C, T, V, M) -> (C, window, V, M): crop the valid frames, then linear resize.

    One ratio in `p_interval`: centre crop keeping that fraction (deterministic). Two: a
    random ratio in the interval and a random start, as upstream training.
    """
    c, t, v, m = joints.shape
    valid = max(1, min(valid_frames, t))
    if len(p_interval) == 1:
        bias = int((1 - p_interval[0]) * valid / 2)
        data = joints[:, bias:valid - bias]
    else:
        if rng is None:
            raise ValueError("a random crop (two-value p_interval) needs an rng")
        p = rng.random() * (p_interval[1] - p_interval[0]) + p_interval[0]
        length = int(np.minimum(np.maximum(int(np.floor(valid * p)), window), valid))
        bias = int(rng.integers(0, valid - length + 1))
        data = joints[:, bias:bias + length]
    if data.shape[1] == 0:  # a one- or two-frame sample centre-cropped to nothing
        data = joints[:, :valid]
    length = data.shape[1]
    # upstream resizes with bilinear interpolation on a (C*V*M, T) image, which along the
    # untouched first axis is the identity: a 1-D linear resize, align_corners=False
    flat = torch.from_numpy(np.ascontiguousarray(data.transpose(0, 2, 3, 1), dtype=np.float32))
    flat = flat.reshape(1, c * v * m, length)
    resized = F.interpolate(flat, size=window, mode="linear", align_corners=False)
    return resized.reshape(c, v, m, window).permute(0, 3, 1, 2).contiguous().numpy()


def rotation_matrix(angles: np.ndarray) -> np.ndarray:
    """Rz @ Ry @ Rx for angles (ax, ay, az), with upstream's sign conventions."""
    (cx, cy, cz), (sx, sy, sz) = np.cos(angles), np.sin(angles)
    rx = np.array([[1, 0, 0], [0, cx, sx], [0, -sx, cx]])
    ry = np.array([[cy, 0, -sy], [0, 1, 0], [sy, 0, cy]])
    rz = np.array([[cz, sz, 0], [-sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def random_rot(joints: np.ndarray, rng: np.random.Generator, theta: float = ROTATION_THETA) -> np.ndarray:
    """Rotate every frame of a (C, T, V, M) sample by one random rotation (upstream `random_rot`)."""
    r = rotation_matrix(rng.uniform(-theta, theta, size=3)).astype(np.float32)
    return np.einsum("ij,jtvm->itvm", r, joints).astype(np.float32)


def fit_bodies(joints: np.ndarray, num_bodies: int) -> np.ndarray:
    """Zero-pad (or truncate) the body axis to the model's M."""
    m = joints.shape[3]
    if m == num_bodies:
        return joints
    if m > num_bodies:
        return joints[..., :num_bodies]
    pad = np.zeros(joints.shape[:3] + (num_bodies - m,), dtype=joints.dtype)
    return np.concatenate([joints, pad], axis=3)


@dataclass(frozen=True)
class SkeletonTransform:
    """What a backbone sees of one sample; `train` selects the augmenting variant."""
    window: int = 64
    num_bodies: int = 2
    train: bool = False
    random_rotation: bool = True
    test_time_random: bool = False

    @property
    def randomized(self) -> bool:
        return self.train or self.test_time_random

    def __call__(self, joints: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        joints = fit_bodies(np.asarray(joints, dtype=np.float32), self.num_bodies)
        valid = valid_frame_count(joints)
        if self.randomized:
            if rng is None:
                raise ValueError("random transform needs an rng")
            out = valid_crop_resize(joints, valid, TRAIN_P_INTERVAL, self.window, rng)
            if self.random_rotation:
                out = random_rot(out, rng)
            return out
        return valid_crop_resize(joints, valid, TEST_P_INTERVAL, self.window)

    def settings(self) -> dict:
        """Everything that changes extracted features (part of the feature-cache key)."""
        return {"window": self.window, "num_bodies": self.num_bodies, "train": self.train,
                "random_rotation": self.random_rotation, "test_time_random": self.test_time_random,
                "p_interval": list(TRAIN_P_INTERVAL if self.randomized else TEST_P_INTERVAL),
                "rotation_theta": ROTATION_THETA if self.randomized and self.random_rotation else 0.0}
