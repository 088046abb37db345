"""`zssar compare A B`: paired comparison over the (split, seed) pairs both systems have run."""
from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "compare", help="paired comparison of two methods/configs: mean difference, 95%% CI, win rate",
        description="A and B: a method (linear), a method with config values (neuron[spatial_compression=false]), "
                    "a method's per-split tuned runs (neuron[tuned], or the table label 'neuron[tuned per split: "
                    "logit_scale]'), a config-hash prefix, or a result folder. Pairs are runs with the same "
                    "dataset, protocol, split and seed; only complete runs count.")
    p.add_argument("a", metavar="A")
    p.add_argument("b", metavar="B")
    p.add_argument("--dataset", action="append", default=None, help="only this dataset (repeatable)")
    p.add_argument("--metric", default="zsl_top1",
                   help="metric(s), comma-separated, e.g. zsl_top1,gzsl_h,oracle.gzsl_h (default zsl_top1)")
    p.add_argument("--unit", default="split", choices=("split", "run"),
                   help="unit of the CI: split (seeds averaged within a split; default) or run (every "
                        "split x seed pair independent: narrower, optimistic)")
    p.add_argument("--results", default=None, help="results folder (default: results/ or $ZSSAR_RESULTS)")
    p.add_argument("--csv", default=None, help="also write the table as CSV to this file")
    p.add_argument("--md", default=None, help="also write the table as Markdown to this file")
    p.set_defaults(func=run)


def run(args) -> int:
    from zssar.io import write_text
    from zssar.report import store
    from zssar.report.compare import compare, render

    df = store.for_tables(store.load_results(args.results))
    metrics = tuple(m.strip() for m in args.metric.split(",") if m.strip())
    table = compare(df, args.a, args.b, metrics, args.dataset, unit=args.unit)
    print(render(table, args.a, args.b))
    if args.csv:
        write_text(args.csv, table.to_csv(index=False, lineterminator="\n", float_format="%.6g"))
    if args.md:
        write_text(args.md, render(table, args.a, args.b, fmt="github"))
    return 0
