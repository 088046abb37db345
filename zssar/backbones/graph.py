"""Graph code shared by the backbones, built from a `zssar.data.layouts.Layout`.

* ST-GCN's *spatial* partitioning (Yan et al. 2018, sec. 3.4): neighbours within one hop
  are split into root / centripetal / centrifugal subsets by their distance to the layout's
  centre joint, each subset column-normalised (A D^-1).
* Shift-GCN's *non-local spatial shift* (Cheng et al. 2020, sec. 3.2): channel j of joint i
  is read from joint (i + j) mod V. It needs no adjacency at all, only V and C, which is
  why the same code serves 25- and 20-joint layouts.
* The block plan (channels and temporal strides of the 10-block layout both papers use).
"""
from __future__ import annotations

import numpy as np

from zssar.data.layouts import Layout


def hop_distance(layout: Layout, max_hop: int = 1) -> np.ndarray:
    """(V, V) number of bones between two joints; `inf` beyond `max_hop`."""
    v = layout.num_joints
    adjacency = layout.adjacency() + np.eye(v, dtype=np.float32)
    reach = [np.linalg.matrix_power(adjacency, d) > 0 for d in range(max_hop + 1)]
    dist = np.full((v, v), np.inf)
    for d in range(max_hop, -1, -1):  # smallest d wins
        dist[reach[d]] = d
    return dist


def _normalize_columns(a: np.ndarray) -> np.ndarray:
    degree = a.sum(0)
    inv = np.where(degree > 0, 1.0 / np.maximum(degree, 1e-12), 0.0)
    return a * inv[None, :]


def spatial_partitions(layout: Layout) -> np.ndarray:
    """(3, V, V) float32 ST-GCN spatial-strategy adjacency: [root, centripetal, centrifugal].

    Entry [k, j, i] weights the message from joint j to joint i in subset k, as in
    upstream `einsum('nkctv,kvw->nctw')`.
    """
    hop = hop_distance(layout, max_hop=1)
    adjacency = (hop <= 1).astype(np.float64)
    norm = _normalize_columns(adjacency)
    to_centre = hop_distance(layout, max_hop=layout.num_joints)[:, layout.center]
    v = layout.num_joints
    root, close, further = (np.zeros((v, v)) for _ in range(3))
    for j in range(v):
        for i in range(v):
            if hop[j, i] > 1:
                continue
            if hop[j, i] == 0 or to_centre[j] == to_centre[i]:
                root[j, i] = norm[j, i]
            elif to_centre[j] > to_centre[i]:
                close[j, i] = norm[j, i]
            else:
                further[j, i] = norm[j, i]
    # upstream keeps the self-links (hop 0) as their own subset and merges same-distance
    # neighbours (hop 1) into the centripetal one
    self_links = np.diag(np.diag(root))
    same_distance = root - self_links
    return np.stack([self_links, same_distance + close, further]).astype(np.float32)


def spatial_shift_index(num_joints: int, channels: int, direction: int) -> np.ndarray:
    """Flat gather index over a (V*C) row for Shift-GCN's non-local spatial shift.

    direction=+1 ("shift in"): output (i, j) reads input ((i + j) mod V, j);
    direction=-1 ("shift out"): output (i, j) reads input ((i - j) mod V, j).
    Equals upstream's `(i*C + j + direction*j*C) mod (C*V)`.
    """
    i = np.arange(num_joints)[:, None]
    j = np.arange(channels)[None, :]
    return (((i + direction * j) % num_joints) * channels + j).reshape(-1).astype(np.int64)


def block_plan(num_blocks: int, width: int) -> list[tuple[int, int, int]]:
    """[(in_channels, out_channels, temporal_stride)] for the 10-block layout, generalised.

    With num_blocks=10 this is upstream's l1..l10: 4 blocks at `width`, 3 at 2*width (the
    first with stride 2), 3 at 4*width (the first with stride 2). Fewer blocks keep the
    same three stages at the same relative depths (for small CPU/synthetic models).
    """
    if num_blocks < 3:
        raise ValueError(f"num_blocks must be >= 3 (three channel stages), got {num_blocks}")
    second, third = round(0.4 * num_blocks), round(0.7 * num_blocks)
    plan, c_in = [], 3
    for b in range(num_blocks):
        mult = 1 if b < second else (2 if b < third else 4)
        stride = 2 if b in (second, third) else 1
        plan.append((c_in, width * mult, stride))
        c_in = width * mult
    return plan
