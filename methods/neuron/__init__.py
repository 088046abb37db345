"""Neuron: context-aware evolving spatial-temporal micro-prototypes (Chen et al., CVPR 2025).

The plugin (config, fit, predict, oracle metric); the network lives in `methods/neuron/model.py`.
Importing this module does not import torch (method listing stays light).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from methods.base import ClassText, Method, MethodData, Prediction, Requirements
from methods.training import make_optimizer, train_minibatches

TEMPORAL_SOURCES = ("temporal_1", "temporal_2", "temporal_3")
TEXT_SOURCES = ("spatial_coarse", "spatial_medium", "spatial_fine") + TEMPORAL_SOURCES


@dataclass
class Config:
    # -- micro-prototypes (paper §4.3 and upstream: N_s = N_t = 80)
    num_spatial_attributes: int = 80
    num_temporal_attributes: int = 80
    # fraction of attributes dropped per joint in phases 1-3 (upstream keeps 60/40/20 of 80)
    spatial_drop_schedule: tuple[float, ...] = (0.25, 0.5, 0.75)
    temporal_windows: str = "prefix"   # prefix (upstream) | segments (paper Eq. 3 wording)
    # text of temporal phase e: upstream aligns the cumulative window [0, eT/3) with embeddings
    # of the cumulative description ("fsp"/"fstp" files). "cumulative": mean of the phase 1..e
    # embeddings (for packs whose temporal_k sentences describe phase k alone: ours, and the
    # re-encoded upstream sentence files); "as_given": each source as is; "auto": as_given for
    # upstream's precomputed (already cumulative) embeddings, cumulative otherwise
    temporal_text: str = "auto"
    # cosine multiplier inside the CE: upstream uses 0.1 (kept for NTU/PKU); with a few hundred
    # CPU-sized steps 0.1 does not train at all. The generic default, 10, was chosen over 20 on the
    # synthetic family's VALIDATION classes, re-tuned on the corrected synthetic text (val ZSL
    # 91.6 +- 7.2 vs 88.2 +- 8.4; fusion weight 0.5 kept over 0.8 / 1.0; record
    # results/tuned/synthetic/neuron.yaml). v1.1 used 20 (chosen on the earlier text).
    logit_scale: float = 10.0
    # -- mechanisms (ablation switches; paper Table 6)
    spatial_compression: bool = True
    temporal_memory: bool = True
    granularity_update: bool = True    # False: every spatial phase aligned with spatial_fine
    phase_evolving: bool = True        # False: every temporal phase sees the whole clip, temporal_3 text
    # -- prediction: fused score = w * spatial + (1 - w) * temporal (final phase cosines)
    spatial_fusion_weight: float = 0.5
    # -- optimisation (upstream: SGD nesterov 0.9, lr 0.1, wd 5e-4, batch 64, 30 epochs)
    optimizer: str = "sgd"             # sgd | adamw
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 64
    epochs: int = 20
    # CPU default: constant lr (no x0.1 steps), chosen over steps at 10/16 on the synthetic
    # family's VALIDATION classes (val ZSL 92.4 +- 5.0 vs 91.6 +- 7.2; record
    # results/tuned/synthetic/neuron.schedule.yaml); NTU/PKU keep upstream's steps
    lr_milestones: tuple[int, ...] = ()
    lr_decay: float = 0.1


class Neuron(Method):
    name = "neuron"
    # 1.1: cumulative temporal phase text (temporal_text); 1.2: logit_scale 20 -> 10 and no lr
    # steps on CPU (re-tuned on the corrected synthetic text)
    version = "1.2"
    paper = ("Chen, Guo, Guo, Tao. Neuron: Learning context-aware evolving representations for "
             "zero-shot skeleton action recognition. CVPR 2025")
    Config = Config
    requires = Requirements(features=False, maps=True, text_sources=TEXT_SOURCES)
    # upstream configs: ntu60 55/5 steps [4, 20], pku 46/5 steps [8, 20]; ntu120 has no released
    # config, the paper's schedule (x0.1 at epochs 10 and 20) is used
    DATASET_DEFAULTS = {
        "ntu60": dict(epochs=30, lr_milestones=(4, 20), logit_scale=0.1),
        "ntu120": dict(epochs=30, lr_milestones=(10, 20), logit_scale=0.1),
        "pku_mmd1": dict(epochs=30, lr_milestones=(8, 20), logit_scale=0.1),
    }

    def _texts(self, text: ClassText) -> dict:
        import torch
        out = {s: text.embed(s).float() for s in TEXT_SOURCES}
        mode = self.config.temporal_text
        if mode not in ("auto", "cumulative", "as_given"):
            raise ValueError(f"neuron.temporal_text must be auto, cumulative or as_given, got {mode!r}")
        if mode == "cumulative" or (mode == "auto" and not any(s in text.precomputed for s in TEMPORAL_SOURCES)):
            phase_means = [out[s].mean(1) for s in TEMPORAL_SOURCES]   # (C, D) per phase
            for e, s in enumerate(TEMPORAL_SOURCES):
                out[s] = torch.stack(phase_means[:e + 1]).mean(0).unsqueeze(1)  # (C, 1, D)
        return out

    def fit(self, train: MethodData, seen_text: ClassText, all_text: ClassText | None = None) -> dict:
        import torch

        from methods.neuron.model import NeuronNet, neuron_loss

        cfg = self.config
        if train.maps is None:
            raise ValueError("neuron needs the backbone's spatial-temporal maps (requires.maps)")
        if len(cfg.spatial_drop_schedule) != 3 or not all(0 <= r < 1 for r in cfg.spatial_drop_schedule):
            raise ValueError(f"neuron.spatial_drop_schedule must hold 3 fractions in [0, 1), "
                             f"got {cfg.spatial_drop_schedule}")
        torch.manual_seed(self.seed)
        dev = self.device
        maps = train.maps.float()
        y = seen_text.column_of(train.labels)
        texts = {k: v.to(dev) for k, v in self._texts(seen_text).items()}  # seen classes only
        net = NeuronNet(cfg, maps.shape[-1], next(iter(texts.values())).shape[-1]).to(dev)
        opt = make_optimizer(net, cfg, "neuron")
        sched = torch.optim.lr_scheduler.MultiStepLR(opt, list(cfg.lr_milestones), cfg.lr_decay)
        history = train_minibatches(
            opt, sched, len(maps), cfg.batch_size, cfg.epochs,
            lambda b: neuron_loss(net, maps[b].to(dev), y[b].to(dev), texts, cfg),
            device=dev, seed=self.seed, desc="neuron")
        self.net = net.eval()
        last = history[-1] if history else {}
        return {"epochs": cfg.epochs, "final_loss": sum(last.values()) if last else None,
                **{f"final_loss_{k}": v for k, v in last.items()}}

    def predict(self, test: MethodData, candidates: ClassText) -> Prediction:
        import torch

        from methods.neuron.model import phase_logits
        texts = {k: v.to(self.device) for k, v in self._texts(candidates).items()}
        spatial, temporal = [], []
        with torch.inference_mode():
            for i in range(0, len(test), 256):
                sp, tp = phase_logits(self.net, test.maps[i:i + 256].float().to(self.device), texts)
                spatial.append(sp[-1].float().cpu())   # the final (fine / whole-clip) phase, Eq. 9-10
                temporal.append(tp[-1].float().cpu())
        empty = torch.zeros(0, len(candidates))
        s = (torch.cat(spatial) if spatial else empty).numpy().astype(np.float32)
        t = (torch.cat(temporal) if temporal else empty).numpy().astype(np.float32)
        w = self.config.spatial_fusion_weight
        # a real decision: one fused cosine score per class (cosines share a scale, so γ applies)
        return Prediction(w * s + (1 - w) * t, heads={"spatial": s, "temporal": t})

    def extra_metrics(self, pred: Prediction, labels: np.ndarray, candidates: ClassText) -> dict[str, float]:
        """Upstream's reported rule: a sample counts as correct when EITHER branch is right.

        An oracle (it looks at the label to pick the branch), kept only to compare with the
        paper's numbers; `labels` are column indices into `candidates`. In percent.
        """
        if "spatial" not in pred.heads or "temporal" not in pred.heads or len(labels) == 0:
            return {}
        labels = np.asarray(labels)
        hit_s = pred.heads["spatial"].argmax(1) == labels
        hit_t = pred.heads["temporal"].argmax(1) == labels
        return {"oracle_either_head_zsl_top1": 100.0 * float(np.mean(hit_s | hit_t))}  # percent, like the runner


