"""STAR network and losses (Chen et al., ACM MM 2024), written from the paper and upstream code.

Skeleton side: the backbone's spatial-temporal map is cut into six body parts by skeleton
topology; for each part, learnable *visual-attribute prompts* query the part's joint-frame
tokens by cross-attention, and a bilinear read-out turns every prompt into one attribute
score. A part is described by its vector of attribute scores (dimension = number of
prompts); the global skeleton feature is their sum over parts.

Text side: class names and per-part descriptions are mapped into the same attribute space
by small MLPs; learnable *semantic-part prompts* (one vector per class and part) are added
to the part-description embeddings before mapping.

Losses (upstream weights 0.1 / 1.0 / 0.1):
  global     cross-entropy of cos(global skeleton feature, mapped class name) over seen classes
  part       per part, cross-entropy of cos(part feature, mapped prompted part description)
  separation per part, softmax over classes of <mapped prompted description, mapped name>;
             each class's description must pick its own name (inter-class separability)
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from zssar.data.layouts import BODY_PARTS


def part_groups(layout, num_joints: int) -> list[list[int]]:
    """Joint indices of the six body parts (head, hand, arm, hip, leg, foot).

    From the layout's topology-based `parts` when they fit the map; otherwise (no layout,
    or a map with another joint count) six contiguous chunks, so any V still works.
    """
    if layout is not None and getattr(layout, "parts", None) and set(layout.parts) == set(BODY_PARTS):
        groups = [list(layout.parts[p]) for p in BODY_PARTS]
        if all(groups) and max(max(g) for g in groups) < num_joints:
            return groups
    chunks = np.array_split(np.arange(num_joints), len(BODY_PARTS))
    return [c.tolist() if len(c) else [num_joints - 1] for c in chunks]


def mlp(d_in: int, d_hidden: int, d_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, d_hidden), nn.ReLU(), nn.Linear(d_hidden, d_out))


class PartEncoder(nn.Module):
    """One body part -> attribute-score vector (num_prompts,)."""

    def __init__(self, feat_dim: int, num_prompts: int, prompt_dim: int, heads: int, visual_prompts: bool):
        super().__init__()
        self.visual_prompts = visual_prompts
        if visual_prompts:
            # upstream: 100 prompts, normal init, queries of a 4-head cross-attention (kdim = vdim = C)
            self.prompts = nn.Parameter(torch.randn(num_prompts, prompt_dim))
            self.attend = nn.MultiheadAttention(prompt_dim, heads, kdim=feat_dim, vdim=feat_dim, batch_first=True)
            self.refine = mlp(prompt_dim, prompt_dim, prompt_dim)
            # bilinear read-out prompt_i^T W e_i (upstream W is normal(0,1); scaled for stable logits)
            self.readout = nn.Parameter(torch.randn(prompt_dim, prompt_dim) / math.sqrt(prompt_dim))
        else:
            # ablation: no prompts, no attention — average the part's tokens and project
            self.pool_proj = nn.Linear(feat_dim, num_prompts)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:  # tokens (n, L, C)
        if not self.visual_prompts:
            return self.pool_proj(tokens.mean(1))
        q = self.prompts.unsqueeze(0).expand(tokens.shape[0], -1, -1)
        attended, _ = self.attend(q, tokens, tokens)               # (n, P, E)
        e = self.refine(attended)
        return torch.einsum("pe,ef,npf->np", self.prompts, self.readout, e)


class STARNet(nn.Module):
    def __init__(self, cfg, feat_dim: int, text_dim: int, groups: list[list[int]], num_train_classes: int):
        super().__init__()
        self.cfg = cfg
        heads = cfg.attention_heads
        prompt_dim = cfg.prompt_dim or text_dim
        prompt_dim = heads * math.ceil(prompt_dim / heads)  # attention needs a multiple of the heads
        for i, g in enumerate(groups):
            self.register_buffer(f"joints_{i}", torch.as_tensor(g, dtype=torch.long), persistent=False)
        self.num_parts = len(groups)
        self.parts = nn.ModuleList(PartEncoder(feat_dim, cfg.num_visual_prompts, prompt_dim, heads, cfg.visual_prompts)
                                   for _ in groups)
        self.name_map = mlp(text_dim, cfg.text_hidden, cfg.num_visual_prompts)
        self.part_text_maps = nn.ModuleList(mlp(text_dim, cfg.text_hidden, cfg.num_visual_prompts) for _ in groups)
        # semantic-part prompts: one learnable vector per (training class, part), added to the text
        self.semantic_prompts = (nn.Parameter(torch.zeros(len(groups), num_train_classes, text_dim))
                                 if cfg.semantic_prompts else None)

    def joints(self, i: int) -> torch.Tensor:
        return getattr(self, f"joints_{i}")

    # -- skeleton side ---------------------------------------------------------------------
    def part_features(self, maps: torch.Tensor) -> torch.Tensor:
        """maps (n, T', V, C) -> per-part attribute scores (n, 6, P)."""
        n, _, _, c = maps.shape
        out = [enc(maps[:, :, self.joints(i), :].reshape(n, -1, c)) for i, enc in enumerate(self.parts)]
        return torch.stack(out, 1)

    @staticmethod
    def global_feature(part_feats: torch.Tensor) -> torch.Tensor:
        return part_feats.sum(1)  # upstream: fixed all-ones part weights

    # -- text side -------------------------------------------------------------------------
    def name_embedding(self, names: torch.Tensor) -> torch.Tensor:  # (C, D) -> (C, P)
        return self.name_map(names)

    def part_text_embedding(self, part_text: torch.Tensor, class_rows: torch.Tensor | None) -> torch.Tensor:
        """part_text (6, C, D) -> (6, C, P); prompts added for the given prompt rows."""
        if self.semantic_prompts is not None and class_rows is not None:
            part_text = part_text + self.semantic_prompts[:, class_rows]
        return torch.stack([m(part_text[i]) for i, m in enumerate(self.part_text_maps)])


def cosine_logits(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return F.normalize(x, dim=-1) @ F.normalize(t, dim=-1).transpose(-1, -2)


def star_losses(net: STARNet, maps, y, names, part_text, prompt_rows, sep_names, sep_part_text, sep_rows, cfg) -> dict:
    """All loss terms for one batch.

    names (C, D) / part_text (6, C, D): text of the training classes, `y` indexes them.
    sep_*: the classes the separation term ranges over (seen classes, or all classes when
    reproducing upstream's use of unseen text).
    """
    parts = net.part_features(maps)
    out = {}
    glob = cosine_logits(net.global_feature(parts), net.name_embedding(names)) * cfg.logit_scale
    out["global"] = cfg.global_weight * F.cross_entropy(glob, y)
    if cfg.part_alignment:
        pt = net.part_text_embedding(part_text, prompt_rows)               # (6, C, P)
        per_part = [F.cross_entropy(cosine_logits(parts[:, i], pt[i]) * cfg.logit_scale, y)
                    for i in range(net.num_parts)]
        out["part"] = cfg.part_weight * torch.stack(per_part).mean()
    if cfg.semantic_prompts and cfg.separation_weight > 0:
        pt = net.part_text_embedding(sep_part_text, sep_rows)             # (6, K, P)
        nm = net.name_embedding(sep_names)                                 # (K, P)
        target = torch.arange(len(nm), device=nm.device)
        # upstream: raw inner products, softmax over names, -log of the diagonal
        per_part = [F.cross_entropy(pt[i] @ nm.T, target) for i in range(net.num_parts)]
        out["separation"] = cfg.separation_weight * torch.stack(per_part).mean()
    return out
