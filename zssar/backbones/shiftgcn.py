"""Shift-GCN (Cheng et al., CVPR 2020) in pure PyTorch, as used by Neuron / STAR.

Faithful to kchengiva/Shift-GCN `model/shift_gcn.py` (the 10-block joint model) with its
CUDA temporal-shift extension replaced by an autograd Function written with gathers, so
the same code runs on CPU and GPU.

Activations live channels-last, (B, T, V, C) with B = N * bodies, for the whole network:
the spatial shift is a gather over a (V*C) row, the 1x1 convolutions are plain matmuls on
the last dimension and batch norms act on 2-D views, so no permute/copy is needed between
the spatial and temporal halves of a block (upstream permutes twice per block).

Adaptive temporal shift (paper sec. 3.3). Channel c of the output at frame t reads the
input at the fractional position p = t*s + shift_c (+0.5 when s = 2, as upstream), linearly
interpolated between frames floor(p) and floor(p)+1, zeros outside the sequence:

    out[t, c] = (1 - a_c) * x[t*s + f_c, c] + a_c * x[t*s + f_c + 1, c],  f_c = floor(p - t*s), a_c = frac

Its gradient w.r.t. the shift is x[.. f_c+1] - x[.. f_c] (paper eq. for the linear
interpolation). Upstream's kernel then averages over the batch and replaces each channel's
gradient by 0.01 * sign(gradient) (0.0001 where it is exactly 0): `shift_grad="upstream"`
reproduces that rule (the default, as trained upstream); `shift_grad="exact"` returns the
true gradient (used by the gradient tests). Upstream's second shift coordinate (along the
joint axis, initialised at +-1e-8 with its gradient multiplied by 0) is the identity and
is not modelled; the upstream importer checks it is negligible.

Speed (CPU, where the forward is memory-bound: the matmuls run near peak, the elementwise
passes over the activations dominate). Training fuses each residual add with its ReLU
(one pass, `_AddReLU`) and keeps in-place ops off autograd views (an in-place ReLU on the
view `nn.Linear` returns makes backward clone the whole tensor). Inference (eval mode,
autograd off) runs the batch in cache-sized micro-batches and folds every BatchNorm into a
neighbouring op (`fold()` / `forward_folded()` on each module), computed per call from the
live parameters; the unfolded formulas stay the reference (tests compare the two).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from zssar.backbones.graph import block_plan, spatial_shift_index

UPSTREAM_SHIFT_STEP = 0.01      # |gradient| upstream assigns to every shift amount
UPSTREAM_ZERO_GRAD_STEP = 1e-4  # gradient upstream assigns when the true one is exactly 0


def _tap_table(shift: torch.Tensor, stride: int, t_src: int):
    """Interpolation weights of the shift, one row per integer frame offset.

    Returns (first_offset, weight, d_weight): weight[k, c] multiplies input frame
    t*stride + first_offset + k for output frame t and channel c; d_weight[k, c] is its
    derivative w.r.t. the channel's fractional shift (-1 on the first tap, +1 on the second).
    Only a handful of offsets exist (shifts are initialised in [-1, 1] and move by small steps);
    a shift beyond the sequence reads only zeros whatever its value, so offsets are clamped
    to +-(t_src + 1), which keeps the table small without changing output or gradient.
    """
    offset = shift.detach().double() + (stride - 1) / 2.0  # upstream: +0.5 for stride 2
    offset = offset.clamp(-(t_src + 1.5), t_src * stride + 1.5)
    floor = torch.floor(offset)
    frac = offset - floor
    first = int(floor.min())
    rows = int(floor.max()) - first + 2
    k = (floor - first).long()  # row of each channel's first tap
    c = torch.arange(shift.numel(), device=shift.device)
    weight = torch.zeros(rows, shift.numel(), dtype=torch.float64, device=shift.device)
    d_weight = torch.zeros_like(weight)
    weight[k, c] = 1.0 - frac
    weight[k + 1, c] = frac
    d_weight[k, c] = -1.0
    d_weight[k + 1, c] = 1.0
    return first, weight, d_weight


def _frame_range(offset: int, stride: int, t_src: int, t_out: int):
    """Output frames t whose source frame t*stride + offset lies inside [0, t_src)."""
    lo = max(0, -(offset // stride))  # ceil(-offset / stride)
    hi = min(t_out - 1, (t_src - 1 - offset) // stride)
    return lo, hi  # empty when hi < lo


def _slices(offsets, stride, t_src, t_out):
    """(row, output slice, input slice) for every offset that touches the sequence."""
    for row, off in enumerate(offsets):
        lo, hi = _frame_range(off, stride, t_src, t_out)
        if hi >= lo:
            yield row, slice(lo, hi + 1), slice(lo * stride + off, hi * stride + off + 1, stride)


def _weighted_sum(src: torch.Tensor, pieces, weight: torch.Tensor, t_len: int, gather: bool,
                  bias: torch.Tensor | None = None, out: torch.Tensor | None = None) -> torch.Tensor:
    """out[:, a] += w[row] * src[:, b] over the (row, a, b) slice pairs of the shift (+ bias).

    gather=True: forward (a = output slice, b = input slice); False: the transpose (roles
    swapped). A piece reaching only frames nothing has written yet writes them with
    `mul(out=...)` (with a stride-2 transpose the two parities are two such pieces), later
    pieces accumulate, and only the frames no piece reaches (runs at the ends) are filled:
    no full zero-fill pass. `bias` (per channel, optional) is added to every output frame
    for free as the `input` of those first writes (folds an eval-mode BatchNorm's shift).
    """
    b, _, v, c = src.shape
    out = src.new_empty(b, t_len, v, c) if out is None else out
    w = weight.to(src.dtype)

    written = [False] * t_len  # frames holding a value: the first piece to reach a frame writes it

    def fill(frames):  # a value for frames no piece reaches (zero padding, or the bias)
        for run in _runs(frames):
            out[:, run] = 0 if bias is None else bias

    for row, o_slice, i_slice in pieces:
        dst, from_ = (o_slice, i_slice) if gather else (i_slice, o_slice)
        frames = range(t_len)[dst]
        state = {written[f] for f in frames}
        if state == {False}:  # fresh frames: write, no prior fill needed
            if bias is None:
                torch.mul(src[:, from_], w[row], out=out[:, dst])
            else:
                torch.addcmul(bias, src[:, from_], w[row], out=out[:, dst])
        else:
            if False in state:  # partly fresh (rare): give the fresh frames their start value
                fill([f for f in frames if not written[f]])
            out[:, dst].addcmul_(src[:, from_], w[row])
        for f in frames:
            written[f] = True
    fill([f for f in range(t_len) if not written[f]])
    return out


def _runs(frames):
    """Slices covering the sorted frame indices, one per run of consecutive frames."""
    runs, start = [], None
    for i, f in enumerate(frames):
        if start is None:
            start = f
        if i + 1 == len(frames) or frames[i + 1] != f + 1:
            runs.append(slice(start, f + 1))
            start = None
    return runs


# The shift reads and writes each output frame block once per integer offset (3 or more
# passes). In training the batch cannot be split for the whole network (BatchNorm uses batch
# statistics), but the shift itself is per sample: looping over batch slices of about this
# many elements keeps those passes (and the backward's products and sums) in the CPU cache.
SHIFT_SLICE_ELEMENTS = 1 << 19  # 2 MB of float32 per tensor slice


def _batch_slices(x: torch.Tensor):
    if x.device.type != "cpu" or x.shape[0] == 0:  # GPUs: one launch per op is what matters
        return [slice(None)]
    per_sample = max(1, x[0].numel())
    step = max(1, SHIFT_SLICE_ELEMENTS // per_sample)
    return [slice(i, i + step) for i in range(0, x.shape[0], step)]


class TemporalShiftFunction(torch.autograd.Function):
    """Adaptive temporal shift on channels-last input (B, T, V, C), fractional per channel.

    The gathers are done per integer frame offset: every channel whose interpolation uses
    offset o reads the same contiguous block of frames, so one strided slice plus a
    per-channel multiply-add handles all of them (no index tensors at all, and the
    backward pass is the same loop with input and output swapped).
    """

    @staticmethod
    def forward(ctx, x, shift, stride: int, grad_rule: str):
        b, t_src, v, c = x.shape
        t_out = t_src // stride
        first, weight, _ = _tap_table(shift, stride, t_src)
        offsets = range(first, first + weight.shape[0])
        weight = weight.to(x.dtype)
        pieces = list(_slices(offsets, stride, t_src, t_out))
        out = x.new_empty(b, t_out, v, c)
        for part in _batch_slices(x):
            _weighted_sum(x[part], pieces, weight, t_out, gather=True, out=out[part])
        ctx.save_for_backward(x, shift)
        ctx.stride, ctx.grad_rule = stride, grad_rule
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, shift = ctx.saved_tensors
        stride, t_src, t_out = ctx.stride, x.shape[1], grad_out.shape[1]
        first, weight, d_weight = _tap_table(shift, stride, t_src)
        offsets = range(first, first + weight.shape[0])
        pieces = list(_slices(offsets, stride, t_src, t_out))
        grad_out = grad_out.contiguous()
        need_x, need_shift = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        grad_x = x.new_empty(x.shape) if need_x else None
        acc = torch.float64 if x.dtype == torch.float64 else torch.float32
        corr = torch.zeros_like(d_weight, dtype=acc)
        weight = weight.to(grad_out.dtype)
        for part in _batch_slices(x):  # both gradients from one cache-sized slice at a time
            g = grad_out[part]
            if need_x:
                # the transpose: every output frame goes back to its source frames, same weights
                _weighted_sum(g, pieces, weight, t_src, gather=False, out=grad_x[part])
            if need_shift:
                # d out / d frac_c = x[second tap] - x[first tap]: correlate grad_out with each
                # offset's input block, then combine the two taps of every channel
                for row, dst, src in pieces:
                    corr[row] += (g[:, dst] * x[part][:, src]).sum(dim=(0, 1, 2), dtype=acc)
        grad_shift = None
        if need_shift:
            grad_shift = (d_weight.to(acc) * corr).sum(0)
            if ctx.grad_rule == "upstream":
                grad_shift = torch.where(grad_shift != 0, UPSTREAM_SHIFT_STEP * torch.sign(grad_shift),
                                         torch.full_like(grad_shift, UPSTREAM_ZERO_GRAD_STEP))
            grad_shift = grad_shift.to(shift.dtype)
        return grad_x, grad_shift, None, None


def temporal_shift(x: torch.Tensor, shift: torch.Tensor, stride: int = 1, grad_rule: str = "exact") -> torch.Tensor:
    """Functional form of the adaptive temporal shift; x (B, T, V, C), shift (C,)."""
    if grad_rule not in ("exact", "upstream"):
        raise ValueError(f"grad_rule must be 'exact' or 'upstream', got {grad_rule!r}")
    return TemporalShiftFunction.apply(x, shift, stride, grad_rule)


class TemporalShift(nn.Module):
    """Learnable per-channel fractional shift along time (upstream `Shift`, its `ypos`)."""

    def __init__(self, channels: int, stride: int = 1, init_scale: float = 1.0, grad_rule: str = "upstream"):
        super().__init__()
        self.stride, self.grad_rule = stride, grad_rule
        self.shift = nn.Parameter(torch.empty(channels).uniform_(-init_scale, init_scale))

    def forward(self, x):
        return temporal_shift(x, self.shift, self.stride, self.grad_rule)


def _bn(channels: int, scale: float = 1.0, kind=nn.BatchNorm2d) -> nn.modules.batchnorm._BatchNorm:
    bn = kind(channels)
    nn.init.constant_(bn.weight, scale)
    nn.init.zeros_(bn.bias)
    return bn


def _channel_bn(bn: nn.BatchNorm2d, x: torch.Tensor) -> torch.Tensor:
    """BatchNorm over the last (channel) axis of a (B, T, V, C) tensor.

    The permuted view is a (B, C, T, V) tensor in channels-last memory format, which hits
    PyTorch's vectorised channels-last batch-norm kernels (faster than a (B*T*V, C) view).
    """
    return bn(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


def _eval_affine(bn: nn.modules.batchnorm._BatchNorm):
    """An eval-mode BatchNorm as y = x * scale + shift, from its live parameters and stats."""
    scale = bn.weight * torch.rsqrt(bn.running_var + bn.eps)
    return scale, bn.bias - bn.running_mean * scale


# dtypes of aten's fused add+ReLU CPU kernel (it has no bfloat16/float16 kernel)
_FUSED_ADD_RELU_DTYPES = (torch.float32, torch.float64)


def _fused_add_relu_ok(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.device.type == "cpu" and a.dtype == b.dtype and a.dtype in _FUSED_ADD_RELU_DTYPES


def _add_relu_(x: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """x = relu(x + other) in place (other broadcasts), one pass on CPU (aten's fused kernel,
    which has no autograd: training uses _AddReLU); two passes in other dtypes (bf16)."""
    if _fused_add_relu_ok(x, other):
        return torch.ops.aten._add_relu_(x, other)
    return x.add_(other).relu_()


class _AddReLU(torch.autograd.Function):
    """relu(a + b) in one pass, for training; the gradient of both is grad * (out > 0)."""

    @staticmethod
    def forward(ctx, a, b):
        out = torch.ops.aten._add_relu(a, b)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        g = torch.ops.aten.threshold_backward(grad, out, 0)
        return g, g


def _add_relu(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    if _fused_add_relu_ok(a, b) and a.shape == b.shape:
        return _AddReLU.apply(a, b)
    # GPUs, broadcasting, and bf16 under CPU autocast: plain ops (the in-place ReLU saves
    # only its output for backward, like _AddReLU; a + b promotes mixed dtypes)
    return F.relu(a + b, inplace=True)


def _fixed_shift(x: torch.Tensor, shift: torch.Tensor, stride: int, scale=None, bias=None) -> torch.Tensor:
    """Inference-only temporal shift with a per-channel output affine folded into it:
    scale * shift(x) + bias costs what shift(x) costs (scale goes into the tap weights, bias
    into the first tap's addcmul)."""
    t_src = x.shape[1]
    first, weight, _ = _tap_table(shift, stride, t_src)
    weight = weight.to(x.dtype)
    if scale is not None:
        weight = weight * scale
    pieces = list(_slices(range(first, first + weight.shape[0]), stride, t_src, t_src // stride))
    return _weighted_sum(x, pieces, weight, t_src // stride, gather=True, bias=bias)


def _gather_columns(x: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    # gather with a stride-0 (expanded) index: ~25 % faster than index_select on CPU here
    return torch.gather(x, 1, perm.view(1, -1).expand(x.shape[0], -1))


class _PermuteColumns(torch.autograd.Function):
    """x[:, perm] for a permutation; its gradient is a gather with the inverse permutation
    (no zero fill and scatter-add as index_select's generic backward does)."""

    @staticmethod
    def forward(ctx, x, perm, inverse):
        ctx.save_for_backward(inverse)
        return _gather_columns(x, perm)

    @staticmethod
    def backward(ctx, grad):
        (inverse,) = ctx.saved_tensors
        return _gather_columns(grad.contiguous(), inverse), None, None


def _permute_columns(x, perm, inverse):
    return _PermuteColumns.apply(x, perm, inverse)


# -- modules ------------------------------------------------------------------------------
# Each module has `forward` (training formulas, autograd) and, for eval mode without
# autograd, `fold()` + `forward_folded(x, folded)`: every BatchNorm folded into a
# neighbouring op from the live parameters and running stats (recomputed per call, never
# cached, so it cannot go stale), which cuts the number of full passes over the activations.

class PointwiseBN(nn.Module):
    """1x1 convolution (optionally strided in time) + BatchNorm, channels-last.

    Upstream's `down` of the GCN (Conv2d 1x1 + BN) and its residual `tcn` (kernel 1).
    """

    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        self.stride = stride
        self.linear = nn.Linear(c_in, c_out)
        nn.init.kaiming_normal_(self.linear.weight, mode="fan_out")
        nn.init.zeros_(self.linear.bias)
        self.bn = _bn(c_out)

    def forward(self, x):
        if self.stride > 1:
            x = x[:, :: self.stride]
        return _channel_bn(self.bn, self.linear(x))

    def fold(self, extra_bias=None):
        """Linear + eval BN as one linear: (weight (C_out, C_in), bias (C_out,))."""
        scale, shift = _eval_affine(self.bn)
        bias = self.linear.bias * scale + shift
        return self.linear.weight * scale[:, None], bias if extra_bias is None else bias + extra_bias

    def forward_folded(self, x, folded):
        if self.stride > 1:
            x = x[:, :: self.stride]
        weight, bias = folded
        b, t, v, c = x.shape
        return torch.addmm(bias, x.reshape(-1, c), weight.t()).view(b, t, v, -1)


class ShiftGraphConv(nn.Module):
    """Non-local spatial shift graph convolution (upstream `Shift_gcn`).

    shift-in -> learnable feature mask (tanh(M) + 1) -> pointwise linear -> shift-out ->
    BN over (V*C) -> + down(x) -> ReLU.
    """

    def __init__(self, c_in: int, c_out: int, num_joints: int):
        super().__init__()
        self.c_in, self.c_out, self.num_joints = c_in, c_out, num_joints
        self.weight = nn.Parameter(torch.empty(c_in, c_out).normal_(0, math.sqrt(1.0 / c_out)))
        self.bias = nn.Parameter(torch.zeros(c_out))
        self.feature_mask = nn.Parameter(torch.zeros(num_joints, c_in))
        self.bn = _bn(num_joints * c_out, kind=nn.BatchNorm1d)
        self.down = PointwiseBN(c_in, c_out) if c_in != c_out else None
        # fixed permutations and their inverses, built once (upstream stores the forward
        # ones as frozen parameters and rebuilds nothing per step either)
        for name, c, direction in (("shift_in", c_in, +1), ("shift_out", c_out, -1)):
            perm = torch.from_numpy(spatial_shift_index(num_joints, c, direction))
            self.register_buffer(name, perm, persistent=False)
            self.register_buffer(name + "_inverse", torch.argsort(perm), persistent=False)

    def forward(self, x0):
        b, t, v, _ = x0.shape
        x = _permute_columns(x0.reshape(b * t, v * self.c_in), self.shift_in, self.shift_in_inverse)
        # the mask in the activations' dtype: a float32 mask would promote a bf16 activation
        # (autocast) to float32 for this pass; a no-op in float32
        x = x.view(b * t, v, self.c_in) * (torch.tanh(self.feature_mask) + 1).to(x.dtype)
        x = torch.addmm(self.bias, x.view(-1, self.c_in), self.weight)
        x = _permute_columns(x.view(b * t, v * self.c_out), self.shift_out, self.shift_out_inverse)
        x = self.bn(x).view(b, t, v, self.c_out)
        return _add_relu(x, x0 if self.down is None else self.down(x0))

    def fold(self):
        """Per-joint weights (V, C_in, C_out) and bias (V, 1, C_out) of mask -> linear -> BN.

        The (V*C) BN acts after shift-out; column m of the linear's output lands in column
        inverse[m], so the BN moves before the shift as a per-(joint, channel) affine of the
        linear's output, and with the per-(joint, channel) feature mask on its input the three
        become one linear per joint: W_v = diag(mask_v) W diag(scale_v)."""
        v = self.num_joints
        scale, shift = _eval_affine(self.bn)
        scale = scale[self.shift_out_inverse].view(v, 1, self.c_out)
        shift = shift[self.shift_out_inverse].view(v, 1, self.c_out)
        mask = torch.tanh(self.feature_mask) + 1
        weight = mask[:, :, None] * self.weight * scale
        return weight, self.bias * scale + shift, None if self.down is None else self.down.fold()

    def forward_folded(self, x0, folded):
        weight, bias, down = folded
        b, t, v, _ = x0.shape
        x = _gather_columns(x0.reshape(b * t, v * self.c_in), self.shift_in).view(b * t, v, self.c_in)
        # one matmul per joint, reading and writing strided rows in place (BLAS leading
        # dimension V*C): no copies, and the output stays row-major for the flat shift-out
        # gather (a joint-major batched matmul + a gather over the joint axis is slower)
        z = x.new_empty(b * t, v, self.c_out)
        for j in range(v):
            torch.addmm(bias[j, 0], x[:, j], weight[j], out=z[:, j])
        out = _gather_columns(z.view(b * t, v * self.c_out), self.shift_out)
        out = out.view(b, t, v, self.c_out)
        return _add_relu_(out, x0 if down is None else self.down.forward_folded(x0, down))


class ShiftTemporalConv(nn.Module):
    """Temporal shift convolution (upstream `Shift_tcn`): BN -> shift -> 1x1 -> ReLU -> shift(stride) -> BN."""

    def __init__(self, channels: int, stride: int = 1, grad_rule: str = "upstream"):
        super().__init__()
        self.bn = _bn(channels)
        self.shift_in = TemporalShift(channels, 1, grad_rule=grad_rule)
        self.linear = nn.Linear(channels, channels)
        nn.init.kaiming_normal_(self.linear.weight, mode="fan_out")
        nn.init.zeros_(self.linear.bias)  # Conv2d default bias init upstream; zero is the neutral choice
        self.shift_out = TemporalShift(channels, stride, grad_rule=grad_rule)
        self.bn2 = _bn(channels)

    def forward(self, x):
        x = self.shift_in(_channel_bn(self.bn, x))
        b, t, v, c = x.shape
        # matmul on the 2-D tensor and ReLU in place on it, then view: an in-place op on the
        # 4-D *view* nn.Linear returns makes autograd clone the whole base in backward
        y = torch.addmm(self.linear.bias, x.reshape(-1, c), self.linear.weight.t()).relu_()
        return _channel_bn(self.bn2, self.shift_out(y.view(b, t, v, -1)))

    def fold(self, num_frames: int):
        """bn -> scale into the linear's columns, its shift -> a per-(frame, channel) bias
        table (the shift of a constant is not constant near the zero-padded borders, so the
        table is that constant run through the same shift: exact everywhere); bn2 -> scale
        into shift-out's tap weights, shift added by shift-out's first tap."""
        scale1, shift1 = _eval_affine(self.bn)
        scale2, shift2 = _eval_affine(self.bn2)
        c = scale1.numel()
        shifted_bias = _fixed_shift(shift1.expand(1, num_frames, 1, c), self.shift_in.shift, 1).view(num_frames, c)
        bias_table = torch.addmm(self.linear.bias, shifted_bias, self.linear.weight.t())
        return self.linear.weight * scale1, bias_table, scale2, shift2

    def forward_folded(self, x, folded):
        weight, bias_table, scale2, shift2 = folded
        b, t, v, c = x.shape
        h = _fixed_shift(x, self.shift_in.shift, 1)
        # the bias goes into the ReLU pass (relu(y + table)), not into the matmul: addmm
        # would spend a full pass copying the broadcast bias into its output first
        y = torch.mm(h.view(-1, c), weight.t()).view(b, t, v, c)
        y = _add_relu_(y, bias_table.view(1, t, 1, c))
        return _fixed_shift(y, self.shift_out.shift, self.shift_out.stride, scale2, shift2)


class ShiftBlock(nn.Module):
    """One TCN_GCN_unit: relu(temporal(spatial(x)) + residual(x))."""

    def __init__(self, c_in: int, c_out: int, num_joints: int, stride: int, residual: bool, grad_rule: str):
        super().__init__()
        self.gcn = ShiftGraphConv(c_in, c_out, num_joints)
        self.tcn = ShiftTemporalConv(c_out, stride, grad_rule)
        if not residual:
            self.residual = None
        elif c_in == c_out and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = PointwiseBN(c_in, c_out, stride)

    def forward(self, x):
        y = self.tcn(self.gcn(x))
        if self.residual is None:
            return F.relu(y)  # not in place: y is a view (of bn2's output), see ShiftTemporalConv
        return _add_relu(y, self.residual(x))

    def fold(self, num_frames: int):
        res = self.residual.fold() if isinstance(self.residual, PointwiseBN) else None
        return self.gcn.fold(), self.tcn.fold(num_frames), res

    def forward_folded(self, x, folded):
        gcn, tcn, res = folded
        y = self.tcn.forward_folded(self.gcn.forward_folded(x, gcn), tcn)
        if self.residual is None:
            return y.relu_()
        return _add_relu_(y, x if res is None else self.residual.forward_folded(x, res))


def _cpu_autocast_dtype(x: torch.Tensor):
    """The lower-precision dtype when `x` is on CPU inside `torch.autocast("cpu")`, else None."""
    if x.device.type == "cpu" and torch.is_autocast_enabled("cpu"):
        return torch.get_autocast_dtype("cpu")
    return None


def _cast_folded(folded, dtype):
    """The folded parameters (nested tuples/lists of tensors and None) cast to `dtype`.

    Autocast casts only the inputs of matmuls; the folded path's shifts, gathers and in-place
    adds take tensors of one dtype (several write with `out=`), so under CPU autocast the
    whole folded trunk runs in the autocast dtype: folding is done in float32 from the live
    parameters, then the results are rounded once here."""
    if isinstance(folded, torch.Tensor):
        return folded.to(dtype)
    if isinstance(folded, (tuple, list)):
        return type(folded)(_cast_folded(f, dtype) for f in folded)
    return folded


class ShiftGCN(nn.Module):
    """The 10-block Shift-GCN joint model; input (N, 3, T, V, M).

    `forward(x)` returns class logits; `extract(x)` returns (pooled (N, 4*width),
    map (N, T/4, V, 4*width)) where the map is the last block's output averaged over bodies
    (Neuron's `cube_feature`) and pooled its mean over frames and joints.

    Inference (eval mode with autograd off, e.g. under `torch.inference_mode()`) takes a
    faster, mathematically identical path: the batch is processed `eval_chunk` samples at a
    time, so each block's activations stay in the CPU's last-level cache (the forward is
    memory-bound: at batch 128 one block's activation is ~100 MB, at 16 samples ~13 MB, and
    a 2-core EPYC has 32 MB L3), and with `fold_bn` every BatchNorm is folded into a
    neighbouring op. `eval_chunk=0` and `fold_bn=False` switch them off (tests compare).
    """

    arch = "shiftgcn"

    def __init__(self, num_classes: int, num_joints: int = 25, num_bodies: int = 2, in_channels: int = 3,
                 width: int = 64, num_blocks: int = 10, shift_grad: str = "upstream",
                 eval_chunk: int = 16, fold_bn: bool = True):
        super().__init__()
        self.num_joints, self.num_bodies, self.in_channels = num_joints, num_bodies, in_channels
        self.eval_chunk, self.fold_bn = eval_chunk, fold_bn
        self.data_bn = _bn(num_bodies * num_joints * in_channels, kind=nn.BatchNorm1d)
        plan = block_plan(num_blocks, width)
        plan[0] = (in_channels, plan[0][1], plan[0][2])
        self.blocks = nn.ModuleList(
            ShiftBlock(ci, co, num_joints, s, residual=(i > 0), grad_rule=shift_grad)
            for i, (ci, co, s) in enumerate(plan))
        self.feature_dim = plan[-1][1]
        self.fc = nn.Linear(self.feature_dim, num_classes)
        nn.init.normal_(self.fc.weight, 0, math.sqrt(2.0 / num_classes))
        nn.init.zeros_(self.fc.bias)

    def _inference(self) -> bool:
        return not self.training and not torch.is_grad_enabled()

    def _trunk(self, x, folded=None, dtype=None):
        n, c, t, v, m = x.shape
        # data_bn channel order is (body, joint, coordinate), as upstream
        x = x.permute(0, 4, 3, 1, 2).reshape(n, m * v * c, t)
        x = self.data_bn(x)
        x = x.view(n, m, v, c, t).permute(0, 1, 4, 2, 3).reshape(n * m, t, v, c)
        if dtype is not None:  # folded path under CPU autocast: the whole trunk in that dtype
            x = x.to(dtype)
        for i, block in enumerate(self.blocks):
            x = block(x) if folded is None else block.forward_folded(x, folded[i])
        return x.view(n, m, *x.shape[1:]).mean(1)  # (N, T', V, C)

    def _maps(self, x):
        if x.dim() != 5 or (x.shape[1], x.shape[3], x.shape[4]) != (self.in_channels, self.num_joints, self.num_bodies):
            raise ValueError(f"ShiftGCN expects input (N, {self.in_channels}, T, {self.num_joints}, "
                             f"{self.num_bodies}), got {tuple(x.shape)}")
        if not self._inference():
            return self._trunk(x)
        folded, dtype = None, None
        if self.fold_bn:  # once per call, shared by all micro-batches
            frames, folded = x.shape[2], []
            for block in self.blocks:
                folded.append(block.fold(frames))
                frames //= block.tcn.shift_out.stride
            dtype = _cpu_autocast_dtype(x)
            if dtype is not None:
                folded = _cast_folded(folded, dtype)
        if self.eval_chunk <= 0 or x.shape[0] <= self.eval_chunk:
            return self._trunk(x, folded, dtype)
        return torch.cat([self._trunk(part, folded, dtype) for part in x.split(self.eval_chunk)])

    def extract(self, x):
        fmap = self._maps(x)
        if fmap.dtype in (torch.bfloat16, torch.float16):  # autocast: pool with float32 sums
            return fmap.mean(dim=(1, 2), dtype=torch.float32), fmap
        return fmap.mean(dim=(1, 2)), fmap

    def forward(self, x):
        return self.fc(self.extract(x)[0])
