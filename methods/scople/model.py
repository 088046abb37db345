"""SCoPLe modules, RECONSTRUCTED from the abstract of Zhu et al. (CVPR 2025); no code or full
text was available. Every design below is ours (README.md lists them); names follow the
abstract's three modules.

Shapes: N samples, T' frames, V joints, C backbone channels, E visual token width,
C_cls classes, D text-embedding size.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


# -- dual-stream language prompting --------------------------------------------------------------

class PromptedTextStream(nn.Module):
    """Prompted stream: the class embedding reads a set of learnable prompt tokens (attention)
    and a residual adapter turns what it read into a task-tuned embedding. The last layer
    starts at zero, so before training the prompted stream equals the frozen one."""

    def __init__(self, dim: int, n_prompts: int, hidden: int):
        super().__init__()
        self.prompts = nn.Parameter(torch.randn(n_prompts, dim) * dim ** -0.5)
        self.query = nn.Linear(dim, dim, bias=False)
        self.adapter = nn.Sequential(nn.Linear(2 * dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        nn.init.zeros_(self.adapter[-1].weight)
        nn.init.zeros_(self.adapter[-1].bias)

    def forward(self, text: torch.Tensor) -> torch.Tensor:
        """text (C, D) -> prompted (C, D)."""
        attn = F.softmax(self.query(text) @ self.prompts.t() / text.shape[-1] ** 0.5, dim=-1)
        read = attn @ self.prompts
        return text + self.adapter(torch.cat([text, read], -1))


class DualStreamText(nn.Module):
    """Frozen stream (the encoder's own embedding, no parameters) + prompted stream, mixed.

    `mix` weighs the frozen stream; the consistency term 1 - cos(prompted, frozen) keeps the
    tuned output close to the original semantics (KgCoOp/PromptSRC-style regulariser).
    Without `dual`, only the prompted stream is used and there is no consistency term.
    """

    def __init__(self, dim: int, n_prompts: int, hidden: int, dual: bool, mix: float):
        super().__init__()
        self.dual, self.mix = dual, mix
        self.prompted = PromptedTextStream(dim, n_prompts, hidden)

    @staticmethod
    def frozen(text: torch.Tensor) -> torch.Tensor:
        """(C, K, D) sentence embeddings -> (C, D) unit class embedding, untouched by training."""
        return F.normalize(F.normalize(text, dim=-1).mean(1), dim=-1)

    def forward(self, text: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(class embeddings (C, D), consistency loss)."""
        frozen = self.frozen(text)
        prompted = F.normalize(self.prompted(frozen), dim=-1)
        if not self.dual:
            return prompted, prompted.sum() * 0.0
        consistency = (1.0 - (prompted * frozen).sum(-1)).mean()
        return F.normalize(self.mix * frozen + (1.0 - self.mix) * prompted, dim=-1), consistency


# -- joint-shaped prompting -------------------------------------------------------------------------

class JointShapedPrompts(nn.Module):
    """A learnable prompt per joint (V, C), added to the (time-pooled) joint features, followed by
    a residual per-joint tuning MLP: tunes the frozen backbone's features joint by joint.
    Applied after time pooling to keep CPU cost low (per frame it costs T' times more)."""

    def __init__(self, joints: int, channels: int, hidden: int):
        super().__init__()
        self.prompts = nn.Parameter(torch.randn(joints, channels) * 0.02)
        self.tune = nn.Sequential(nn.LayerNorm(channels), nn.Linear(channels, hidden), nn.GELU(),
                                  nn.Linear(hidden, channels))

    def forward(self, joints: torch.Tensor) -> torch.Tensor:
        """joints (N, V, C) -> tuned joints (N, V, C)."""
        x = joints + self.prompts
        return x + self.tune(x)


# -- adaptive visual representation sampler ------------------------------------------------------

class TextGuidedSampler(nn.Module):
    """Each class embedding attends over the skeleton's representations (joint tokens and frame
    tokens); the class-specific weighted sum is what gets projected into the text space."""

    def __init__(self, text_dim: int, width: int, temperature: float):
        super().__init__()
        self.query = nn.Linear(text_dim, width, bias=False)
        self.key = nn.Linear(width, width, bias=False)
        self.temperature = temperature

    def weights(self, tokens: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """(N, C, S) sampling weights over the S tokens, one distribution per class."""
        logits = torch.einsum("ce,nse->ncs", self.query(text), self.key(tokens))
        return F.softmax(logits / (tokens.shape[-1] ** 0.5 * self.temperature), dim=-1)

    def forward(self, tokens: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """tokens (N, S, E), text (C, D) -> class-conditioned skeleton features (N, C, E)."""
        return torch.einsum("ncs,nse->nce", self.weights(tokens, text), tokens)


class SCoPLeNet(nn.Module):
    def __init__(self, *, channels: int, joints: int, text_dim: int, width: int, n_text_prompts: int,
                 hidden: int, dual_stream: bool, joint_prompts: bool, sampler: bool, mix: float,
                 sampler_temperature: float, dropout: float):
        super().__init__()
        self.text = DualStreamText(text_dim, n_text_prompts, hidden, dual_stream, mix)
        self.joint_prompts = JointShapedPrompts(joints, channels, hidden) if joint_prompts else None
        self.to_tokens = nn.Sequential(nn.Linear(channels, width), nn.GELU(), nn.Dropout(dropout))
        self.token_embed = nn.Parameter(torch.zeros(1, joints, width))  # which joint a token is
        self.sampler = TextGuidedSampler(text_dim, width, sampler_temperature) if sampler else None
        self.project = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, hidden), nn.GELU(),
                                     nn.Linear(hidden, text_dim))

    def tokens(self, maps: torch.Tensor) -> torch.Tensor:
        """(N, V + T', E): joint tokens (time-pooled, prompted) then frame tokens (joint-pooled)."""
        joints = maps.mean(1)
        if self.joint_prompts is not None:
            joints = self.joint_prompts(joints)
        joints = self.to_tokens(joints) + self.token_embed
        frames = self.to_tokens(maps.mean(2))
        return torch.cat([joints, frames], 1)

    def scores(self, maps: torch.Tensor, class_text: torch.Tensor) -> torch.Tensor:
        """Cosine logits (N, C) between projected skeleton features and class embeddings (C, D)."""
        tokens = self.tokens(maps)
        if self.sampler is not None:
            feats = F.normalize(self.project(self.sampler(tokens, class_text)), dim=-1)  # (N, C, D)
            return (feats * class_text.unsqueeze(0)).sum(-1)
        feats = F.normalize(self.project(tokens.mean(1)), dim=-1)
        return feats @ class_text.t()
