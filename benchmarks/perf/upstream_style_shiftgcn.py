"""A Shift-GCN built the way upstream builds it, as a speed/memory reference for ours.

Written for `benchmarks/perf/backbone.py` (not used by the library): the design of
kchengiva/Shift-GCN `model/shift_gcn.py` as Neuron / STAR use it, with its CUDA temporal
shift replaced by what a pure-PyTorch port does first: index gathers rebuilt every step.

- activations (N*M, C, T, V), channels-first, as upstream;
- modules as upstream: `Conv2d` 1x1 for the temporal linear / `down` / residual,
  `BatchNorm2d` after them, `BatchNorm1d` over (V*C) in the spatial part, `BatchNorm1d`
  over (M*V*C) on the input;
- spatial shift: permute to (N*T, V*C), `index_select` with the shift-in / shift-out index
  tensors (stored like upstream's frozen parameters), permute back, twice per block;
- temporal shift: each forward computes every channel's fractional source frame
  t*stride + shift_c (+0.5 when stride 2), builds the floor and floor+1 index tensors,
  gathers both along time and interpolates linearly, zeros outside the sequence; autograd
  differentiates through the interpolation weight (so the shift gets its exact gradient,
  not upstream's sign rule: the cost is the same).

Shapes and parameter counts match `zssar.backbones.shiftgcn.ShiftGCN` (10 blocks,
width 64: 0.69 M parameters), so the two are timed on the same work.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn

from zssar.backbones.graph import block_plan, spatial_shift_index


class GatherTemporalShift(nn.Module):
    """Upstream `Shift` (its `ypos`) as two index gathers + linear interpolation, (B, C, T, V)."""

    def __init__(self, channels: int, stride: int):
        super().__init__()
        self.stride = stride
        self.ypos = nn.Parameter(torch.empty(channels).uniform_(-1, 1))

    def forward(self, x):
        b, c, t, v = x.shape
        t_out = t // self.stride
        frames = torch.arange(t_out, device=x.device, dtype=x.dtype) * self.stride + (self.stride - 1) / 2
        pos = frames[None, :] + self.ypos[:, None]          # (C, T_out), differentiable in ypos
        floor = torch.floor(pos.detach())
        frac = pos - floor                                   # carries the gradient to ypos
        out = 0
        for index, weight in ((floor, 1 - frac), (floor + 1, frac)):
            inside = (index >= 0) & (index < t)
            idx = index.clamp(0, t - 1).long()[None, :, :, None].expand(b, c, t_out, v)
            w = (weight * inside)[None, :, :, None]
            out = out + torch.gather(x, 2, idx) * w
        return out


class UpstreamShiftGCNConv(nn.Module):
    """Upstream `Shift_gcn`: index_select shift-in, mask, einsum linear, shift-out, BN1d, + down."""

    def __init__(self, c_in: int, c_out: int, num_joints: int):
        super().__init__()
        self.c_out = c_out
        self.linear_weight = nn.Parameter(torch.empty(c_in, c_out).normal_(0, math.sqrt(1.0 / c_out)))
        self.linear_bias = nn.Parameter(torch.zeros(1, 1, c_out))
        self.feature_mask = nn.Parameter(torch.zeros(1, num_joints, c_in))
        self.bn = nn.BatchNorm1d(num_joints * c_out)
        self.down = (nn.Sequential(nn.Conv2d(c_in, c_out, 1), nn.BatchNorm2d(c_out))
                     if c_in != c_out else nn.Identity())
        self.register_buffer("shift_in", torch.from_numpy(spatial_shift_index(num_joints, c_in, +1)))
        self.register_buffer("shift_out", torch.from_numpy(spatial_shift_index(num_joints, c_out, -1)))
        self.relu = nn.ReLU()

    def forward(self, x0):
        n, c, t, v = x0.shape
        x = x0.permute(0, 2, 3, 1).contiguous().view(n * t, v * c)
        x = torch.index_select(x, 1, self.shift_in).view(n * t, v, c)
        x = x * (torch.tanh(self.feature_mask) + 1)
        x = torch.einsum("nwc,cd->nwd", x, self.linear_weight).contiguous() + self.linear_bias
        x = torch.index_select(x.view(n * t, -1), 1, self.shift_out)
        x = self.bn(x).view(n, t, v, self.c_out).permute(0, 3, 1, 2)
        return self.relu(x + self.down(x0))


class UpstreamShiftTCN(nn.Module):
    """Upstream `Shift_tcn`: BN2d -> shift -> Conv2d 1x1 -> ReLU -> shift(stride) -> BN2d."""

    def __init__(self, channels: int, stride: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels)
        self.shift_in = GatherTemporalShift(channels, 1)
        self.temporal_linear = nn.Conv2d(channels, channels, 1)
        self.relu = nn.ReLU(inplace=True)
        self.shift_out = GatherTemporalShift(channels, stride)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        x = self.relu(self.temporal_linear(self.shift_in(self.bn(x))))
        return self.bn2(self.shift_out(x))


class UpstreamBlock(nn.Module):
    """Upstream `TCN_GCN_unit`: relu(tcn1(gcn1(x)) + residual(x))."""

    def __init__(self, c_in: int, c_out: int, num_joints: int, stride: int, residual: bool):
        super().__init__()
        self.gcn1 = UpstreamShiftGCNConv(c_in, c_out, num_joints)
        self.tcn1 = UpstreamShiftTCN(c_out, stride)
        if not residual:
            self.residual = None
        elif c_in == c_out and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=(stride, 1)), nn.BatchNorm2d(c_out))
        self.relu = nn.ReLU()

    def forward(self, x):
        y = self.tcn1(self.gcn1(x))
        return self.relu(y if self.residual is None else y + self.residual(x))


class UpstreamStyleShiftGCN(nn.Module):
    """Upstream `Model` (10 blocks); input (N, 3, T, V, M); `extract` as Neuron's features."""

    def __init__(self, num_classes: int = 55, num_joints: int = 25, num_bodies: int = 2, in_channels: int = 3,
                 width: int = 64, num_blocks: int = 10):
        super().__init__()
        self.data_bn = nn.BatchNorm1d(num_bodies * num_joints * in_channels)
        plan = block_plan(num_blocks, width)
        plan[0] = (in_channels, plan[0][1], plan[0][2])
        self.blocks = nn.ModuleList(UpstreamBlock(ci, co, num_joints, s, residual=(i > 0))
                                    for i, (ci, co, s) in enumerate(plan))
        self.fc = nn.Linear(plan[-1][1], num_classes)

    def extract(self, x):
        n, c, t, v, m = x.shape
        x = x.permute(0, 4, 3, 1, 2).contiguous().view(n, m * v * c, t)
        x = self.data_bn(x)
        x = x.view(n, m, v, c, t).permute(0, 1, 3, 4, 2).contiguous().view(n * m, c, t, v)
        for block in self.blocks:
            x = block(x)
        fmap = x.view(n, m, *x.shape[1:]).mean(1)            # (N, C, T', V), Neuron's cube feature
        return fmap.mean(dim=(2, 3)), fmap.permute(0, 2, 3, 1)

    def forward(self, x):
        return self.fc(self.extract(x)[0])
