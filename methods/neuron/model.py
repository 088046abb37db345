"""Neuron network (Chen et al., CVPR 2025), written from the paper's equations and upstream code.

Input: the backbone's spatial-temporal map F (n, T', V, C).
  F_s = mean over time  (n, V, C)   — one token per joint
  F_t = mean over joints (n, T', C) — one token per frame

Spatial micro-prototypes P_s (N_s x C) evolve over three phases (coarse, medium, fine):
  H = F_s P^T                      joint-attribute similarity (n, V, N_s)        (Eq. 1)
  spatial compression: per joint (row), sort the attributes and zero the lowest ρ_e
  fraction of the joint weights (ρ grows every phase: 25%, 50%, 75% upstream)
  P <- φ_e(Hᵀ-weighted sum of joint tokens)    refinement MLP                   (Eq. 2)
Temporal micro-prototypes P_t (N_t x C) evolve over three temporal windows:
  H = softmax_frames(F_t^e P^T);  P̂ = Hᵀ F_t^e                                   (Eq. 3-4)
  temporal memory:  P <- σ(ρ_r(P̂))·P  (recall)  +  σ(ρ_m(P̂))·φ_e(P̂)  (remember)  (Eq. 5)
Each phase's prototype is pooled over attributes, projected to the text space and aligned
with that phase's descriptions (mean cosine to the class's K descriptions)        (Eq. 6-8).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

SPATIAL_SOURCES = ("spatial_coarse", "spatial_medium", "spatial_fine")
TEMPORAL_SOURCES = ("temporal_1", "temporal_2", "temporal_3")
PHASES = 3


def refine_mlp(dim: int) -> nn.Sequential:
    # upstream refinement: Linear-ReLU-Linear-ReLU at the backbone width
    return nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim), nn.ReLU())


def gate_mlp(dim: int) -> nn.Sequential:
    # projection before the sigmoid gate; no final ReLU so a gate can close below 0.5
    return nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim))


def compression_mask(sim: torch.Tensor, drop_fraction: float) -> torch.Tensor:
    """Spatial compression: (…, V, A) similarities -> 0/1 mask keeping, for every joint
    (row), the top (1 - drop_fraction) attributes; the lowest `drop_fraction` are dropped."""
    a = sim.shape[-1]
    n_drop = min(a - 1, int(round(drop_fraction * a)))  # always keep at least one attribute
    if n_drop <= 0:
        return torch.ones_like(sim)
    lowest = sim.topk(n_drop, dim=-1, largest=False).indices
    return torch.ones_like(sim).scatter(-1, lowest, 0.0)


def temporal_windows(num_frames: int, mode: str, evolving: bool = True) -> list[slice]:
    """Frame ranges of the three temporal phases.

    prefix  : [0, T/3), [0, 2T/3), [0, T)  — upstream (its phase-2/3 text embeddings are
              the cumulative "first+second(+third) phase" files)
    segments: [0, T/3), [T/3, 2T/3), [2T/3, T) — the paper's Eq. (3) wording
    evolving=False (ablation): every phase sees the whole sequence.
    """
    if not evolving:
        return [slice(0, num_frames)] * PHASES
    cuts = [max(1, round(e * num_frames / PHASES)) for e in range(PHASES + 1)]
    cuts[0] = 0
    if mode == "prefix":
        return [slice(0, max(1, cuts[e + 1])) for e in range(PHASES)]
    if mode == "segments":
        out = []
        for e in range(PHASES):
            lo = min(cuts[e], num_frames - 1)
            out.append(slice(lo, max(lo + 1, cuts[e + 1])))
        return out
    raise ValueError(f"neuron: temporal_windows must be 'prefix' or 'segments', got {mode!r}")


class TemporalMemory(nn.Module):
    """One phase of the temporal update (Eq. 5); memory=False keeps only φ(P̂)."""

    def __init__(self, dim: int, memory: bool):
        super().__init__()
        self.memory = memory
        self.refine = refine_mlp(dim)
        if memory:
            self.recall = gate_mlp(dim)
            self.remember = gate_mlp(dim)

    def forward(self, previous: torch.Tensor, update: torch.Tensor) -> torch.Tensor:
        if not self.memory:
            return self.refine(update)
        return torch.sigmoid(self.recall(update)) * previous + torch.sigmoid(self.remember(update)) * self.refine(update)


class NeuronNet(nn.Module):
    def __init__(self, cfg, feat_dim: int, text_dim: int):
        super().__init__()
        self.cfg = cfg
        # learnable micro-prototypes (upstream nn.Embedding: normal init)
        self.spatial_prototypes = nn.Parameter(torch.randn(cfg.num_spatial_attributes, feat_dim))
        self.temporal_prototypes = nn.Parameter(torch.randn(cfg.num_temporal_attributes, feat_dim))
        self.spatial_refine = nn.ModuleList(refine_mlp(feat_dim) for _ in range(PHASES))
        self.temporal_steps = nn.ModuleList(TemporalMemory(feat_dim, cfg.temporal_memory) for _ in range(PHASES))
        # one projection per stream into the text space, shared by the phases (upstream)
        self.spatial_project = nn.Sequential(nn.Linear(feat_dim, text_dim), nn.ReLU())
        self.temporal_project = nn.Sequential(nn.Linear(feat_dim, text_dim), nn.ReLU())
        self.scale = 1.0 / math.sqrt(feat_dim)  # keeps the softmaxes out of saturation for any C

    def spatial_phases(self, maps: torch.Tensor) -> list[torch.Tensor]:
        """Unit-norm spatial features of the three phases, each (n, D_text)."""
        joints = maps.mean(1)                                               # (n, V, C)
        proto = self.spatial_prototypes.unsqueeze(0).expand(len(maps), -1, -1)  # (n, A, C)
        feats = []
        for e in range(PHASES):
            sim = torch.einsum("nvc,nac->nva", joints, proto) * self.scale
            weights = sim.softmax(dim=1)                                    # over joints (upstream)
            if self.cfg.spatial_compression:
                weights = weights * compression_mask(sim, self.cfg.spatial_drop_schedule[e])
            proto = self.spatial_refine[e](torch.einsum("nva,nvc->nac", weights, joints))
            feats.append(F.normalize(self.spatial_project(proto.mean(1)), dim=-1))
        return feats

    def temporal_phases(self, maps: torch.Tensor) -> list[torch.Tensor]:
        frames = maps.mean(2)                                               # (n, T', C)
        proto = self.temporal_prototypes.unsqueeze(0).expand(len(maps), -1, -1)
        feats = []
        for e, window in enumerate(temporal_windows(frames.shape[1], self.cfg.temporal_windows,
                                                    self.cfg.phase_evolving)):
            seg = frames[:, window]
            weights = (torch.einsum("ntc,nac->nta", seg, proto) * self.scale).softmax(dim=1)  # over frames
            update = torch.einsum("nta,ntc->nac", weights, seg)
            proto = self.temporal_steps[e](proto, update)
            feats.append(F.normalize(self.temporal_project(proto.mean(1)), dim=-1))
        return feats


def description_cosine(feat: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
    """feat (n, D) unit-norm, text (C, K, D) -> (n, C): mean cosine over a class's K descriptions."""
    return torch.einsum("nd,ckd->nck", feat, F.normalize(text, dim=-1)).mean(-1)


def phase_texts(texts: dict[str, torch.Tensor], cfg) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Text aligned with each phase; ablations reuse the last phase's text for every phase."""
    spatial = [texts[s] for s in SPATIAL_SOURCES] if cfg.granularity_update else [texts[SPATIAL_SOURCES[-1]]] * PHASES
    temporal = [texts[s] for s in TEMPORAL_SOURCES] if cfg.phase_evolving else [texts[TEMPORAL_SOURCES[-1]]] * PHASES
    return spatial, temporal


def phase_logits(net: NeuronNet, maps: torch.Tensor, texts: dict[str, torch.Tensor]):
    """(spatial cosines per phase, temporal cosines per phase), each (n, C)."""
    spatial_text, temporal_text = phase_texts(texts, net.cfg)
    sp = [description_cosine(f, t) for f, t in zip(net.spatial_phases(maps), spatial_text)]
    tp = [description_cosine(f, t) for f, t in zip(net.temporal_phases(maps), temporal_text)]
    return sp, tp


def neuron_loss(net: NeuronNet, maps, y, texts, cfg) -> dict:
    """Eq. (8): alignment cross-entropies of every phase, both streams (upstream averages them)."""
    sp, tp = phase_logits(net, maps, texts)
    return {
        "spatial": torch.stack([F.cross_entropy(l * cfg.logit_scale, y) for l in sp]).mean() / 2,
        "temporal": torch.stack([F.cross_entropy(l * cfg.logit_scale, y) for l in tp]).mean() / 2,
    }
