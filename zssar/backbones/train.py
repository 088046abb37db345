"""Seen-only pre-training of a backbone, with resume, progress bars and seen validation.

Only samples of the protocol's training partition whose class is seen are used; a seeded
`val_fraction` of them is held out to report seen-class validation accuracy each epoch.
The last epoch's full state (weights, optimizer, AMP scaler, history) is saved atomically
after every epoch, so an interrupted run resumes where it stopped; augmentation draws come
from (seed, epoch, sample) so a resumed run sees exactly the data it would have seen.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from zssar import __version__
from zssar.backbones.checkpoint import _plain, save_checkpoint
from zssar.backbones.config import BackboneConfig, autocast, build_model, cpu_amp_dtype, cpu_threads
from zssar.backbones.transforms import SkeletonTransform
from zssar.data.dataset import SkeletonDataset
from zssar.io import atomic_path, sha256_json, write_json

FINAL = "backbone.pt"
RESUME = "last.pt"


def resolve_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available")
    return device


def num_bodies_of(ds: SkeletonDataset) -> int:
    m = ds.manifest.get("num_bodies")
    return int(m) if m else int(ds.joints(0).shape[3]) if len(ds) else 1


class TransformedSamples(torch.utils.data.Dataset):
    """Positions of `ds` -> (transformed joints tensor, target index); picklable for workers."""

    def __init__(self, ds: SkeletonDataset, positions: np.ndarray, targets: np.ndarray,
                 transform: SkeletonTransform, seed: int, epoch: int):
        self.ds, self.positions, self.targets = ds, positions, targets
        self.transform, self.seed, self.epoch = transform, seed, epoch

    def __len__(self):
        return len(self.positions)

    def __getitem__(self, i):
        pos = int(self.positions[i])
        rng = np.random.default_rng([self.seed, self.epoch, pos]) if self.transform.randomized else None
        return torch.from_numpy(self.transform(self.ds.joints(pos), rng)), int(self.targets[i])


def loader(ds, positions, targets, transform, cfg: BackboneConfig, epoch: int, batch_size: int,
           shuffle: bool, device: str):
    order = np.arange(len(positions))
    if shuffle:
        order = np.random.default_rng([cfg.seed, epoch, 7919]).permutation(len(positions))
    data = TransformedSamples(ds, positions[order], targets[order], transform, cfg.seed, epoch)
    return torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=False, num_workers=cfg.num_workers,
                                       pin_memory=device.startswith("cuda"), drop_last=False)


def lr_at(cfg: BackboneConfig, epoch: int) -> float:
    """Step schedule with optional linear warm-up (upstream `adjust_learning_rate`)."""
    if epoch < cfg.warmup_epochs:
        return cfg.lr * (epoch + 1) / cfg.warmup_epochs
    return cfg.lr * cfg.lr_gamma ** int(np.sum(epoch >= np.asarray(cfg.lr_steps, dtype=float)))


def training_positions(ds: SkeletonDataset, train_mask: np.ndarray, seen: Sequence[int],
                       val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, val) positions: training-partition samples of seen classes, seeded hold-out."""
    train_mask = np.asarray(train_mask, dtype=bool)
    if train_mask.shape != (len(ds),):
        raise ValueError(f"train_mask has shape {train_mask.shape}, expected ({len(ds)},) for dataset {ds.name}")
    pos = np.flatnonzero(train_mask & np.isin(ds.labels, np.asarray(list(seen))))
    if len(pos) == 0:
        raise ValueError(f"{ds.name}: no training samples of the seen classes; nothing to pre-train on")
    perm = np.random.default_rng([seed, 104729]).permutation(pos)
    n_val = int(round(val_fraction * len(pos))) if len(pos) >= 10 else 0
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def pretrain(ds: SkeletonDataset, train_mask: np.ndarray, seen: Sequence[int], cfg: BackboneConfig,
             out_dir: str | Path, *, device: str = "cpu", log: logging.Logger | None = None,
             extra_meta: dict | None = None, on_epoch_end: Callable[[int, dict], None] | None = None) -> Path:
    """Pre-train on seen classes only; returns the final checkpoint path (reused if present)."""
    final = Path(out_dir) / FINAL
    if final.is_file():
        return final
    with cpu_threads(cfg.num_threads):
        return _pretrain(ds, train_mask, seen, cfg, Path(out_dir), device=device,
                         log=log or logging.getLogger("zssar.backbones"), extra_meta=extra_meta,
                         on_epoch_end=on_epoch_end)


def _pretrain(ds, train_mask, seen, cfg: BackboneConfig, out_dir: Path, *, device, log, extra_meta,
              on_epoch_end) -> Path:
    final = out_dir / FINAL
    device = resolve_device(device)
    use_amp = cfg.amp and device.startswith("cuda")
    class_ids = sorted(int(c) for c in seen)
    lut = np.full(ds.num_classes, -1, dtype=np.int64)
    lut[class_ids] = np.arange(len(class_ids))
    train_pos, val_pos = training_positions(ds, train_mask, class_ids, cfg.val_fraction, cfg.seed)
    bodies = num_bodies_of(ds)
    train_tf = SkeletonTransform(cfg.window, bodies, train=True, random_rotation=cfg.random_rotation)
    eval_tf = SkeletonTransform(cfg.window, bodies, train=False)

    torch.manual_seed(cfg.seed)
    model = build_model(cfg, len(class_ids), ds.layout, bodies).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
                          weight_decay=cfg.weight_decay)
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    run_key = sha256_json({"config": _plain(cfg.identity()), "seen": class_ids, "train": train_pos, "val": val_pos})
    start, history = 0, []
    resume = out_dir / RESUME
    if resume.is_file():
        state = torch.load(resume, map_location="cpu", weights_only=True)
        if state.get("run_key") != run_key:
            log.warning("%s belongs to another configuration; starting over", resume)
        else:
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            scaler.load_state_dict(state["scaler"])
            start, history = int(state["epoch"]), list(state["history"])
            log.info("resuming %s pre-training at epoch %d/%d", cfg.arch, start + 1, cfg.epochs)

    amp_note = " (mixed precision)" if use_amp else (
        f" ({cfg.cpu_amp} mixed precision)" if cpu_amp_dtype(cfg, device) is not None else "")
    log.info("pre-training %s on %d seen classes: %d train / %d val samples, %d epochs, device %s%s",
             cfg.arch, len(class_ids), len(train_pos), len(val_pos), cfg.epochs, device, amp_note)
    t0 = time.perf_counter()
    for epoch in tqdm(range(start, cfg.epochs), desc=f"{cfg.arch} epochs", initial=start, total=cfg.epochs,
                      leave=False):
        lr = lr_at(cfg, epoch)
        for group in opt.param_groups:
            group["lr"] = lr
        model.train()
        seen_n, loss_sum, correct = 0, 0.0, 0
        batches = loader(ds, train_pos, lut[ds.labels[train_pos]], train_tf, cfg, epoch, cfg.batch_size,
                         True, device)
        for x, y in tqdm(batches, desc=f"epoch {epoch + 1}", leave=False):
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            with autocast(cfg, device):  # CUDA float16 (amp) or CPU bfloat16 (cpu_amp), else off
                logits = model(x)
                loss = F.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            seen_n += len(y)
            loss_sum += float(loss.detach()) * len(y)
            correct += int((logits.argmax(1) == y).sum())
        record = {"epoch": epoch + 1, "lr": lr, "train_loss": loss_sum / max(seen_n, 1),
                  "train_acc": 100.0 * correct / max(seen_n, 1)}
        if len(val_pos):
            record["val_acc"] = evaluate(model, ds, val_pos, lut[ds.labels[val_pos]], eval_tf, cfg, device)
        history.append(record)
        log.info("epoch %d/%d lr %.4g loss %.4f train acc %.1f%%%s", epoch + 1, cfg.epochs, lr,
                 record["train_loss"], record["train_acc"],
                 f" seen-val acc {record['val_acc']:.1f}%" if "val_acc" in record else "")
        state = {"run_key": run_key, "epoch": epoch + 1, "history": history, "model": model.state_dict(),
                 "optimizer": opt.state_dict(), "scaler": scaler.state_dict()}
        with atomic_path(resume) as tmp:
            torch.save(state, tmp)
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1, record)

    meta = {"arch": cfg.arch, "config": _plain(cfg.identity()), "class_ids": class_ids, "trained_on_seen": class_ids,
            "num_classes": ds.num_classes, "dataset": ds.name, "layout": ds.layout.name,
            "num_joints": ds.layout.num_joints, "num_bodies": bodies, "feature_dim": model.feature_dim,
            "num_train": int(len(train_pos)), "num_val": int(len(val_pos)),
            "val_acc": history[-1].get("val_acc") if history else None, "epochs_done": len(history),
            "history": history, "train_seconds_this_run": time.perf_counter() - t0,
            "source": "zssar-pretrain", "code_version": __version__, **(extra_meta or {})}
    save_checkpoint(final, model.state_dict(), meta)
    write_json(out_dir / "train_log.json", meta)
    resume.unlink(missing_ok=True)
    return final


@torch.inference_mode()
def evaluate(model, ds, positions, targets, transform, cfg: BackboneConfig, device: str) -> float:
    """Top-1 accuracy (percent) over `positions` with the deterministic evaluation transform."""
    model.eval()
    correct = 0
    for x, y in loader(ds, positions, targets, transform, cfg, 0, cfg.eval_batch_size, False, device):
        with autocast(cfg, device):
            correct += int((model(x.to(device)).argmax(1).cpu() == y).sum())
    return 100.0 * correct / max(len(positions), 1)
