"""How much class information the backbone outputs hold, per view a method can read.

    python benchmarks/feature_probe.py [--dataset synthetic] [--split synthetic_default] \
        [--max-splits N] [--seeds 0] [--md results/tables/feature_probe_synthetic.md]

Every method reads the same cached backbone of a split: its pooled feature (`linear`) or its
spatial-temporal map (T' time steps x V joints x C channels; the method plugins). This trains
the `linear` baseline (its default config) on three views of those outputs:

- pooled: mean over time and joints — what `linear` reads (C);
- time:   one vector per time step, joints pooled (T' x C);
- joint:  one vector per joint, time pooled (V x C).

`seen_only` is top-1 of the seen-class test samples among the seen classes only: how well the
seen classes can be fitted from that view, to hold against the methods' own `seen_only` column
in benchmarks/synthetic_confusions.py. `zsl` is top-1 of the unseen test samples among the unseen
classes. Mean ± standard error over splits (each split averaged over its seeds). A probe, not a
method: no validation-chosen settings, nothing here is a benchmark row.
"""
from __future__ import annotations

import argparse

import numpy as np

VIEWS = ("pooled", "time", "joint")


def view(maps: np.ndarray, name: str) -> np.ndarray:
    """maps (N, T', V, C) -> (N, D) for one view."""
    if name == "pooled":
        return maps.mean((1, 2))
    if name == "time":
        return maps.mean(2).reshape(len(maps), -1)
    if name == "joint":
        return maps.mean(1).reshape(len(maps), -1)
    raise ValueError(f"unknown view {name!r}, expected one of {VIEWS}")


def probe_split(split, seed: int, dataset: str, backbone_overrides: dict | None = None,
                views=VIEWS) -> list[dict]:
    """Rows (split, seed, view, seen_only, zsl) for one split and seed."""
    import torch

    from methods.base import MethodData
    from methods.baselines import Linear, LinearConfig
    from zssar.backbones.features import get_features
    from zssar.runner import Run, RunOptions, seed_everything
    from zssar.text.encoders import get_encoder

    run = Run(RunOptions(method="linear", dataset=dataset, seed=seed, device="cpu",
                         backbone_overrides=dict(backbone_overrides or {})), split)
    feats = get_features(run.ds, run.train_mask, list(split.seen), cfg=run.backbone_cfg, device="cpu", need_maps=True)
    maps = np.asarray(feats.maps, dtype=np.float32)
    text = run._class_text(get_encoder(run.opts.text_encoder))
    labels = run.ds.labels
    seen, unseen = list(split.seen), list(split.unseen)
    train = np.flatnonzero(run.train_mask & np.isin(labels, seen))
    test_seen = np.flatnonzero(run.test_mask & np.isin(labels, seen))
    test_unseen = np.flatnonzero(run.test_mask & np.isin(labels, unseen))

    def data(x, idx):
        return MethodData(sample_ids=run.ds.sample_ids[idx], labels=torch.as_tensor(labels[idx]),
                          features=torch.from_numpy(x[idx]))

    def top1(model, x, idx, classes):
        scores = model.predict(data(x, idx), text.subset(classes)).scores
        return float(np.mean(np.asarray(classes)[scores.argmax(1)] == labels[idx]) * 100)

    rows = []
    for name in views:
        x = np.ascontiguousarray(view(maps, name))
        seed_everything(seed)
        model = Linear(LinearConfig(), device="cpu", seed=seed)
        model.fit(data(x, train), text.subset(seen))
        rows.append({"split": split.name, "seed": seed, "view": name, "dim": x.shape[1],
                     "seen_only": top1(model, x, test_seen, seen), "zsl": top1(model, x, test_unseen, unseen)})
    return rows


def summarise(rows: list[dict]):
    """Mean ± SE over splits per view (seeds averaged within a split first), formatted as the
    benchmark summary formats a family, and each view's ZSL paired against the pooled view over
    the same splits with its 95% t-interval (`zssar compare`'s rule): what a linear read-out of
    that view gains over `linear`'s input, and whether the splits can tell it from zero."""
    import pandas as pd

    from zssar.bench import mean_spread
    from zssar.report.compare import summarize
    df = pd.DataFrame(rows).groupby(["view", "split"], sort=False).mean(numeric_only=True).reset_index()
    pooled = df[df["view"] == "pooled"].set_index("split")["zsl"]
    out = []
    for name, g in df.groupby("view", sort=False):
        row = {"view": name, "dim": int(g["dim"].iloc[0]), "splits": len(g),
               **{col: mean_spread(g[col], standard_error=True) for col in ("seen_only", "zsl")}}
        if name != "pooled" and not pooled.empty:
            zsl = g.set_index("split")["zsl"]
            common = zsl.index.intersection(pooled.index)
            s = summarize((zsl[common] - pooled[common]).to_numpy(), zsl[common].to_numpy(), pooled[common].to_numpy())
            row["zsl − pooled [95% CI]"] = f"{s['mean_diff']:+.1f} [{s['ci_low']:+.1f}, {s['ci_high']:+.1f}]"
        out.append(row)
    return pd.DataFrame(out).fillna("")


def main(argv: list[str] | None = None) -> int:
    from tqdm.auto import tqdm

    from zssar.bench import add_family_arguments, parse_seeds, select_splits, show_table
    from zssar.commands.bench import parse_sets

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backbone-set", dest="backbone_sets", action="append", metavar="KEY=VALUE")
    add_family_arguments(ap)
    args = ap.parse_args(argv)
    splits = select_splits(args.dataset, args.split, args.max_splits)
    backbone_overrides = parse_sets(args.backbone_sets, "--backbone-set")
    rows = []
    for split in tqdm(splits, desc="probe"):
        for seed in parse_seeds(args.seeds):
            rows.extend(probe_split(split, seed, args.dataset, backbone_overrides))
    table = summarise(rows)
    title = (f"Linear probes of the backbone outputs, {args.dataset} ({len(splits)} split(s), seeds {args.seeds}); "
             "mean ± SE over splits")
    show_table(title, table, args.md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
