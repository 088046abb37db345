"""Backbone configuration: every value in one dataclass, per-dataset defaults, overrides."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

ARCHS = ("shiftgcn", "stgcn")


@dataclass(frozen=True)
class BackboneConfig:
    arch: str = "shiftgcn"           # or "stgcn"
    window: int = 64                 # frames after valid-frame crop + resize
    epochs: int = 140                # Shift-GCN schedule (config/nturgbd-cross-subject/train_joint.yaml)
    batch_size: int = 64
    eval_batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    lr_steps: tuple = (60, 80, 100)  # epochs at which the lr is multiplied by lr_gamma
    lr_gamma: float = 0.1
    warmup_epochs: int = 0           # linear warm-up from lr/warmup_epochs (CTR-GCN style), 0 = off
    width: int = 64                  # base channels (upstream 64 -> 128 -> 256)
    num_blocks: int = 10
    shift_grad: str = "upstream"     # Shift-GCN shift-amount gradient: "upstream" (0.01*sign) or "exact"
    random_rotation: bool = True
    test_time_random: bool = False   # upstream-style random crop/rotation at extraction too
    val_fraction: float = 0.1        # seen training samples held out for seen-class validation
    amp: bool = True                 # mixed precision, used only on CUDA
    cpu_amp: str = "off"             # mixed precision on CPU, training and extraction: "off" (float32)
                                     # or "bf16" (torch.autocast bfloat16: matmuls in bf16, parameters,
                                     # BN statistics, shift amounts, optimizer state and stored features
                                     # stay float32; ~2x faster Shift-GCN on CPUs with native bf16,
                                     # see docs/backbones.md). Not part of any identity while "off".
    num_workers: int = 0             # DataLoader workers for the feeder transforms
    num_threads: int = 0             # torch CPU threads while training/extracting; 0 = leave as is
                                     # (1 is much faster than 2 on a CPU shared with other jobs)
    maps_dtype: str = "float16"      # storage of the (T', V, C) maps in the feature cache
    checkpoint: str = ""             # use this checkpoint instead of pre-training (e.g. imported upstream)
    seed: int = 0

    def identity(self) -> dict:
        """The config as a dict for every hash and record (run identity, checkpoint meta,
        resume key): all fields, except opt-in fields left at their default, so adding such a
        field did not change the identity of any existing configuration (cached checkpoints,
        features and run records stay valid)."""
        defaults = {f.name: f.default for f in dataclasses.fields(self) if f.name in OPT_IN_FIELDS}
        return {k: v for k, v in dataclasses.asdict(self).items() if not (k in defaults and v == defaults[k])}

    def training_key(self) -> dict:
        """Fields that change the trained weights (part of the checkpoint cache key)."""
        skip = {"eval_batch_size", "test_time_random", "num_workers", "num_threads", "maps_dtype", "checkpoint", "amp"}
        return {k: v for k, v in self.identity().items() if k not in skip}


# Fields added after configurations were first hashed: part of `identity()` (and so of every
# cache key and run record) only when set away from their default.
OPT_IN_FIELDS = frozenset({"cpu_amp"})
CPU_AMP_DTYPES = {"bf16": "bfloat16"}  # backbone.cpu_amp value -> torch dtype name ("off": float32)


# Small and fast on the embedded synthetic data (pre-training + extraction well under a
# minute on 2 CPU cores); the paper schedule (the dataclass defaults) everywhere else.
DATASET_DEFAULTS: dict[str, dict] = {
    "synthetic": dict(window=32, epochs=10, batch_size=16, lr=0.1, lr_steps=(8,), warmup_epochs=0,
                      width=16, num_blocks=4, random_rotation=False, eval_batch_size=256),
    "msr_action3d": dict(window=32, epochs=40, batch_size=32, lr_steps=(30,), warmup_epochs=2,
                         width=32, num_blocks=6),
    # CPU preset: the full-width 10-block schedule (window 52, 60 epochs) costs ~7 min per
    # backbone on 2 cores and a family run trains two backbones per split (main + calibration)
    "nw_ucla": dict(window=32, epochs=30, batch_size=32, lr_steps=(20, 26), warmup_epochs=2,
                    width=16, num_blocks=6),
}


def backbone_config(dataset: str, overrides: dict[str, str] | None = None) -> BackboneConfig:
    """Per-dataset defaults, then type-checked `--set key=value` overrides (keys may be
    prefixed `backbone.`)."""
    from methods.base import apply_overrides

    cfg = dataclasses.replace(BackboneConfig(), **DATASET_DEFAULTS.get(dataset, {}))
    if overrides:
        cfg = apply_overrides(cfg, dict(overrides), "backbone")
        cfg = dataclasses.replace(cfg, lr_steps=tuple(cfg.lr_steps))
    validate_config(cfg)
    return cfg


def validate_config(cfg: BackboneConfig) -> None:
    if cfg.arch not in ARCHS:
        raise ValueError(f"backbone.arch is {cfg.arch!r}; expected one of {', '.join(ARCHS)}")
    if cfg.shift_grad not in ("upstream", "exact"):
        raise ValueError(f"backbone.shift_grad is {cfg.shift_grad!r}; expected 'upstream' or 'exact'")
    if cfg.cpu_amp != "off" and cfg.cpu_amp not in CPU_AMP_DTYPES:
        raise ValueError(f"backbone.cpu_amp is {cfg.cpu_amp!r}; expected 'off' or {', '.join(map(repr, CPU_AMP_DTYPES))}")
    if cfg.maps_dtype not in ("float16", "float32"):
        raise ValueError(f"backbone.maps_dtype is {cfg.maps_dtype!r}; expected 'float16' or 'float32'")
    if not 0.0 <= cfg.val_fraction < 1.0:
        raise ValueError(f"backbone.val_fraction must be in [0, 1), got {cfg.val_fraction}")
    for name in ("window", "epochs", "batch_size", "eval_batch_size", "width"):
        if getattr(cfg, name) < 1:
            raise ValueError(f"backbone.{name} must be >= 1, got {getattr(cfg, name)}")


def build_model(cfg: BackboneConfig, num_classes: int, layout, num_bodies: int):
    """The backbone network for a layout (V joints) and body count M."""
    from zssar.backbones.shiftgcn import ShiftGCN
    from zssar.backbones.stgcn import STGCN

    if cfg.arch == "shiftgcn":
        return ShiftGCN(num_classes, layout.num_joints, num_bodies, width=cfg.width,
                        num_blocks=cfg.num_blocks, shift_grad=cfg.shift_grad)
    if cfg.arch == "stgcn":
        return STGCN(num_classes, layout, num_bodies, width=cfg.width, num_blocks=cfg.num_blocks)
    raise ValueError(f"backbone.arch is {cfg.arch!r}; expected one of {', '.join(ARCHS)}")


def autocast(cfg: BackboneConfig, device: str):
    """The mixed-precision context for a forward pass on `device`: CUDA float16 autocast with
    `amp`, CPU bfloat16 autocast with `cpu_amp="bf16"`, otherwise a disabled one (float32)."""
    import torch

    if device.startswith("cuda"):
        return torch.autocast(device_type="cuda", enabled=cfg.amp)
    dtype = cpu_amp_dtype(cfg, device)
    return torch.autocast(device_type="cpu", dtype=dtype, enabled=dtype is not None)


def cpu_amp_dtype(cfg: BackboneConfig, device: str):
    """The torch dtype CPU autocast runs in, or None (float32, also on every other device)."""
    import torch

    if torch.device(device).type != "cpu" or cfg.cpu_amp == "off":
        return None
    return getattr(torch, CPU_AMP_DTYPES[cfg.cpu_amp])


class cpu_threads:
    """Context manager: run with `n` torch CPU threads (n <= 0: unchanged), then restore."""

    def __init__(self, n: int):
        self.n, self.before = n, None

    def __enter__(self):
        import torch
        if self.n > 0:
            self.before = torch.get_num_threads()
            torch.set_num_threads(self.n)
        return self

    def __exit__(self, *exc):
        import torch
        if self.before is not None:
            torch.set_num_threads(self.before)
