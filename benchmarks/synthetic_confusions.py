"""Where each method's unseen-class (ZSL) errors go on the synthetic dataset.

    python benchmarks/synthetic_confusions.py [--methods linear,neuron,star] [--split synthetic_default]
    python benchmarks/synthetic_confusions.py --dataset msr_action3d   # accuracy and seen_only only

Reads the per-sample predictions (`preds.npz`) of every finished synthetic run under
`<results>/runs` (`$ZSSAR_RESULTS`, default `results/`) and sorts each wrong ZSL prediction
by how the predicted class relates to the true one, using the composition the classes are
generated from (`zssar.data.synthetic.CLASS_SPECS`):

- mirror: same motion, posture and tempo on the other side of the body (left <-> right);
- twin: same limb and motion, other posture or tempo;
- two-person: both classes are two-person interactions;
- other: anything else.

Columns are percentages of all ZSL test samples (so accuracy + the four error columns = 100),
averaged over the runs of a method; a method that loses to another mostly on `mirror` cannot
tell the sides apart, one that loses on `twin` cannot tell posture/tempo apart.

`seen_only` is a fit diagnostic from the same file: top-1 of the seen-class test samples
(test subjects) among the seen classes only, from the GZSL scores' seen columns — how well a
method learned the classes it was trained on, free of any seen/unseen calibration. It works for
any dataset (`--dataset msr_action3d`: accuracy and seen_only only); hold it against what a
linear probe of the same backbone reaches (benchmarks/feature_probe.py).
"""
from __future__ import annotations

import argparse

import numpy as np

RELATIONS = ("mirror", "twin", "two-person", "other")


def relation(true: int, pred: int, specs) -> str:
    t, p = specs[true], specs[pred]
    if t.mirror_id == pred:
        return "mirror"
    if pred in t.twin_ids:
        return "twin"
    if t.persons == 2 and p.persons == 2:
        return "two-person"
    return "other"


def run_breakdown(preds: dict, specs=None) -> dict[str, float]:
    """Accuracy and error shares (% of ZSL samples) of one run's saved predictions.

    specs None (a dataset without synthetic class specs): accuracy and seen_only only."""
    labels = preds["labels"][preds["zsl_sample_idx"]]
    predicted = preds["zsl_class_ids"][preds["zsl_scores"].argmax(1)]
    out = {"acc": float(np.mean(predicted == labels) * 100)}
    if specs is None:
        out["seen_only"] = seen_only_top1(preds)
        return out
    kinds = [relation(int(t), int(p), specs) for t, p in zip(labels, predicted) if t != p]
    for r in RELATIONS:
        out[r] = 100.0 * kinds.count(r) / len(labels)
    out["seen_only"] = seen_only_top1(preds)
    return out


def seen_only_top1(preds: dict) -> float:
    """Top-1 (%) of the seen-class GZSL samples, scored among the seen classes only."""
    classes = preds["gzsl_class_ids"]
    seen_cols = ~np.isin(classes, preds["zsl_class_ids"])
    labels = preds["labels"][preds["gzsl_sample_idx"]]
    seen_rows = np.isin(labels, classes[seen_cols])
    if not seen_rows.any():
        return float("nan")
    predicted = classes[seen_cols][preds["gzsl_scores"][seen_rows][:, seen_cols].argmax(1)]
    return float(np.mean(predicted == labels[seen_rows]) * 100)


def main(argv=None) -> int:
    import pandas as pd
    from tabulate import tabulate

    from zssar import paths
    from zssar.data.synthetic import CLASS_SPECS
    from zssar.io import read_json
    from zssar.runner import tuned_folder

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--methods", default="", help="comma-separated method names (default: all found)")
    p.add_argument("--dataset", default="synthetic",
                   help="another dataset gives accuracy and seen_only only (error kinds need the synthetic specs)")
    p.add_argument("--split", default=None, help="split family name prefix (default: synthetic_default on "
                                                  "synthetic, every split otherwise)")
    args = p.parse_args(argv)
    synthetic = args.dataset == "synthetic"
    prefix = args.split if args.split is not None else ("synthetic_default" if synthetic else "")
    specs = CLASS_SPECS if synthetic else None
    wanted = set(filter(None, args.methods.split(",")))
    rows = []
    for result_path in sorted((paths.results_dir() / "runs").glob(f"{args.dataset}-*/*/*/*/seed*/result.json")):
        result = read_json(result_path)
        name = result["method"]["name"]
        preds_path = result_path.parent / "preds.npz"
        if (result["status"] != "complete" or not preds_path.is_file() or (wanted and name not in wanted)
                or not result["split"]["name"].startswith(prefix)):
            continue
        with np.load(preds_path, allow_pickle=False) as preds:
            shares = run_breakdown(dict(preds), specs)
        # a per-split tuned system is one row (its final config differs per split), as in `zssar report`
        system = tuned_folder(result["tuning"]) if result.get("tuning") else result["method"]["config_hash"][:6]
        rows.append({"method": f"{name} {result['method']['version']} [{system}]",
                     "split": result["split"]["name"], "seed": result["seed"], **shares})
    if not rows:
        print(f"no finished {args.dataset} runs with preds.npz under {paths.results_dir() / 'runs'}")
        return 1
    df = pd.DataFrame(rows)
    columns = ("acc", *RELATIONS, "seen_only") if synthetic else ("acc", "seen_only")
    table = df.groupby("method").agg(runs=("seed", "size"), splits=("split", "nunique"),
                                     **{c: (c, "mean") for c in columns})
    print("ZSL accuracy and where the errors go (% of ZSL test samples, mean over runs);\n"
          "seen_only: seen-class test samples' top-1 among the seen classes only")
    print(tabulate(table.round(1), headers="keys"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
