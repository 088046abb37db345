"""`zssar report`: regenerate result tables (Markdown, LaTeX, CSV) and figures from result.json files."""
from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser("report", help="tables and figures from results/runs/**/result.json",
                              description="Regenerate the papers' tables, per-dataset and ablation tables and "
                                          "figures from result.json files. Only complete runs enter tables.")
    p.add_argument("--results", default=None, help="results folder (default: results/ or $ZSSAR_RESULTS)")
    p.add_argument("--out", default=None, help="output folder (default: <results>/tables)")
    p.add_argument("--dataset", action="append", default=None, help="only this dataset (repeatable)")
    p.add_argument("--format", default="md,tex,csv", help="comma-separated subset of md,tex,csv")
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    p.add_argument("--digits", type=int, default=1, help="decimals in rendered cells (default 1)")
    p.set_defaults(func=run)


def run(args) -> int:
    from zssar.report.tables import make_report
    formats = tuple(f.strip() for f in args.format.split(",") if f.strip())
    written = make_report(args.results, args.out, args.dataset, formats, not args.no_figures, args.digits)
    folders = sorted({str(p.parent) for p in written})
    print(f"wrote {len(written)} files to {', '.join(folders)}")
    return 0
