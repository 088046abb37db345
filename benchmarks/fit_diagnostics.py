"""How well each method fits the classes it trains on, and whether its unseen-class accuracy
depends on who (or from where) an action is performed.

    python benchmarks/fit_diagnostics.py [--methods linear,neuron,scople,skeletoncontext,star] \
        [--dataset synthetic] [--split synthetic_default] [--max-splits N] [--seeds 0] \
        [--md results/tables/fit_diagnostics_synthetic.md]

For every (method, split, seed) the method is trained exactly as in the benchmark's main world
(its default config, the split's cached backbone, the seen classes of the training partition,
`seed_everything(seed)` first), so `zsl_test` equals that run's `zsl_top1`. It is then scored:

- train_seen: its own training samples, among the seen classes — the fit of the data it trained on;
- test_seen: the seen-class test samples among the seen classes (synthetic_confusions' `seen_only`);
- zsl_train_part: the unseen-class samples of the *training* partition (training subjects under
  xsub, training views under xview) among the unseen classes. Never trained on — their classes are
  unseen — but performed by the people (or seen from the cameras) the method trained on;
- zsl_test: the unseen-class test samples among the unseen classes (the benchmark's ZSL top-1).

`train_seen` far below 100 means the method under-fits its training data; `zsl_train_part` −
`zsl_test` is the part of the ZSL error that is subject / view shift rather than class transfer.
No calibration world is trained and nothing is chosen here: a diagnostic, not a benchmark row.
Mean ± standard error over splits (seeds averaged within a split).
"""
from __future__ import annotations

import argparse

import numpy as np

COLUMNS = ("train_seen", "test_seen", "zsl_train_part", "zsl_test")
DEFAULT_METHODS = ("linear", "neuron", "scople", "skeletoncontext", "star")


def diagnose(method: str, split, seed: int, dataset: str, backbone_overrides: dict | None = None) -> dict:
    """One row: the four accuracies (%) of `method` trained on `split`'s main world."""
    from zssar import metrics
    from zssar.runner import Run, RunOptions
    from zssar.text.encoders import get_encoder

    run = Run(RunOptions(method=method, dataset=dataset, seed=seed, backbone_overrides=dict(backbone_overrides or {})),
              split)
    text = run._class_text(get_encoder(run.opts.text_encoder, device=run.device))
    labels = run.ds.labels
    seen, unseen = list(split.seen), list(split.unseen)
    feats = run._features(seen)
    train = np.flatnonzero(run.train_mask & np.isin(labels, seen))
    model = run._new_method()
    run._fit(model, run._data(train, feats), text.subset(seen), text)

    def top1(idx: np.ndarray, classes: list[int]) -> float:
        if len(idx) == 0:
            return float("nan")
        scores = model.predict(run._data(idx, feats), text.subset(classes)).scores
        return metrics.topk_accuracy(scores, np.searchsorted(classes, labels[idx]), 1)

    # the label names the run's config hash, so a row is matched to its benchmark runs
    return {"method": f"{method} {run.method_cls.version} [{run.config_hash[:6]}]", "split": split.name,
            "seed": seed, "train_seen": top1(train, seen),
            "test_seen": top1(np.flatnonzero(run.test_mask & np.isin(labels, seen)), seen),
            "zsl_train_part": top1(np.flatnonzero(run.train_mask & np.isin(labels, unseen)), unseen),
            "zsl_test": top1(np.flatnonzero(run.test_mask & np.isin(labels, unseen)), unseen)}


def summarise(rows: list[dict]):
    """Mean ± SE over splits per method (seeds averaged within a split first), plus the paired
    subject/view shift zsl_train_part − zsl_test."""
    import pandas as pd

    from zssar.bench import mean_spread
    df = pd.DataFrame(rows).groupby(["method", "split"], sort=False).mean(numeric_only=True).reset_index()
    df["shift"] = df["zsl_train_part"] - df["zsl_test"]
    return pd.DataFrame([{"method": name, "splits": len(g),
                          **{col: mean_spread(g[col], standard_error=True) for col in (*COLUMNS, "shift")}}
                         for name, g in df.groupby("method", sort=False)])


def main(argv: list[str] | None = None) -> int:
    from tqdm.auto import tqdm

    from zssar.bench import add_family_arguments, parse_seeds, select_splits, show_table

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--methods", default=",".join(DEFAULT_METHODS))
    add_family_arguments(ap)
    args = ap.parse_args(argv)
    splits = select_splits(args.dataset, args.split, args.max_splits)
    jobs = [(m, s, seed) for m in args.methods.split(",") for s in splits for seed in parse_seeds(args.seeds)]
    rows = [diagnose(m, s, seed, args.dataset) for m, s, seed in tqdm(jobs, desc="fit diagnostics")]
    show_table(f"Fit and subject/view shift, {args.dataset} ({len(splits)} split(s), seeds {args.seeds}); "
               "top-1 %, mean ± SE over splits; shift = zsl_train_part − zsl_test", summarise(rows), args.md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
