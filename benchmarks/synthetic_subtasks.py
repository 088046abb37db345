"""`zssar compare` on sub-tasks of the synthetic family's ZSL task, re-scored from saved predictions.

    python benchmarks/synthetic_subtasks.py "skeletoncontext[dje=true,...]" "linear[text_source=descriptions]" \
        [--md results/tables/subtasks_skeletoncontext_vs_linear.md]

A and B are `zssar compare` selectors. Every selected synthetic run's `preds.npz` is re-scored
with the ZSL candidates restricted to sub-tasks of its split's unseen classes (composition from
`zssar.data.synthetic.CLASS_SPECS`):

- all: the 8 unseen classes (the benchmark's ZSL top-1; a check that re-scoring reproduces it);
- val_like: every subset shaped like the family's validation classes (2 whole twin groups +
  1 two-person class), averaged — the task `zssar tune` and GZSL calibration score on;
- one_person: the one-person unseen classes among themselves;
- two_person: the two-person unseen classes among themselves (one interaction against another);
- twins: each twin group among itself (posture / tempo only), averaged.

The paired table is `zssar compare`'s (the same pairing, per-split unit and 95% t-interval), so
a sub-task shows where a difference on `all` comes from, and whether the validation world — which
holds one two-person class among one-person ones — can see it. Read-only: no run is changed.
"""
from __future__ import annotations

import argparse
import itertools
import math

import numpy as np

SUBTASKS = ("all", "val_like", "one_person", "two_person", "twins")


def subtask_scores(preds: dict, specs) -> dict[str, float]:
    """ZSL top-1 (%) of one run with the candidates restricted to each sub-task (module doc);
    NaN where a split has no such sub-task."""
    labels = preds["labels"][preds["zsl_sample_idx"]]
    ids = [int(c) for c in preds["zsl_class_ids"]]
    scores = preds["zsl_scores"]

    def top1(classes) -> float:
        rows = np.isin(labels, classes)
        if len(classes) < 2 or not rows.any():
            return math.nan
        cols = [ids.index(c) for c in classes]
        return float(np.mean(np.asarray(classes)[scores[rows][:, cols].argmax(1)] == labels[rows]) * 100)

    def mean(values) -> float:
        values = [v for v in values if not math.isnan(v)]
        return float(np.mean(values)) if values else math.nan

    unseen = set(ids)
    groups = sorted({tuple(sorted({c, *specs[c].twin_ids} & unseen)) for c in ids if specs[c].persons == 1})
    two = [c for c in ids if specs[c].persons == 2]
    return {"all": top1(ids),
            "val_like": mean(top1([*g1, *g2, t]) for g1, g2 in itertools.combinations(groups, 2) for t in two),
            "one_person": top1([c for g in groups for c in g]),
            "two_person": top1(two),
            "twins": mean(top1(list(g)) for g in groups)}


def with_subtasks(df, selectors: list[str], root):
    """The synthetic runs the selectors name, with `subtask.<name>` columns from their preds.npz.
    Runs without preds are dropped with a count on stderr; a selector none of whose runs has
    preds is an error naming it."""
    import sys

    import pandas as pd

    from zssar.data.synthetic import CLASS_SPECS
    from zssar.report import store
    from zssar.report.compare import parse_side, select
    rows = []
    for spec in selectors:
        runs = select(df, parse_side(spec)).to_dict("records")
        scored = []
        for row in runs:
            preds = store.load_preds(root / row["run_dir"])
            if preds is not None:
                scored.append({**row, **{f"subtask.{k}": v for k, v in subtask_scores(preds, CLASS_SPECS).items()}})
        if not scored:
            raise SystemExit(f"{spec!r}: none of its {len(runs)} synthetic run(s) under {root} has preds.npz "
                             f"(git-ignored: present only where the runs were made; re-run them with zssar bench)")
        if len(scored) < len(runs):
            print(f"{spec!r}: {len(runs) - len(scored)} of {len(runs)} run(s) have no preds.npz and are left out",
                  file=sys.stderr)
        rows.extend(scored)
    return pd.DataFrame(rows).drop_duplicates("run_dir")


def main(argv: list[str] | None = None) -> int:
    from zssar.io import write_text
    from zssar.report import store
    from zssar.report.compare import compare, render

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("a", metavar="A")
    ap.add_argument("b", metavar="B")
    ap.add_argument("--results", default=None, help="results folder (default: results/ or $ZSSAR_RESULTS)")
    ap.add_argument("--md", default=None, help="also write the table as Markdown to this file")
    args = ap.parse_args(argv)
    df = store.for_tables(store.load_results(args.results))
    df = with_subtasks(df[df["dataset"] == "synthetic"], [args.a, args.b], store.runs_root(args.results))
    table = compare(df, args.a, args.b, tuple(f"subtask.{t}" for t in SUBTASKS), ["synthetic"])
    print(render(table, args.a, args.b))
    if args.md:
        write_text(args.md, render(table, args.a, args.b, fmt="github"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
