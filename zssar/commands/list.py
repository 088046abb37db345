"""`zssar list methods|datasets|encoders` (splits: `zssar splits list`)."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("list", help="list registered methods, datasets or text encoders")
    p.add_argument("what", choices=("methods", "datasets", "encoders"))
    p.set_defaults(func=run)


def run(args) -> int:
    from tabulate import tabulate
    if args.what == "methods":
        from methods.registry import all_methods, get_method
        rows = []
        for name, target in all_methods().items():
            try:
                cls = get_method(name)
                rows.append([name, cls.version, cls.paper, ",".join(getattr(cls, "tags", ())), target])
            except ImportError as e:
                rows.append([name, "—", f"(cannot load: {e})", "", target])
        print(tabulate(rows, headers=["method", "version", "paper", "tags", "module"], tablefmt="github"))
    elif args.what == "datasets":
        from zssar.data.registry import DATASETS, prepared_path
        rows = [[n, m, "yes" if (prepared_path(n) / "manifest.json").is_file() else "no"] for n, m in DATASETS.items()]
        print(tabulate(rows, headers=["dataset", "module", "prepared"], tablefmt="github"))
    else:
        from zssar.text.encoders import ENCODERS
        print(tabulate([[k, v] for k, v in ENCODERS.items()], headers=["encoder", "class"], tablefmt="github"))
    return 0
