"""Skeleton layouts as data: joint names, bones, centre joint and body-part groups.

Body-part groups follow the six parts STAR/SkeletonContext use for part-level text
(head, hand, arm, hip, leg, foot). Joint indices are 0-based everywhere.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

BODY_PARTS = ("head", "hand", "arm", "hip", "leg", "foot")


@dataclass(frozen=True)
class Layout:
    name: str
    joint_names: tuple[str, ...]
    bones: tuple[tuple[int, int], ...]  # (child, parent), 0-based, pointing to the centre
    center: int
    parts: dict[str, tuple[int, ...]] = field(default_factory=dict)

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    def adjacency(self) -> np.ndarray:
        """Symmetric (V, V) 0/1 adjacency without self loops."""
        a = np.zeros((self.num_joints, self.num_joints), dtype=np.float32)
        for i, j in self.bones:
            a[i, j] = a[j, i] = 1.0
        return a

    def part_mask(self) -> np.ndarray:
        """(len(BODY_PARTS), V) 0/1 membership of each joint in each body part."""
        m = np.zeros((len(BODY_PARTS), self.num_joints), dtype=np.float32)
        for p, name in enumerate(BODY_PARTS):
            m[p, list(self.parts[name])] = 1.0
        return m

    def validate(self) -> None:
        v = self.num_joints
        for i, j in self.bones:
            if not (0 <= i < v and 0 <= j < v):
                raise ValueError(f"layout {self.name}: bone ({i},{j}) out of range 0..{v - 1}")
        if set(self.parts) != set(BODY_PARTS):
            raise ValueError(f"layout {self.name}: parts must be exactly {BODY_PARTS}")
        covered = sorted({j for js in self.parts.values() for j in js})
        if covered != list(range(v)):
            raise ValueError(f"layout {self.name}: body parts must cover every joint once")


def _one_based(pairs):
    return tuple((a - 1, b - 1) for a, b in pairs)


def _parts_one_based(parts):
    return {k: tuple(j - 1 for j in v) for k, v in parts.items()}


# Kinect v2, as in NTU RGB+D (joint order of the .skeleton files).
NTU25 = Layout(
    name="ntu25",
    joint_names=(
        "spine_base", "spine_mid", "neck", "head",
        "left_shoulder", "left_elbow", "left_wrist", "left_hand",
        "right_shoulder", "right_elbow", "right_wrist", "right_hand",
        "left_hip", "left_knee", "left_ankle", "left_foot",
        "right_hip", "right_knee", "right_ankle", "right_foot",
        "spine_shoulder", "left_hand_tip", "left_thumb", "right_hand_tip", "right_thumb",
    ),
    # CTR-GCN / Shift-GCN NTU graph (1-based in upstream code).
    bones=_one_based([
        (1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7), (9, 21),
        (10, 9), (11, 10), (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1),
        (18, 17), (19, 18), (20, 19), (22, 23), (23, 8), (24, 25), (25, 12),
    ]),
    center=20,  # spine_shoulder: the joint upstream NTU preprocessing centres on is spine_mid (1)
    parts=_parts_one_based({
        "head": (3, 4),
        "hand": (7, 8, 22, 23, 11, 12, 24, 25),
        "arm": (5, 6, 9, 10),
        "hip": (1, 2, 21, 13, 17),
        "leg": (14, 15, 18, 19),
        "foot": (16, 20),
    }),
)

# Kinect v1, 20 joints, as in NW-UCLA (CTR-GCN's ucla graph).
KINECT_V1_20 = Layout(
    name="kinect_v1_20",
    joint_names=(
        "hip_center", "spine", "shoulder_center", "head",
        "left_shoulder", "left_elbow", "left_wrist", "left_hand",
        "right_shoulder", "right_elbow", "right_wrist", "right_hand",
        "left_hip", "left_knee", "left_ankle", "left_foot",
        "right_hip", "right_knee", "right_ankle", "right_foot",
    ),
    bones=_one_based([
        (1, 2), (2, 3), (4, 3), (5, 3), (6, 5), (7, 6), (8, 7), (9, 3), (10, 9),
        (11, 10), (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17),
        (19, 18), (20, 19),
    ]),
    center=2,
    parts=_parts_one_based({
        "head": (4,),
        "hand": (7, 8, 11, 12),
        "arm": (5, 6, 9, 10),
        "hip": (1, 2, 3, 13, 17),
        "leg": (14, 15, 18, 19),
        "foot": (16, 20),
    }),
)

LAYOUTS: dict[str, Layout] = {l.name: l for l in (NTU25, KINECT_V1_20)}


def register_layout(layout: Layout) -> Layout:
    layout.validate()
    LAYOUTS[layout.name] = layout
    return layout


def get_layout(name: str) -> Layout:
    # Importing the loaders registers the layouts they define (e.g. msr20).
    if name not in LAYOUTS:
        import zssar.data.msr  # noqa: F401  (registers msr20)
    try:
        return LAYOUTS[name]
    except KeyError:
        raise KeyError(f"unknown skeleton layout {name!r}; known: {sorted(LAYOUTS)}") from None
