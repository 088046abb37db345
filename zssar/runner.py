"""The benchmark runner: one (method, dataset, protocol, split, seed) run at a time.

A run, in order:

1. resolve everything that determines the result (method config + overrides, backbone
   config, text encoder, split, data hash, seed) and hash it into a ``run_key``; a finished
   run with the same key is skipped;
2. **calibration world** (honest GZSL protocol): a backbone and a fresh method are trained
   on the seen classes minus the split's ``validation_unseen`` classes, using training
   subjects only; γ for calibrated stacking is chosen there (never on test data) and saved
   (``calibration.json``) so an interrupted run resumes past it;
3. **main world**: the split's backbone (seen classes only) and the method are trained on
   the seen classes of the training partition; ZSL is evaluated on unseen test samples
   (candidates = unseen classes), GZSL on all test samples (candidates = all classes) with
   the calibration γ; the oracle γ (tuned on test, as upstream code does) is stored apart;
4. ``result.json``, ``config.json`` and ``preds.npz`` are written atomically.

A **tuned run** (``zssar bench --tune-grid``, see zssar/tune.py) is a run whose config was chosen
on its own split's validation classes; it carries a ``tuning`` block, lives in its own folder
``<base config hash>-tuned-<spec hash>`` and its run key adds that name. Its calibration world is
the one its selection already scored for the chosen config (the untuned folder of that config).
Untuned runs keep exactly their folder, config hash and run key.
"""
from __future__ import annotations

import dataclasses
import logging
import random
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from zssar import __version__, paths
from zssar.io import read_json, save_npz, sha256_json, write_json
from zssar.splits import Split

SCHEMA_VERSION = 1
VALIDATION_HOLDOUT = 0.2  # fraction of val-seen training samples held out to score γ

log = logging.getLogger("zssar.runner")


@dataclass
class RunOptions:
    method: str
    dataset: str = "synthetic"
    protocol: str | None = None
    seed: int = 0
    device: str = "auto"
    method_overrides: dict[str, str] = field(default_factory=dict)
    backbone_overrides: dict[str, str] = field(default_factory=dict)
    text_encoder: str = "minilm"
    text_pack: str | None = None   # a user YAML semantic pack (overrides shipped sources)
    limit: int | None = None       # at most this many samples per partition (non-reportable)
    force: bool = False
    calibration: str = "validation"  # "validation" (honest) or "none"


@dataclass
class RunOutcome:
    run_dir: Path
    result: dict
    skipped: bool


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def seed_everything(seed: int) -> None:
    import torch
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


@contextmanager
def _timer(timing: dict, key: str):
    t0 = time.perf_counter()
    try:
        yield
    finally:
        timing[key] = round(timing.get(key, 0.0) + time.perf_counter() - t0, 3)


@contextmanager
def _run_log(path: Path):
    """Send every zssar log record of this run to `path` too."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode="a")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("zssar")
    root.addHandler(handler)
    previous = root.level
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
        handler.close()


def _limit(idx: np.ndarray, limit: int | None, rng: np.random.Generator) -> np.ndarray:
    if limit is None or len(idx) <= limit:
        return idx
    return np.sort(rng.choice(idx, size=limit, replace=False))


def run_dir_for(opts: RunOptions, split: Split, protocol: str, config_hash: str) -> Path:
    return (paths.results_dir() / "runs" / f"{opts.dataset}-{protocol}" / split.name.replace("/", "_")
            / opts.method / config_hash / f"seed{opts.seed}")


# --------------------------------------------------------------------------------------
# the run
# --------------------------------------------------------------------------------------
def tuned_folder(tuning: dict) -> str:
    """Folder name of a tuned run: the untuned config the grid varies + the tuning spec. It never
    equals a config hash (12 hex digits), so tuned and untuned runs never share a folder."""
    return f"{tuning['base_config_hash']}-tuned-{tuning['spec_hash']}"


class Run:
    """Everything one run needs, resolved once."""

    def __init__(self, opts: RunOptions, split: Split, ds=None, tuning: dict | None = None):
        from methods.base import apply_overrides, config_to_dict
        from methods.registry import get_method
        from zssar.data.registry import load_dataset, partition
        from zssar.env import resolve_device

        self.opts = opts
        self.split = split
        self.method_cls = get_method(opts.method)
        config = self.method_cls.default_config(opts.dataset)
        self.config = apply_overrides(config, opts.method_overrides, opts.method)
        self.ds = ds if ds is not None else load_dataset(opts.dataset)
        if split.dataset != self.ds.name:
            raise ValueError(f"split {split.name!r} ({split.source}) is for dataset {split.dataset!r}, "
                             f"not {self.ds.name!r}")
        if split.num_classes != self.ds.num_classes:
            raise ValueError(f"split {split.name!r}: num_classes {split.num_classes} but dataset "
                             f"{self.ds.name} has {self.ds.num_classes}")
        self.train_mask, self.test_mask = partition(self.ds, opts.protocol)
        from zssar.data.registry import DATASETS, dataset_module
        self.protocol = opts.protocol or (
            dataset_module(self.ds.name).DEFAULT_PROTOCOL if self.ds.name in DATASETS
            else self.ds.manifest.get("default_protocol") or next(iter(self.ds.manifest.get("protocols", {"all": 0}))))
        self.device, self.device_reason = resolve_device(opts.device)
        # a method may adapt what it needs to its config (e.g. which text source)
        self.probe = self.method_cls(self.config, device=self.device, seed=opts.seed)
        self.requires = self.probe.requires
        self.backbone_cfg = None
        if self.requires.features or self.requires.maps:
            from zssar.backbones.features import backbone_config
            self.backbone_cfg = backbone_config(opts.dataset, opts.backbone_overrides)
        self.method_config = config_to_dict(self.config)
        identity = {
            "method": {"name": opts.method, "version": self.method_cls.version, "config": self.method_config},
            # identity(): opt-in fields (backbone.cpu_amp) appear only when set, so existing
            # run records keep their config hash and run key
            "backbone": self.backbone_cfg.identity() if self.backbone_cfg else None,
            "text_encoder": opts.text_encoder,
            "text_pack": _pack_identity(opts.text_pack),
            "calibration": opts.calibration,
        }
        self.config_hash = sha256_json(identity)[:12]
        from zssar.text.packs import load_sources, text_sha256
        # loaded once: the run key, the methods' ClassText and the provenance record all use it
        self.use_precomputed = opts.text_encoder == "precomputed"
        self.text = load_sources(self.ds.name, self.ds.class_names, self.requires.text_sources, opts.text_pack)
        # the text itself, not just its source names: editing a pack or a generator's text
        # must invalidate finished runs (the directory stays; the run is recomputed)
        self.text_sha256 = text_sha256(self.text[0], self.text[1] if self.use_precomputed else None)
        # side information a method reads by itself (SkeletonContext's context pack) counts too;
        # methods without any add no field, so their run keys are unchanged
        own_text = self.probe.identity_text(self.ds.name, list(self.ds.class_names))
        self.method_text_sha256 = sha256_json(own_text) if own_text else None
        key_fields = {
            **identity, "schema_version": SCHEMA_VERSION, "dataset": self.ds.name, "text_sha256": self.text_sha256,
            **({"method_text_sha256": self.method_text_sha256} if self.method_text_sha256 else {}),
            "data_sha256": self.ds.data_sha256, "protocol": self.protocol, "split": split.sha256,
            "seed": opts.seed, "limit": opts.limit,
        }
        # The calibration world depends only on the final config, not on how it was chosen: a
        # tuned run reuses the world its selection scored for that config (the untuned folder).
        self.world_key = sha256_json(key_fields)
        self.world_dir = run_dir_for(opts, split, self.protocol, self.config_hash)
        self.tuning = tuning
        if tuning is None:  # untuned: folder and key exactly as before tuned runs existed
            self.run_key, self.dir = self.world_key, self.world_dir
        else:
            folder = tuned_folder(tuning)
            self.run_key = sha256_json({**key_fields, "tuning": folder})
            self.dir = run_dir_for(opts, split, self.protocol, folder)
        self.identity = identity

    # -- skip logic ----------------------------------------------------------------------
    def finished(self) -> dict | None:
        path = self.dir / "result.json"
        if not path.is_file():
            return None
        try:
            result = read_json(path)
        except ValueError:
            return None
        if result.get("run_key") == self.run_key and result.get("status") in ("complete", "limited"):
            return result
        return None

    # -- worlds --------------------------------------------------------------------------
    def _features(self, seen):
        if self.backbone_cfg is None:
            return None
        from zssar.backbones.features import get_features
        return get_features(self.ds, self.train_mask, list(seen), cfg=self.backbone_cfg, device=self.device,
                            need_maps=self.requires.maps, log=log)

    def _data(self, idx: np.ndarray, feats):
        import torch

        from methods.base import MethodData
        data = MethodData(sample_ids=self.ds.sample_ids[idx],
                          labels=torch.as_tensor(self.ds.labels[idx], dtype=torch.long),
                          layout=self.ds.layout)
        if feats is not None:
            if self.requires.features:
                data.features = torch.from_numpy(np.asarray(feats.pooled[idx], dtype=np.float32))
            if self.requires.maps:
                data.maps = torch.from_numpy(np.asarray(feats.maps[idx], dtype=np.float32))
        if self.requires.raw:
            data.raw = self.ds.subset(idx)
        return data

    def _new_method(self):
        seed_everything(self.opts.seed)
        return self.method_cls(self.config, device=self.device, seed=self.opts.seed, log=log)

    def _fit(self, method, train, seen_text, all_text):
        if method.leaks_unseen_text:
            log.warning("%s trains with unseen-class text (upstream behaviour); the result is flagged",
                        self.opts.method)
            return method.fit(train, seen_text, all_text) or {}
        return method.fit(train, seen_text) or {}

    def _class_text(self, encoder):
        from zssar.text.packs import class_text
        return class_text(self.ds.name, self.ds.class_names, range(self.ds.num_classes),
                          self.requires.text_sources, encoder, use_precomputed=self.use_precomputed, loaded=self.text)

    def cached_calibration(self) -> dict | None:
        """The calibration world saved by an earlier (interrupted, tuning or untuned) run of
        this exact config, or None."""
        cache = self.world_dir / "calibration.json"
        if cache.is_file():
            saved = read_json(cache)
            if saved.get("run_key") == self.world_key and "val_zsl" in saved:
                log.info("calibration: reusing %s", cache)
                return saved
        return None

    def calibrate(self, encoder, all_text, rng, timing) -> dict:
        """Honest γ: chosen in a world where the validation classes play unseen."""
        from zssar import metrics
        saved = self.cached_calibration()
        if saved is not None:
            return saved
        val_unseen = sorted(self.split.validation_unseen)  # sorted: searchsorted maps labels to columns
        val_seen = [c for c in self.split.seen if c not in set(val_unseen)]
        labels = self.ds.labels
        with _timer(timing, "calibration_s"):
            feats = self._features(val_seen)
            pool = np.flatnonzero(self.train_mask & np.isin(labels, val_seen))
            holdout = np.zeros(len(pool), bool)
            for c in val_seen:  # stratified: the same fraction of every val-seen class
                members = np.flatnonzero(labels[pool] == c)
                k = int(round(len(members) * VALIDATION_HOLDOUT))
                if len(members) > 1 and k == 0:
                    k = 1
                holdout[rng.permutation(members)[:k]] = True
            fit_idx = _limit(pool[~holdout], self.opts.limit, rng)
            eval_idx = np.concatenate([pool[holdout],
                                       np.flatnonzero(self.train_mask & np.isin(labels, val_unseen))])
            eval_idx = _limit(np.sort(eval_idx), self.opts.limit, rng)
            method = self._new_method()
            self._fit(method, self._data(fit_idx, feats), all_text.subset(val_seen), all_text)
            candidates = list(self.split.seen)
            pred = method.predict(self._data(eval_idx, feats), all_text.subset(candidates))
            cols = np.searchsorted(candidates, labels[eval_idx])
            seen_cols = np.isin(candidates, val_seen)
            out = {"run_key": self.world_key, "val_seen": val_seen, "val_unseen": val_unseen,
                   "n_fit": int(len(fit_idx)), "n_eval": int(len(eval_idx)), "heads": {}}
            out["gamma"], out["val_h"] = metrics.select_gamma(pred.scores, cols, seen_cols)
            # validation ZSL: the held-out classes among themselves, the quantity `zssar tune`
            # selects hyper-parameters on (test classes and test subjects are never seen here)
            zsl_idx = eval_idx[np.isin(labels[eval_idx], val_unseen)]
            zsl_pred = method.predict(self._data(zsl_idx, feats), all_text.subset(val_unseen))
            zsl_cols = np.searchsorted(val_unseen, labels[zsl_idx])
            out["val_zsl"] = metrics.topk_accuracy(zsl_pred.scores, zsl_cols, 1)
            for head, scores in pred.heads.items():
                g, h = metrics.select_gamma(scores, cols, seen_cols)
                out["heads"][head] = {"gamma": g, "val_h": h}
                if head in zsl_pred.heads:
                    out["heads"][head]["val_zsl"] = metrics.topk_accuracy(zsl_pred.heads[head], zsl_cols, 1)
        out["gamma"], out["val_h"], out["val_zsl"] = float(out["gamma"]), float(out["val_h"]), float(out["val_zsl"])
        write_json(self.world_dir / "calibration.json", out)
        log.info("calibration: gamma=%.4f (validation H=%.2f, ZSL=%.2f on %d samples)", out["gamma"], out["val_h"],
                 out["val_zsl"], out["n_eval"])
        return out

    def execute(self) -> dict:
        from zssar import metrics
        from zssar.env import environment
        from zssar.text.encoders import get_encoder

        opts, split, ds = self.opts, self.split, self.ds
        timing: dict[str, float] = {}
        t_start = time.perf_counter()
        rng = np.random.default_rng(opts.seed)
        log.info("run %s | %s-%s | split %s | seed %d | device %s (%s)", opts.method, ds.name, self.protocol,
                 split.name, opts.seed, self.device, self.device_reason)
        encoder = get_encoder(opts.text_encoder, device=self.device)
        all_text = self._class_text(encoder)
        write_json(self.dir / "config.json", {**self.identity, "options": dataclasses.asdict(opts),
                                              "split": split.to_dict(), "protocol": self.protocol})

        errors = []
        calib = None
        if opts.calibration == "validation":
            if split.validation_unseen:
                calib = self.calibrate(encoder, all_text, rng, timing)
            else:
                errors.append(f"split {split.name} has no validation_unseen: honest GZSL calibration skipped")
        labels = ds.labels
        seen, unseen = list(split.seen), list(split.unseen)
        with _timer(timing, "backbone_s"):
            feats = self._features(seen)
        train_idx = _limit(np.flatnonzero(self.train_mask & np.isin(labels, seen)), opts.limit, rng)
        test_idx = _limit(np.flatnonzero(self.test_mask), opts.limit, rng)
        zsl_idx = test_idx[np.isin(labels[test_idx], unseen)]
        if len(zsl_idx) == 0:
            raise ValueError(f"split {split.name}: no test samples of unseen classes under protocol "
                             f"{self.protocol}")
        method = self._new_method()
        with _timer(timing, "train_s"):
            fit_stats = self._fit(method, self._data(train_idx, feats), all_text.subset(seen), all_text)
        with _timer(timing, "eval_s"):
            zsl_pred = method.predict(self._data(zsl_idx, feats), all_text.subset(unseen))
            all_classes = list(range(ds.num_classes))
            gzsl_pred = method.predict(self._data(test_idx, feats), all_text.subset(all_classes))
        zsl_cols = np.searchsorted(unseen, labels[zsl_idx])
        gzsl_cols = labels[test_idx]
        seen_cols = np.isin(all_classes, seen)

        m = dict(metrics.zsl_metrics(zsl_pred.scores, zsl_cols))
        unc = metrics.gzsl_metrics(gzsl_pred.scores, gzsl_cols, seen_cols, 0.0)
        m.update({k.replace("gzsl_", "gzsl_uncalibrated_"): v for k, v in unc.items() if k != "gzsl_gamma"})
        if calib is not None:
            m.update(metrics.gzsl_metrics(gzsl_pred.scores, gzsl_cols, seen_cols, calib["gamma"]))
        else:
            m.update({"gzsl_seen": None, "gzsl_unseen": None, "gzsl_h": None, "gzsl_gamma": None})
        m["gzsl_ausuc"] = metrics.ausuc(gzsl_pred.scores, gzsl_cols, seen_cols)
        g_or, _ = metrics.select_gamma(gzsl_pred.scores, gzsl_cols, seen_cols)
        # paper protocol: γ tuned on the test set itself; stored apart, always labelled oracle
        m["oracle"] = metrics.gzsl_metrics(gzsl_pred.scores, gzsl_cols, seen_cols, g_or)
        extra = {}
        for head in zsl_pred.heads:
            extra[f"{head}_zsl_top1"] = metrics.topk_accuracy(zsl_pred.heads[head], zsl_cols, 1)
            if calib is not None and head in calib["heads"] and head in gzsl_pred.heads:
                gh = metrics.gzsl_metrics(gzsl_pred.heads[head], gzsl_cols, seen_cols, calib["heads"][head]["gamma"])
                extra[f"{head}_gzsl_h"] = gh["gzsl_h"]
        extra.update(method.extra_metrics(zsl_pred, zsl_cols, all_text.subset(unseen)))
        m["extra"] = extra
        if split.tiers:
            tiers = {}
            zsl_labels = labels[zsl_idx]
            for tier in sorted(set(split.tiers.values())):
                members = [c for c, t in split.tiers.items() if t == tier]
                mask = np.isin(zsl_labels, members)
                if mask.any():
                    tiers[tier] = metrics.topk_accuracy(zsl_pred.scores[mask], zsl_cols[mask], 1)
            m["tiers"] = tiers

        per_class = {}
        zsl_acc = metrics.per_class_accuracy(zsl_pred.scores, zsl_cols, len(unseen))
        gzsl_calibrated = gzsl_pred.scores - (calib["gamma"] if calib else 0.0) * seen_cols[None, :]
        gzsl_acc = metrics.per_class_accuracy(gzsl_calibrated, gzsl_cols, len(all_classes))
        counts = np.bincount(gzsl_cols, minlength=len(all_classes))
        for c in all_classes:
            if counts[c] == 0:
                continue
            entry = {"name": ds.class_names[c], "n": int(counts[c]), "seen": bool(seen_cols[c]),
                     "gzsl_acc": _num(gzsl_acc[c])}
            if c in unseen:
                entry["zsl_acc"] = _num(zsl_acc[unseen.index(c)])
            per_class[str(c)] = entry

        save_npz(self.dir / "preds.npz", sample_ids=ds.sample_ids[test_idx], labels=labels[test_idx],
                 zsl_sample_idx=np.searchsorted(test_idx, zsl_idx), zsl_scores=zsl_pred.scores.astype(np.float32),
                 zsl_class_ids=np.asarray(unseen), gzsl_sample_idx=np.arange(len(test_idx)),
                 gzsl_scores=gzsl_pred.scores.astype(np.float32), gzsl_class_ids=np.asarray(all_classes),
                 **{f"head_{h}_gzsl_scores": s.astype(np.float32) for h, s in gzsl_pred.heads.items()})
        timing["total_s"] = round(time.perf_counter() - t_start, 3)
        status = "limited" if opts.limit else ("partial" if errors else "complete")
        result = {
            "schema_version": SCHEMA_VERSION,
            "run_key": self.run_key,
            "status": status,
            "errors": errors,
            "method": {"name": opts.method, "version": self.method_cls.version, "paper": self.method_cls.paper,
                       "config": self.method_config, "config_hash": self.config_hash,
                       "uses_unseen_text": bool(method.leaks_unseen_text),
                       "tags": list(getattr(self.method_cls, "tags", ())), "fit": _jsonable(fit_stats)},
            "dataset": {"name": ds.name, "version": ds.manifest.get("version", ds.manifest.get("code_version")),
                        "protocol": self.protocol, "data_sha256": ds.data_sha256,
                        "synthetic": bool(ds.manifest.get("synthetic", False)),
                        "n_train": int(len(train_idx)), "n_test": int(len(test_idx)), "n_zsl_test": int(len(zsl_idx))},
            "split": {"name": split.name, "family": split.family, "version": split.version, "sha256": split.sha256,
                      "seen": seen, "unseen": unseen, "validation_unseen": list(split.validation_unseen),
                      "tiers": {str(k): v for k, v in split.tiers.items()}},
            "seed": opts.seed,
            "metrics": m,
            "calibration": calib,
            # how the config was chosen (tuned runs only: untuned result.json files are unchanged)
            **({"tuning": self.tuning} if self.tuning is not None else {}),
            "per_class": per_class,
            "text_encoder": {**encoder.describe(), "sources": list(self.requires.text_sources),
                             "provenance": self.text[2],
                             "text_pack": self.identity["text_pack"], "text_sha256": self.text_sha256,
                             **({"method_text_sha256": self.method_text_sha256} if self.method_text_sha256 else {})},
            "backbone": feats.info if feats is not None else None,
            "env": environment(self.device),
            "timing": timing,
            "zssar_version": __version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        write_json(self.dir / "result.json", _jsonable(result))
        return result


def _pack_identity(path: str | None) -> dict | None:
    """A user text pack is part of a run's identity through its content hash."""
    if not path:
        return None
    from zssar.io import sha256_file
    return {"path": str(path), "sha256": sha256_file(path)}


def _num(x) -> float | None:
    return None if x is None or (isinstance(x, float) and np.isnan(x)) else float(x)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, float) and np.isnan(obj):
        return None
    return obj


def run_one(opts: RunOptions, split: Split, ds=None, tuning: dict | None = None) -> RunOutcome:
    """One run; `tuning` (a tuned run's selection record, zssar/tune.py) goes into result.json."""
    run = Run(opts, split, ds, tuning)
    done = None if opts.force else run.finished()
    if done is not None:
        log.info("skip: %s already finished (run_key %s…); --force to recompute", run.dir, run.run_key[:12])
        return RunOutcome(run.dir, done, skipped=True)
    # run.dir, not run.world_dir: a tuned run's world was just re-scored by its selection
    if opts.force and (run.dir / "calibration.json").exists():
        (run.dir / "calibration.json").unlink()
    with _run_log(run.dir / "run.log"):
        result = run.execute()
    return RunOutcome(run.dir, result, skipped=False)
