"""ST-GCN (Yan et al., AAAI 2018), the backbone of the SMIE setting.

Spatial partitioning strategy (root / centripetal / centrifugal) from the layout's bones
and centre joint (zssar.backbones.graph), learnable edge-importance masks, temporal
convolution of kernel 9, the same 10-block channel plan as Shift-GCN. Activations are
(B, C, T, V) with B = N * bodies, as upstream (convolutions run through oneDNN on CPU).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from zssar.backbones.graph import block_plan, spatial_partitions
from zssar.data.layouts import Layout


class GraphConv(nn.Module):
    """x -> sum_k (W_k x) A_k: one 1x1 convolution producing K groups, then the graph product."""

    def __init__(self, c_in: int, c_out: int, num_subsets: int):
        super().__init__()
        self.num_subsets, self.c_out = num_subsets, c_out
        self.conv = nn.Conv2d(c_in, c_out * num_subsets, kernel_size=1)

    def forward(self, x, a):
        b, _, t, v = x.shape
        x = self.conv(x).view(b, self.num_subsets, self.c_out, t, v)
        return torch.einsum("nkctv,kvw->nctw", x, a)


class STGCNBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, num_subsets: int, stride: int, residual: bool,
                 kernel_size: int = 9, dropout: float = 0.0):
        super().__init__()
        pad = (kernel_size - 1) // 2
        self.gcn = GraphConv(c_in, c_out, num_subsets)
        self.tcn = nn.Sequential(
            nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
            nn.Conv2d(c_out, c_out, (kernel_size, 1), (stride, 1), (pad, 0)),
            nn.BatchNorm2d(c_out), nn.Dropout(dropout, inplace=True))
        if not residual:
            self.residual = None
        elif c_in == c_out and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = nn.Sequential(nn.Conv2d(c_in, c_out, 1, (stride, 1)), nn.BatchNorm2d(c_out))

    def forward(self, x, a):
        y = self.tcn(self.gcn(x, a))
        if self.residual is not None:
            y = y + self.residual(x)
        return F.relu(y, inplace=True)


class STGCN(nn.Module):
    """Input (N, 3, T, V, M); `extract` returns (pooled (N, 4*width), map (N, T/4, V, 4*width))."""

    arch = "stgcn"

    def __init__(self, num_classes: int, layout: Layout, num_bodies: int = 2, in_channels: int = 3,
                 width: int = 64, num_blocks: int = 10, edge_importance: bool = True, dropout: float = 0.0):
        super().__init__()
        self.num_joints, self.num_bodies, self.in_channels = layout.num_joints, num_bodies, in_channels
        self.register_buffer("A", torch.from_numpy(spatial_partitions(layout)))
        k = self.A.shape[0]
        self.data_bn = nn.BatchNorm1d(in_channels * layout.num_joints)
        plan = block_plan(num_blocks, width)
        plan[0] = (in_channels, plan[0][1], plan[0][2])
        self.blocks = nn.ModuleList(STGCNBlock(ci, co, k, s, residual=(i > 0), dropout=dropout if i > 0 else 0.0)
                                    for i, (ci, co, s) in enumerate(plan))
        self.edge_importance = nn.ParameterList(
            nn.Parameter(torch.ones_like(self.A), requires_grad=edge_importance) for _ in self.blocks)
        self.feature_dim = plan[-1][1]
        self.fc = nn.Linear(self.feature_dim, num_classes)

    def _trunk(self, x):
        n, c, t, v, m = x.shape
        if (c, v, m) != (self.in_channels, self.num_joints, self.num_bodies):
            raise ValueError(f"STGCN expects input (N, {self.in_channels}, T, {self.num_joints}, "
                             f"{self.num_bodies}), got {tuple(x.shape)}")
        # per-body data BN over (joint, coordinate), as upstream ST-GCN
        x = x.permute(0, 4, 3, 1, 2).reshape(n * m, v * c, t)
        x = self.data_bn(x)
        x = x.view(n * m, v, c, t).permute(0, 2, 3, 1).contiguous()  # (B, C, T, V)
        for block, importance in zip(self.blocks, self.edge_importance):
            x = block(x, self.A * importance)
        x = x.view(n, m, *x.shape[1:]).mean(1)  # (N, C, T', V)
        return x.permute(0, 2, 3, 1)  # (N, T', V, C)

    def extract(self, x):
        fmap = self._trunk(x)
        return fmap.mean(dim=(1, 2)), fmap

    def forward(self, x):
        return self.fc(self.extract(x)[0])
