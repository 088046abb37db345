"""SkeletonContext's modules (Wang et al., CVPR 2026), written from the paper and the upstream
model code (github.com/NingWang2049/skeletoncontext); see README.md for the mapping.

Shapes: N samples, T' frames, V joints, C backbone channels, H masked-LM hidden size,
D text-embedding size, L prompt tokens.
"""
from __future__ import annotations

import math
import re
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F


# -- Differential Joint Encoder (DJE) ---------------------------------------------------------

class DifferentialJointEncoder(nn.Module):
    """Pairwise joint differences re-weight the joint features ("pose fingerprint").

    A[n, j, i] = phi(T1(Q)_j - T2(K)_i) with phi = ReLU and a channel-wise softmax over the
    source joints i; F_diff_j = F_j + sum_i A[j, i] * V_i (upstream adds the input back).
    """

    def __init__(self, channels: int):
        super().__init__()
        self.norm_q, self.norm_k, self.norm_v = (nn.LayerNorm(channels) for _ in range(3))
        self.to_q = nn.Linear(channels, channels, bias=False)
        self.to_k = nn.Linear(channels, channels, bias=False)
        self.to_v = nn.Linear(channels, channels, bias=False)

    @staticmethod
    def difference(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """(N, V, V, C) with [n, j, i] = q[n, j] - k[n, i] (antisymmetric when q == k)."""
        return q.unsqueeze(2) - k.unsqueeze(1)

    def weights(self, joints: torch.Tensor) -> torch.Tensor:
        q, k = self.to_q(self.norm_q(joints)), self.to_k(self.norm_k(joints))
        return F.softmax(F.relu(self.difference(q, k)), dim=2)

    def forward(self, joints: torch.Tensor) -> torch.Tensor:
        """joints (N, V, C) -> topology-enhanced joints (N, V, C)."""
        v = self.to_v(self.norm_v(joints))
        return joints + torch.einsum("njic,nic->njc", self.weights(joints), v)


# -- Key Part Decoupling (KPD) -----------------------------------------------------------------

class KeyPartDecoupler(nn.Module):
    """Joint-importance map K (softmax over joints, per frame) and the part feature K ⊙ F."""

    def __init__(self, channels: int, hidden: int):
        super().__init__()
        self.score = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, maps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """maps (N, T', V, C) -> (importance (N, T', V), part feature (N, C))."""
        importance = F.softmax(self.score(maps).squeeze(-1), dim=2)
        part = (maps * importance.unsqueeze(-1)).sum(2).mean(1)  # importance-weighted joints, averaged over time
        return importance, part


def kpd_loss(importance: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
    """Paper's calibration loss sum_t ||K_t - K_gt||_2, averaged over samples.

    importance (N, T', V); prior (N, V), each row a distribution over joints.
    """
    return (importance - prior.unsqueeze(1)).norm(dim=2).sum(1).mean()


IDLE = re.compile(
    r"\b(remains?|stays?|kept|keeps|is held)\b[^.;]*\b(in place|stable|stationary|still|steady|planted|relaxed|"
    r"neutral|upright|at rest)\b|\bshifts? (its |the )?weight slightly\b|\b(idle|minimal|at rest|"
    r"not (actively )?involved|resting)\b", re.IGNORECASE)


def part_is_active(description: str) -> bool:
    """A body part counts as moving unless its description says it stays still / idle."""
    return not IDLE.search(description or "")


def joint_prior(active_parts: Sequence[Sequence[str]], parts: dict[str, Sequence[int]], num_joints: int) -> torch.Tensor:
    """(C, V) key-part prior: mass spread evenly over the joints of each class's active parts."""
    prior = torch.zeros(len(active_parts), num_joints)
    for c, names in enumerate(active_parts):
        joints = sorted({j for p in names for j in parts.get(p, ()) if j < num_joints})
        if not joints:  # nothing marked as moving: no preference
            joints = list(range(num_joints))
        prior[c, joints] = 1.0
    return prior / prior.sum(1, keepdim=True)


# -- Progressive Partial Masking (PPM) ---------------------------------------------------------

def ppm_ratio(step: int, ramp: int) -> float:
    """r_t = min(1, t / T); t counts from 1 so the first epoch already masks one slot."""
    return min(1.0, (step + 1) / max(1, ramp))


def masked_slot_count(ratio: float, num_slots: int) -> int:
    """How many of the context slots are masked at ratio r (at least one, at most all)."""
    return max(1, min(num_slots, math.ceil(ratio * num_slots - 1e-9)))


# -- Cross-modal context prompt (SCG) ------------------------------------------------------------

class BiCrossAttentionLayer(nn.Module):
    """LXMERT-style cross-modality layer: text <-> skeleton cross-attention in both directions,
    then self-attention and a feed-forward block per stream (pre-norm, residual)."""

    def __init__(self, dim: int, heads: int, dropout: float = 0.1):
        super().__init__()
        mha = lambda: nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)  # noqa: E731
        ffn = lambda: nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Dropout(dropout),  # noqa: E731
                                    nn.Linear(2 * dim, dim))
        self.text_cross, self.skel_cross = mha(), mha()
        self.text_self, self.skel_self = mha(), mha()
        self.text_ffn, self.skel_ffn = ffn(), ffn()
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(8))

    def forward(self, text: torch.Tensor, text_pad: torch.Tensor, skel: torch.Tensor):
        """text (N, L, H) with text_pad (N, L) True at padding; skel (N, S, H)."""
        n = self.norms
        t_in, s_in = n[0](text), n[1](skel)
        text = text + self.text_cross(t_in, s_in, s_in, need_weights=False)[0]
        skel = skel + self.skel_cross(s_in, t_in, t_in, key_padding_mask=text_pad, need_weights=False)[0]
        t = n[2](text)
        text = text + self.text_self(t, t, t, key_padding_mask=text_pad, need_weights=False)[0]
        s = n[3](skel)
        skel = skel + self.skel_self(s, s, s, need_weights=False)[0]
        text = text + self.text_ffn(n[4](text))
        skel = skel + self.skel_ffn(n[5](skel))
        return n[6](text), n[7](skel)


def projector(inp: int, hidden: int, out: int) -> nn.Module:
    return nn.Sequential(nn.Linear(inp, hidden), nn.GELU(), nn.Linear(hidden, out))


class SkeletonContextNet(nn.Module):
    """Both branches on top of the backbone maps; the masked LM lives outside (methods/skeletoncontext/mlm.py)."""

    def __init__(self, *, channels: int, joints: int, context_dim: int, part_dim: int, lm_hidden: int, dje: bool,
                 context_prompt: bool, kpd: bool, layers: int, heads: int, kpd_hidden: int,
                 proj_hidden: int, dropout: float):
        super().__init__()
        self.use_dje, self.use_context, self.use_kpd = dje, context_prompt, kpd
        self.dje = DifferentialJointEncoder(channels) if dje else None
        self.to_tokens = nn.Linear(channels, lm_hidden)
        self.joint_embed = nn.Parameter(torch.zeros(1, joints + 1, lm_hidden))  # +1: global token
        nn.init.normal_(self.joint_embed, std=0.02)
        self.cross = nn.ModuleList(BiCrossAttentionLayer(lm_hidden, heads, dropout) for _ in range(layers)) \
            if context_prompt else nn.ModuleList()
        self.context_proj = projector(lm_hidden, proj_hidden, context_dim)
        self.kpd = KeyPartDecoupler(channels, kpd_hidden) if kpd else None
        self.part_proj = projector(channels, proj_hidden, part_dim)

    def skeleton_tokens(self, maps: torch.Tensor) -> torch.Tensor:
        """(N, 1 + V, H): a global token followed by one token per (DJE-enhanced) joint."""
        joints = maps.mean(1)  # pool time: topology level (N, V, C)
        if self.dje is not None:
            joints = self.dje(joints)
        tokens = self.to_tokens(torch.cat([joints.mean(1, keepdim=True), joints], 1))
        return tokens + self.joint_embed

    def context_branch(self, tokens: torch.Tensor, text: torch.Tensor | None = None,
                       text_pad: torch.Tensor | None = None):
        """Context-enhanced embedding (N, D) and the text states after interaction (or None)."""
        if self.use_context and text is not None:
            for layer in self.cross:
                text, tokens = layer(text, text_pad, tokens)
        return F.normalize(self.context_proj(tokens[:, 0]), dim=-1), text

    def part_branch(self, maps: torch.Tensor):
        """Part embedding (N, D) and the importance map (N, T', V) (None without KPD)."""
        if self.kpd is None:
            return F.normalize(self.part_proj(maps.mean((1, 2))), dim=-1), None
        importance, part = self.kpd(maps)
        return F.normalize(self.part_proj(part), dim=-1), importance


def class_scores(embedding: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
    """Cosine logits (N, C): mean over each class's K sentences (upstream: top-10 of 10 = mean)."""
    return torch.einsum("nd,ckd->nck", embedding, F.normalize(text, dim=-1)).mean(2)
