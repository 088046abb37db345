"""`zssar tune`: choose method hyper-parameters on validation classes only (never on test).

    zssar tune --method neuron --dataset synthetic --split synthetic_default \\
        --grid neuron.logit_scale=5,10,20 --grid neuron.spatial_fusion_weight=0.5,0.7 \\
        --out results/tuned/synthetic/neuron.yaml

Every grid point trains only the calibration world of each (split, seed): seen classes minus
the split's validation classes, scored on those validation classes. The best point replaces
today's default only when its paired gain is at least --margin-se standard errors (default 1).
See zssar/tune.py.
"""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tune", help="select method hyper-parameters on validation classes (never on test)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--method", required=True)
    p.add_argument("--dataset", default="synthetic")
    p.add_argument("--protocol", default=None)
    p.add_argument("--split", default=None, help="split, family or 'all' (as for bench)")
    p.add_argument("--max-splits", type=int, default=None, metavar="N", help="first N members of a family")
    p.add_argument("--seeds", default="0")
    p.add_argument("--grid", action="append", metavar="KEY=V1,V2",
                   help="values to try for one config key (repeatable; the cartesian product is run)")
    p.add_argument("--set", dest="sets", action="append", metavar="KEY=VALUE", help="fixed overrides")
    p.add_argument("--backbone-set", dest="backbone_sets", action="append", metavar="KEY=VALUE")
    p.add_argument("--metric", default="val_zsl", choices=("val_zsl", "val_h"))
    p.add_argument("--margin-se", type=float, default=1.0, metavar="K",
                   help="replace the default (the grid point equal to today's config) only when the best point's "
                        "paired gain over it is >= K standard errors (default 1; 0 = plain highest mean)")
    p.add_argument("--text-encoder", default="minilm")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--out", default=None, metavar="YAML", help="write the tuning record here (atomically)")
    p.set_defaults(func=run)


def run(args) -> int:
    import yaml

    from methods.registry import get_method
    from zssar.bench import parse_seeds, select_splits
    from zssar.commands.bench import parse_sets
    from zssar.io import atomic_path
    from zssar.runner import RunOptions
    from zssar.tune import format_record, parse_grid, tune

    get_method(args.method)  # unknown names fail before any work
    splits = select_splits(args.dataset, args.split, args.max_splits)
    base = RunOptions(method=args.method, dataset=args.dataset, protocol=args.protocol, device=args.device,
                      method_overrides=parse_sets(args.sets, "--set"),
                      backbone_overrides=parse_sets(args.backbone_sets, "--backbone-set"),
                      text_encoder=args.text_encoder)
    record = tune(base, splits, parse_seeds(args.seeds), parse_grid(args.grid), args.metric,
                  margin_se=args.margin_se)
    print(format_record(record))
    if args.out:
        with atomic_path(args.out) as tmp:
            tmp.write_text(yaml.safe_dump(record, sort_keys=False))  # record["chosen"] is a copy: no aliases
        print(f"record: {args.out}")
    return 0
