"""The runner-facing API: seen-only backbone + per-sample features, cached on disk.

    feats = get_features(ds, train_mask, split.seen, cfg=backbone_config("ntu60"))
    feats.pooled  # (N, D) float32, row i = ds sample i
    feats.maps    # (N, T', V, C) or None

Cache layout under `zssar.paths.cache_dir()/backbones/<dataset>/`:

    <arch>-<checkpoint key>/backbone.pt       the seen-only checkpoint (+ last.pt while training,
                                              train_log.json)
    features/<feature key>/pooled.npy         (N, D) float32
    features/<feature key>/maps.npy           (N, T', V, C) float16 (once maps were asked for)
    features/<feature key>/info.json

The checkpoint key hashes the training config, the seen classes, the data and the training
partition; the feature key hashes the checkpoint file, the transform settings and the data
(and the sample ids of `ds`). A second method on the same split therefore loads both from
disk; changed data or a changed checkpoint give new keys, so stale entries are never read.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from tqdm.auto import tqdm

from zssar import paths
from zssar.backbones.checkpoint import _plain, check_no_leakage, load_checkpoint
from zssar.backbones.config import BackboneConfig, autocast, backbone_config, build_model, cpu_amp_dtype, cpu_threads, validate_config  # noqa: F401 (re-exported for the runner)
from zssar.backbones.train import loader, num_bodies_of, pretrain, resolve_device
from zssar.backbones.transforms import SkeletonTransform
from zssar.data.dataset import SkeletonDataset
from zssar.io import atomic_path, read_json, sha256_bytes, sha256_file, sha256_json, write_json


@dataclass
class Features:
    pooled: np.ndarray              # (N, D) float32, row i = ds sample i (memmap ok)
    maps: np.ndarray | None         # (N, T', V, C) float16/float32, averaged over bodies (memmap ok)
    info: dict                      # {id, arch, checkpoint_sha256, trained_on_seen, data_sha256, config,
                                    #  transform, cache_hit, ...}


# -- identities ----------------------------------------------------------------------------
def data_fingerprint(ds: SkeletonDataset) -> str:
    """Identity of the samples `ds` holds: the prepared data's hash plus the sample ids and
    labels of this view. In-memory datasets (no manifest) are hashed by content."""
    if ds.manifest.get("shards") or ds.manifest.get("data_sha256"):
        base = ds.data_sha256
    else:
        h = hashlib.sha256()
        for i in range(len(ds)):
            h.update(np.ascontiguousarray(ds.joints(i), dtype=np.float32).tobytes())
        base = "content:" + h.hexdigest()
    ids = sha256_bytes("\n".join(map(str, ds.sample_ids)).encode())
    return sha256_json({"data": base, "ids": ids, "labels": sha256_bytes(ds.labels.astype(np.int64).tobytes())})


def partition_fingerprint(ds: SkeletonDataset, train_mask: np.ndarray) -> str:
    ids = sorted(map(str, ds.sample_ids[np.asarray(train_mask, dtype=bool)]))
    return sha256_bytes("\n".join(ids).encode())


def backbones_root(ds: SkeletonDataset) -> Path:
    return paths.cache_dir() / "backbones" / ds.name


def checkpoint_dir(ds: SkeletonDataset, train_mask, seen, cfg: BackboneConfig, data_sha: str | None = None) -> Path:
    """Where the seen-only checkpoint of (data, partition, seen classes, training config) lives."""
    key = sha256_json({"training": _plain(cfg.training_key()), "seen": sorted(int(c) for c in seen),
                       "data": data_sha or data_fingerprint(ds),
                       "partition": partition_fingerprint(ds, train_mask),
                       "layout": ds.layout.name, "bodies": num_bodies_of(ds)})
    return backbones_root(ds) / f"{cfg.arch}-{key[:16]}"


# -- the runner's call ------------------------------------------------------------------------
def get_features(ds: SkeletonDataset, train_mask: np.ndarray, seen: Sequence[int], *, cfg: BackboneConfig,
                 device: str = "cpu", need_maps: bool = False, log: logging.Logger | None = None) -> Features:
    """Features of every sample of `ds` from a backbone pre-trained on `train_mask & seen` only."""
    log = log or logging.getLogger("zssar.backbones")
    validate_config(cfg)
    device = resolve_device(device)
    t0 = time.perf_counter()
    data_sha = data_fingerprint(ds)
    part_sha = partition_fingerprint(ds, train_mask)
    if cfg.checkpoint:
        ckpt = Path(cfg.checkpoint).expanduser()
    else:
        ckpt = pretrain(ds, train_mask, seen, cfg, checkpoint_dir(ds, train_mask, seen, cfg, data_sha),
                        device=device, log=log,
                        extra_meta={"data_sha256": data_sha, "train_partition_sha256": part_sha})
    unseen = sorted(set(range(ds.num_classes)) - {int(c) for c in seen})
    feats = extract_cached(ds, ckpt, cfg=cfg, device=device, need_maps=need_maps, log=log,
                           data_sha=data_sha, unseen=unseen, train_partition_sha256=part_sha)
    feats.info["seconds"] = time.perf_counter() - t0
    return feats


def extract_cached(ds: SkeletonDataset, checkpoint: str | Path, *, cfg: BackboneConfig, device: str = "cpu",
                   need_maps: bool = False, log: logging.Logger | None = None, data_sha: str | None = None,
                   unseen: Sequence[int] = (), train_partition_sha256: str | None = None) -> Features:
    """Features of `ds` from one checkpoint, through the cache (after the leakage guard)."""
    log = log or logging.getLogger("zssar.backbones")
    checkpoint = Path(checkpoint)
    meta, state = load_checkpoint(checkpoint)
    data_sha = data_sha or data_fingerprint(ds)
    check_no_leakage(meta, unseen=unseen, data_sha256=data_sha, train_partition_sha256=train_partition_sha256,
                     where=str(checkpoint))
    if meta["num_joints"] != ds.layout.num_joints:
        raise ValueError(f"{checkpoint}: backbone has {meta['num_joints']} joints, dataset {ds.name} has "
                         f"{ds.layout.num_joints}")
    ckpt_sha = sha256_file(checkpoint)
    transform = SkeletonTransform(cfg.window, int(meta["num_bodies"]), train=False,
                                  random_rotation=cfg.random_rotation, test_time_random=cfg.test_time_random)
    identity = {"checkpoint": ckpt_sha, "transform": transform.settings(), "data": data_sha,
                "seed": cfg.seed if transform.randomized else None, "maps_dtype": cfg.maps_dtype}
    if cpu_amp_dtype(cfg, device) is not None:  # bf16 features differ; float32 keys stay as they were
        identity["cpu_amp"] = cfg.cpu_amp
    key = sha256_json(identity)
    folder = backbones_root(ds) / "features" / key[:16]
    info = {"id": f"{meta['arch']}:{ckpt_sha[:16]}", "arch": meta["arch"], "checkpoint": str(checkpoint),
            "checkpoint_sha256": ckpt_sha, "trained_on_seen": list(meta["trained_on_seen"]),
            "data_sha256": data_sha, "config": _plain(cfg.identity()), "checkpoint_config": meta["config"],
            "transform": transform.settings(), "source": meta.get("source"), "val_acc": meta.get("val_acc"),
            "feature_dim": meta.get("feature_dim"), "cache_dir": str(folder)}
    cached = _load(folder, len(ds), need_maps)
    if cached is not None:
        log.info("backbone features: cache hit %s", folder)
        return Features(cached[0], cached[1], {**info, "cache_hit": True})
    log.info("backbone features: extracting %d samples with %s", len(ds), info["id"])
    model = build_model(dataclasses.replace(cfg, arch=meta["arch"], width=meta["config"]["width"],
                                            num_blocks=meta["config"]["num_blocks"]),
                        len(meta["class_ids"]), ds.layout, int(meta["num_bodies"]))
    model.load_state_dict(state)
    with cpu_threads(cfg.num_threads):
        pooled, maps = extract(model.to(device), ds, transform, cfg, device, folder, need_maps)
    write_json(folder / "info.json", {**info, "num_samples": len(ds), "has_maps": maps is not None})
    return Features(pooled, maps, {**info, "cache_hit": False})


def _load(folder: Path, n: int, need_maps: bool):
    if not (folder / "info.json").is_file() or not (folder / "pooled.npy").is_file():
        return None
    info = read_json(folder / "info.json")
    if info.get("num_samples") != n or (need_maps and not (folder / "maps.npy").is_file()):
        return None
    pooled = np.load(folder / "pooled.npy", mmap_mode="r", allow_pickle=False)
    maps = np.load(folder / "maps.npy", mmap_mode="r", allow_pickle=False) if need_maps else None
    return pooled, maps


@torch.inference_mode()
def extract(model, ds: SkeletonDataset, transform: SkeletonTransform, cfg: BackboneConfig, device: str,
            folder: Path, need_maps: bool):
    """Stream features into memory-mapped .npy files, published by atomic renames."""
    if len(ds) == 0:
        raise ValueError(f"{ds.name}: no samples to extract features from")
    model.eval()
    folder.mkdir(parents=True, exist_ok=True)
    positions = np.arange(len(ds))
    batches = loader(ds, positions, np.zeros(len(ds), dtype=np.int64), transform, cfg, 0,
                     cfg.eval_batch_size, False, device)
    with contextlib.ExitStack() as stack:
        p_tmp = stack.enter_context(atomic_path(folder / "pooled.npy"))
        m_tmp = stack.enter_context(atomic_path(folder / "maps.npy")) if need_maps else None
        pooled = np.lib.format.open_memmap(p_tmp, mode="w+", dtype=np.float32, shape=(len(ds), model.feature_dim))
        maps, row = None, 0
        for x, _ in tqdm(batches, desc="extract", leave=False):
            with autocast(cfg, device):  # CUDA float16 (amp) or CPU bfloat16 (cpu_amp), else off
                p, fmap = model.extract(x.to(device, non_blocking=True))
            if need_maps and maps is None:
                maps = np.lib.format.open_memmap(m_tmp, mode="w+", dtype=np.dtype(cfg.maps_dtype),
                                                 shape=(len(ds), *fmap.shape[1:]))
            pooled[row:row + len(x)] = p.float().cpu().numpy()
            if maps is not None:
                maps[row:row + len(x)] = fmap.float().cpu().numpy()
            row += len(x)
        pooled.flush()
        del pooled
        if maps is not None:
            maps.flush()
            del maps
    pooled = np.load(folder / "pooled.npy", mmap_mode="r", allow_pickle=False)
    maps = np.load(folder / "maps.npy", mmap_mode="r", allow_pickle=False) if need_maps else None
    return pooled, maps
