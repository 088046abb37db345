"""FAKE result.json fixtures for the reporter and compare tests.

Every number here is invented test input, written only into pytest tmp dirs; none of it
is a result and none of it may ever be written under results/.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from zssar.io import save_npz, sha256_json, write_json

NTU60_55_5 = [10, 11, 19, 26, 56]
NTU60_48_12 = [3, 5, 9, 12, 15, 40, 42, 47, 51, 56, 58, 59]


def write_run(root: Path, *, dataset="ntu60", protocol="xsub", split="ntu60_55_5", unseen=NTU60_55_5,
              num_classes=60, family=None, method="linear", config=None, seed=0, metrics=None, status="complete",
              tags=(), uses_unseen_text=False, dirty=False, data_sha="fakedata0", data_version="1",
              split_version=1, synthetic=False, tiers=None, text="fake-encoder", per_class=None,
              tuning=None, timing=None, device="cpu", threads=1) -> Path:
    """Write one FAKE result.json in the runner's folder layout and return its folder.
    `tuning`: a FAKE tuning block (`fake_tuning`): the run goes into its tuned folder."""
    from zssar.runner import tuned_folder
    config = dict(config or {"fake": True})
    config_hash = sha256_json({"name": method, "config": config, "text": text})[:12]
    seen = [c for c in range(num_classes) if c not in set(unseen)]
    folder = tuned_folder(tuning) if tuning else config_hash
    run_dir = root / "runs" / f"{dataset}-{protocol}" / split / method / folder / f"seed{seed}"
    result = {
        "schema_version": 1, "run_key": sha256_json([dataset, split, method, config, seed]), "status": status,
        "errors": [] if status == "complete" else ["FAKE failure"],
        "method": {"name": method, "version": "1.0", "paper": "FAKE", "config": config, "config_hash": config_hash,
                   "uses_unseen_text": uses_unseen_text, "tags": list(tags)},
        "dataset": {"name": dataset, "version": data_version, "protocol": protocol, "data_sha256": data_sha,
                    "synthetic": synthetic},
        "split": {"name": split, "family": family, "version": split_version,
                  "sha256": sha256_json([dataset, sorted(unseen), split_version]), "seen": seen,
                  "unseen": list(unseen), "validation_unseen": [], "tiers": tiers or {}},
        "seed": seed, "metrics": metrics or {}, "per_class": per_class or {},
        "text_encoder": {"id": text, "dim": 8, "sources": ["names"]}, "backbone": None,
        "env": {"git_commit": "0000000", "git_dirty": dirty, "hostname": "FAKE", "device": device,
                "num_threads": threads},
        "timing": timing or {}, "created": f"2000-01-01T00:00:{seed:02d}+00:00",
    }
    if tuning:
        result["tuning"] = tuning
    write_json(run_dir / "result.json", result)
    return run_dir


def fake_tuning(grid: dict, chosen: dict, metric="val_zsl", base="abcdef012345", spec="0000fa4e") -> dict:
    """A FAKE tuning block in the runner's shape (values invented)."""
    return {"protocol": "per-split: this split's validation classes, this seed", "grid": grid, "metric": metric,
            "spec_hash": spec, "base_config_hash": base,
            "points": [{"overrides": {k: v}, "config_hash": "fake", "val_zsl": 50.0, "val_h": 40.0}
                       for k, vs in grid.items() for v in vs], "chosen": chosen}


def m(zsl, s, u, h, oracle_h=None, **extra) -> dict:
    """FAKE metrics dict in the runner's nesting."""
    out = {"zsl_top1": zsl, "zsl_top5": min(100.0, zsl + 10), "zsl_mean_class_acc": zsl - 1,
           "gzsl_seen": s, "gzsl_unseen": u, "gzsl_h": h, "gzsl_gamma": 0.5, "gzsl_ausuc": h / 2,
           "oracle": {"gzsl_seen": s + 1, "gzsl_unseen": u + 1, "gzsl_h": oracle_h if oracle_h is not None else h + 1,
                      "gzsl_gamma": 0.25}}
    out.update(extra)
    return out


def write_fake_preds(run_dir: Path, unseen, num_classes: int, seed: int = 0) -> None:
    """A FAKE preds.npz: 40 samples with random scores, enough to draw a calibration curve."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, size=40)
    labels[:5] = unseen[0]  # both seen and unseen test samples
    save_npz(run_dir / "preds.npz", sample_ids=np.arange(40), labels=labels,
             gzsl_scores=rng.normal(size=(40, num_classes)).astype(np.float32),
             gzsl_class_ids=np.arange(num_classes), gzsl_sample_idx=np.arange(40),
             zsl_scores=np.zeros((0, len(unseen)), np.float32), zsl_class_ids=np.asarray(unseen),
             zsl_sample_idx=np.zeros(0, np.int64))


def build_fake_results(root: Path) -> Path:
    """The FAKE results tree the golden files were generated from."""
    # NTU-60 Xsub 55/5 (the STAR/Neuron benchmark): neuron 3 seeds, linear 2 of 3 seeds
    # FAKE timings: totals 10 / 20 / 60 s (median 20, IQR [15, 40]); seed 2 reused its calibration world
    timings = [{"calibration_s": 4.0, "backbone_s": 1.0, "train_s": 4.0, "eval_s": 1.0, "total_s": 10.0},
               {"calibration_s": 6.0, "backbone_s": 2.0, "train_s": 10.0, "eval_s": 2.0, "total_s": 20.0},
               {"backbone_s": 3.0, "train_s": 50.0, "eval_s": 7.0, "total_s": 60.0}]
    for seed, (z, s, u) in enumerate([(80, 70, 60), (82, 72, 62), (84, 74, 64)]):
        write_run(root, method="neuron", config={"spatial_compression": True, "epochs": 5}, seed=seed,
                  metrics=m(z, s, u, 2 * s * u / (s + u)), timing=timings[seed],
                  per_class={"10": {"name": "FAKE class 10", "zsl_acc": 50.0 + seed, "gzsl_acc": 40.0, "n": 3},
                             "11": {"name": "FAKE class 11", "zsl_acc": 90.0, "gzsl_acc": 80.0, "n": 3}})
    for seed, z in enumerate([40.0, 44.0]):
        d = write_run(root, method="linear", seed=seed, metrics=m(z, 80, 10, 17.8), dirty=(seed == 1),
                      per_class={"10": {"name": "FAKE class 10", "zsl_acc": 30.0, "gzsl_acc": 20.0, "n": 3}})
        if seed == 0:
            write_fake_preds(d, NTU60_55_5, 60)
    write_run(root, method="star", seed=0, tags=("reconstructed",), uses_unseen_text=True, metrics=m(75, 60, 50, 54.5))
    # NTU-60 Xsub 48/12: linear has 3 seeds here, so its 55/5 cells show n=2/3
    for seed in range(3):
        write_run(root, split="ntu60_48_12", unseen=NTU60_48_12, method="linear", seed=seed,
                  metrics=m(20.0 + seed, 70, 5, 9.3))
    # a random-splits family of 3 members: neuron on all 3, linear on 2
    rng = np.random.default_rng(0)
    members = [sorted(rng.choice(60, 5, replace=False).tolist()) for _ in range(3)]
    for i, unseen in enumerate(members):
        for method, zsl in (("neuron", 60.0 + 5 * i), ("linear", 30.0 + i)):
            if method == "linear" and i == 2:
                continue
            config = {"spatial_compression": True, "epochs": 5} if method == "neuron" else None
            write_run(root, split=f"fake_random_{i}", family="fake_random", unseen=unseen, method=method,
                      config=config, metrics=m(zsl, 50, 40, 44.4))
    # a synthetic dataset with novelty tiers and an ablation of a boolean switch
    for seed in range(2):
        for method, config, z in (("neuron", {"spatial_compression": True, "epochs": 5}, 70.0 + seed),
                                  ("neuron", {"spatial_compression": False, "epochs": 5}, 65.0 + seed),
                                  ("linear", None, 50.0 + 2 * seed)):
            write_run(root, dataset="synthetic", protocol="default", split="synthetic_tiers", unseen=[0, 1, 2, 3],
                      num_classes=12, method=method, config=config, seed=seed, synthetic=True,
                      tiers={"0": "easy", "1": "easy", "2": "hard", "3": "hard"},
                      metrics=m(z, 90, 40, 55.4, tiers={"easy": z + 10, "hard": z - 10}))
    # runs that must never enter tables
    write_run(root, method="linear", seed=7, status="limited", metrics=m(99, 99, 99, 99))
    write_run(root, method="linear", seed=8, status="partial", metrics=m(99, 99, 99, 99))
    return root
