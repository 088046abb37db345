"""Backbone checkpoint format, the leakage guard and the import of upstream Shift-GCN weights.

A checkpoint is a `torch.save`d dict of tensors and plain Python values only, so it loads
with `torch.load(..., weights_only=True)` (never unpickling arbitrary objects):

    {"format": "zssar-backbone", "format_version": 1,
     "meta": {arch, config, class_ids, trained_on_seen, num_classes (dataset), dataset,
              layout, num_joints, num_bodies, feature_dim, data_sha256,
              train_partition_sha256, num_train, num_val, val_acc, epochs_done, source,
              code_version},
     "state_dict": {...}}

`trained_on_seen` is the exact set of classes whose samples the weights have seen; the
guard refuses to use the checkpoint for a split where any of them is unseen.
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import torch

from zssar.io import atomic_path, sha256_file

FORMAT = "zssar-backbone"
FORMAT_VERSION = 1
log = logging.getLogger("zssar.backbones")


class LeakageError(ValueError):
    """A backbone would be used on a split whose unseen classes (or test samples) it has seen."""


# -- save / load ---------------------------------------------------------------------------
def save_checkpoint(path: str | Path, state_dict: dict, meta: dict) -> str:
    """Write atomically; returns the file's sha256 (the checkpoint's identity)."""
    path = Path(path)
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, "meta": _plain(meta),
               "state_dict": {k: v.detach().cpu() for k, v in state_dict.items()}}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return sha256_file(path)


def load_checkpoint(path: str | Path) -> tuple[dict, dict]:
    """(meta, state_dict) of a zssar backbone checkpoint, validated."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: backbone checkpoint not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # corrupt file or a pickle with arbitrary objects
        raise ValueError(f"{path}: not a loadable backbone checkpoint ({e})") from e
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path}: field 'format' is not {FORMAT!r}; if this is an upstream Shift-GCN "
                         f"checkpoint, convert it with `zssar backbone import`")
    if payload.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path}: field 'format_version' is {payload.get('format_version')}, "
                         f"this code reads {FORMAT_VERSION}")
    meta = payload.get("meta")
    for key in ("arch", "config", "trained_on_seen", "class_ids", "num_joints", "num_bodies"):
        if not isinstance(meta, dict) or key not in meta:
            raise ValueError(f"{path}: field 'meta.{key}' missing")
    return meta, payload["state_dict"]


def _plain(obj):
    """JSON-like copy (tuples -> lists, numpy scalars -> Python) for weights_only loading."""
    if dataclasses.is_dataclass(obj):
        obj = dataclasses.asdict(obj)
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


# -- leakage guard -------------------------------------------------------------------------
def check_no_leakage(meta: dict, *, unseen, data_sha256: str | None = None,
                     train_partition_sha256: str | None = None, where: str = "backbone checkpoint") -> None:
    """Refuse a checkpoint whose training saw an unseen class or this dataset's test samples.

    - classes: `meta.trained_on_seen` must not meet the split's unseen classes;
    - data: when both sides know it, the checkpoint's data hash must be this dataset's, and
      its training partition (protocol) must be this run's, otherwise the weights may have
      seen test samples. Imported upstream checkpoints carry no data hash: only the class
      check applies and a warning says so.
    """
    leaked = sorted(set(int(c) for c in meta["trained_on_seen"]) & set(int(c) for c in unseen))
    if leaked:
        raise LeakageError(
            f"{where}: refusing to use this backbone: it was trained on classes {leaked}, which are "
            f"unseen in this split (trained_on_seen has {len(meta['trained_on_seen'])} classes). "
            f"Pre-train a backbone on this split's seen classes instead (`zssar backbone train`).")
    theirs = meta.get("data_sha256")
    if theirs and data_sha256 and theirs != data_sha256:
        raise LeakageError(
            f"{where}: refusing to use this backbone: it was trained on data {theirs[:12]}, "
            f"this dataset is {data_sha256[:12]}; its training samples cannot be checked against "
            f"this run's test samples")
    theirs = meta.get("train_partition_sha256")
    if theirs and train_partition_sha256 and theirs != train_partition_sha256:
        raise LeakageError(
            f"{where}: refusing to use this backbone: it was trained on another training partition "
            f"(protocol) of this dataset, so it may have seen this run's test samples")
    if not meta.get("data_sha256"):
        log.warning("%s: no data hash recorded (source %s); only the class set could be checked",
                    where, meta.get("source", "?"))


# -- upstream Shift-GCN import ---------------------------------------------------------------
_PREFIXES = ("module.", "feature_extractor.", "model.", "encoder.")
_XPOS_TOLERANCE = 1e-3  # upstream's joint-axis shift: initialised at +-1e-8, gradient forced to 0


def _strip_prefixes(state: dict) -> dict:
    out = {}
    for k, v in state.items():
        changed = True
        while changed:
            changed = False
            for p in _PREFIXES:
                if k.startswith(p):
                    k, changed = k[len(p):], True
        out[k] = v
    return out


def upstream_to_zssar(upstream: dict, where: str = "upstream checkpoint") -> tuple[dict, dict]:
    """Map a kchengiva/Shift-GCN (or Neuron `Model`) state dict onto `ShiftGCN`'s names.

    Returns (state_dict, shape info {num_classes, num_joints, num_bodies, width, num_blocks}).
    Raises ValueError naming the key when the layout cannot be mapped.
    """
    from zssar.backbones.graph import spatial_shift_index

    up = _strip_prefixes(dict(upstream))
    if "l1.gcn1.Linear_weight" not in up:
        raise ValueError(f"{where}: key 'l1.gcn1.Linear_weight' not found; not a Shift-GCN joint model "
                         f"state dict (keys start: {sorted(up)[:5]})")
    blocks = sorted({int(k.split(".")[0][1:]) for k in up if k.startswith("l") and k.split(".")[0][1:].isdigit()})
    if blocks != list(range(1, len(blocks) + 1)):
        raise ValueError(f"{where}: block keys l1..lN are not contiguous: {blocks}")
    num_joints = up["l1.gcn1.Feature_Mask"].shape[1]
    width = up["l1.gcn1.Linear_weight"].shape[1]
    in_channels = up["l1.gcn1.Linear_weight"].shape[0]
    num_bodies = up["data_bn.weight"].shape[0] // (num_joints * in_channels)
    out: dict[str, torch.Tensor] = {}
    used = set()

    def take(key):
        if key not in up:
            raise ValueError(f"{where}: key {key!r} missing")
        used.add(key)
        return up[key]

    def copy_bn(src, dst):
        for name in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
            if f"{src}.{name}" in up:
                out[f"{dst}.{name}"] = take(f"{src}.{name}")

    copy_bn("data_bn", "data_bn")
    for i in blocks:
        u, z = f"l{i}", f"blocks.{i - 1}"
        w = take(f"{u}.gcn1.Linear_weight")
        c_in, c_out = w.shape
        out[f"{z}.gcn.weight"] = w
        out[f"{z}.gcn.bias"] = take(f"{u}.gcn1.Linear_bias").reshape(-1)
        out[f"{z}.gcn.feature_mask"] = take(f"{u}.gcn1.Feature_Mask").reshape(num_joints, c_in)
        for name, direction, c in (("shift_in", +1, c_in), ("shift_out", -1, c_out)):
            key = f"{u}.gcn1.{name}"
            if key in up:
                expected = torch.from_numpy(spatial_shift_index(num_joints, c, direction))
                if not torch.equal(take(key).long().reshape(-1), expected):
                    raise ValueError(f"{where}: {key} is not the standard non-local shift permutation")
        copy_bn(f"{u}.gcn1.bn", f"{z}.gcn.bn")
        if f"{u}.gcn1.down.0.weight" in up:
            out[f"{z}.gcn.down.linear.weight"] = take(f"{u}.gcn1.down.0.weight").reshape(c_out, c_in)
            out[f"{z}.gcn.down.linear.bias"] = take(f"{u}.gcn1.down.0.bias")
            copy_bn(f"{u}.gcn1.down.1", f"{z}.gcn.down.bn")
        copy_bn(f"{u}.tcn1.bn", f"{z}.tcn.bn")
        copy_bn(f"{u}.tcn1.bn2", f"{z}.tcn.bn2")
        for name in ("shift_in", "shift_out"):
            xpos = take(f"{u}.tcn1.{name}.xpos")
            if xpos.abs().max() > _XPOS_TOLERANCE:
                raise ValueError(f"{where}: {u}.tcn1.{name}.xpos reaches {float(xpos.abs().max()):.3g}; "
                                 f"the joint-axis shift is not modelled (upstream keeps it ~1e-8)")
            out[f"{z}.tcn.{name}.shift"] = take(f"{u}.tcn1.{name}.ypos").reshape(-1)
        out[f"{z}.tcn.linear.weight"] = take(f"{u}.tcn1.temporal_linear.weight").reshape(c_out, c_out)
        out[f"{z}.tcn.linear.bias"] = take(f"{u}.tcn1.temporal_linear.bias")
        if f"{u}.residual.conv.weight" in up:
            out[f"{z}.residual.linear.weight"] = take(f"{u}.residual.conv.weight").reshape(c_out, c_in)
            out[f"{z}.residual.linear.bias"] = take(f"{u}.residual.conv.bias")
            copy_bn(f"{u}.residual.bn", f"{z}.residual.bn")
    out["fc.weight"], out["fc.bias"] = take("fc.weight"), take("fc.bias")
    unused = sorted(set(up) - used)
    if unused:
        raise ValueError(f"{where}: keys not understood (not a plain Shift-GCN joint model?): {unused[:8]}")
    info = {"num_classes": int(out["fc.weight"].shape[0]), "num_joints": int(num_joints),
            "num_bodies": int(num_bodies), "width": int(width), "num_blocks": len(blocks),
            "in_channels": int(in_channels)}
    return {k: v.detach().clone().float() if v.is_floating_point() else v.clone() for k, v in out.items()}, info


def import_upstream(src: str | Path, dst: str | Path, *, trained_on_seen, dataset: str, layout,
                    cfg=None) -> tuple[str, dict]:
    """Convert an upstream Shift-GCN `.pt` into a zssar checkpoint; returns (sha256, meta).

    `trained_on_seen` must be the classes the upstream weights were trained on (for
    Neuron's released checkpoints: the seen classes of the split they were released for).
    """
    from zssar import __version__
    from zssar.backbones.config import BackboneConfig
    from zssar.backbones.shiftgcn import ShiftGCN

    src = Path(src)
    try:
        raw = torch.load(src, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ValueError(f"{src}: cannot be loaded with weights_only=True ({e})") from e
    if isinstance(raw, dict):
        for key in ("state_dict", "model", "model_state_dict", "weights"):
            if isinstance(raw.get(key), dict):
                raw = raw[key]
                break
    state, info = upstream_to_zssar(raw, where=str(src))
    if info["num_joints"] != layout.num_joints:
        raise ValueError(f"{src}: has {info['num_joints']} joints, layout {layout.name} has {layout.num_joints}")
    seen = sorted(int(c) for c in trained_on_seen)
    if info["num_classes"] != len(seen):
        raise ValueError(f"{src}: classifier has {info['num_classes']} outputs but {len(seen)} seen "
                         f"classes were declared")
    cfg = dataclasses.replace(cfg or BackboneConfig(), arch="shiftgcn", width=info["width"],
                              num_blocks=info["num_blocks"])
    model = ShiftGCN(info["num_classes"], info["num_joints"], info["num_bodies"], info["in_channels"],
                     width=info["width"], num_blocks=info["num_blocks"])
    model.load_state_dict(state, strict=True)  # proves every tensor found its place and shape
    meta = {"arch": "shiftgcn", "config": _plain(cfg.identity()), "class_ids": seen, "trained_on_seen": seen,
            "dataset": dataset, "layout": layout.name, "num_joints": info["num_joints"],
            "num_bodies": info["num_bodies"], "feature_dim": model.feature_dim, "data_sha256": None,
            "train_partition_sha256": None, "source": f"upstream:{src.name}",
            "source_sha256": sha256_file(src), "code_version": __version__}
    sha = save_checkpoint(dst, model.state_dict(), meta)
    return sha, meta
