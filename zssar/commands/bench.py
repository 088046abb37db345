"""`zssar bench`: train on seen classes, evaluate ZSL and GZSL, write results, print a summary."""
from __future__ import annotations

import argparse


def parse_sets(items: list[str] | None, flag: str) -> dict[str, str]:
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{flag} expects key=value, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="run a method on a dataset/split family and print the table",
                       description=__doc__)
    p.add_argument("--method", required=True, help="registered method name (zssar list methods)")
    p.add_argument("--dataset", default="synthetic", help="dataset name or prepared folder (default: synthetic)")
    p.add_argument("--protocol", default=None, help="evaluation protocol (default: the dataset's, e.g. xsub)")
    p.add_argument("--split", default=None,
                   help="split name, family name, FAMILY/MEMBER, YAML path, or 'all' (default: the dataset's default)")
    p.add_argument("--max-splits", type=int, default=None, metavar="N",
                   help="run only the first N members of a split family (tables show the family as n/total)")
    p.add_argument("--seeds", default="0", help="comma-separated seeds (default: 0)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--set", dest="sets", action="append", metavar="KEY=VALUE",
                   help="override a method config value (repeatable), e.g. --set neuron.spatial_compression=false")
    p.add_argument("--backbone-set", dest="backbone_sets", action="append", metavar="KEY=VALUE",
                   help="override a backbone config value (repeatable), e.g. --backbone-set epochs=5")
    p.add_argument("--text-encoder", default="minilm", help="minilm | clip-vit-l14-336 | precomputed")
    p.add_argument("--text-pack", default=None, metavar="PATH",
                   help="a YAML semantic pack of your own (class_names + sources), used before shipped sources")
    p.add_argument("--calibration", default="validation", choices=("validation", "none"),
                   help="how GZSL γ is chosen: on the split's validation classes (honest, default) or not at all")
    p.add_argument("--tune-grid", action="append", metavar="KEY=V1,V2",
                   help="choose these config values for every (split, seed) on that split's validation classes "
                        "with that seed (strict per-split tuning; syntax as zssar tune --grid; repeatable)")
    p.add_argument("--tune-metric", default=None, metavar="val_zsl|val_h",
                   help="what --tune-grid maximises on the validation classes (default val_zsl)")
    p.add_argument("--force", action="store_true", help="recompute finished runs")
    p.add_argument("--limit", type=int, default=None,
                   help="at most N samples per partition: a quick, non-reportable run")
    p.set_defaults(func=run)


def run(args) -> int:
    from zssar.bench import format_summary, parse_seeds, run_bench, select_splits
    from zssar.runner import RunOptions
    from zssar.tune import parse_grid

    base = RunOptions(method=args.method, dataset=args.dataset, protocol=args.protocol, device=args.device,
                      method_overrides=parse_sets(args.sets, "--set"),
                      backbone_overrides=parse_sets(args.backbone_sets, "--backbone-set"),
                      text_encoder=args.text_encoder, text_pack=args.text_pack, limit=args.limit, force=args.force,
                      calibration=args.calibration)
    # fail on unknown names before any work
    from methods.registry import get_method
    get_method(args.method)
    splits = select_splits(args.dataset, args.split, args.max_splits)
    seeds = parse_seeds(args.seeds)
    tune_grid = parse_grid(args.tune_grid, "--tune-grid") if args.tune_grid else None
    outcomes = run_bench(base, splits, seeds, tune_grid, args.tune_metric)
    r0 = outcomes[0].result
    label = " (SYNTHETIC data)" if r0["dataset"]["synthetic"] else ""
    title = (f"\n{args.method} v{r0['method']['version']} on {r0['dataset']['name']}-{r0['dataset']['protocol']}"
             f"{label} | text encoder {r0['text_encoder']['id']} | results in {outcomes[0].run_dir.parents[3]}")
    print(format_summary(outcomes, title))
    return 0
