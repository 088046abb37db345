"""`zssar splits list` and `zssar splits show NAME|PATH [--json]`."""
from __future__ import annotations

import json
from pathlib import Path

import yaml


def register(sub) -> None:
    p = sub.add_parser("splits", help="list or show seen/unseen class splits")
    ssub = p.add_subparsers(dest="splits_command", required=True, metavar="{list,show}")
    ls = ssub.add_parser("list", help="every split and family shipped in splits/")
    ls.set_defaults(func=run_list)
    show = ssub.add_parser("show", help="seen / unseen / validation classes of a split, family or YAML path")
    show.add_argument("name", metavar="NAME|PATH", help="split name, family name, FAMILY/MEMBER or a YAML file")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(func=run_show)


def dataset_class_names(dataset: str) -> list[str] | None:
    """Class names of a dataset: its module's CLASS_NAMES, else a prepared manifest's
    (bring-your-own datasets), else None."""
    from zssar.data.registry import DATASETS, dataset_module, prepared_path
    if dataset in DATASETS:
        try:
            names = list(dataset_module(dataset).CLASS_NAMES)
        except ImportError:
            names = []
        if names:
            return names
    manifest = prepared_path(dataset) / "manifest.json"
    if manifest.is_file():
        from zssar.io import read_json
        return list(read_json(manifest).get("class_names") or []) or None
    return None


def run_list(args) -> int:
    from zssar.splits import _yaml_load
    from tabulate import tabulate
    from zssar import paths

    rows = []
    for path in sorted(paths.splits_dir().glob("**/*.yaml")):
        try:
            doc = _yaml_load(path.read_text())
        except yaml.YAMLError:
            rows.append(["(invalid YAML)", "", "", "", "", "", _rel(path)])
            continue
        if not isinstance(doc, dict) or "name" not in doc:
            continue
        kind = doc.get("kind", "split")
        members = doc.get("members") or [doc]
        sizes = sorted({len(m.get("unseen") or []) for m in members if isinstance(m, dict)})
        n = doc.get("num_classes", "?")
        rows.append([doc["name"], kind, doc.get("dataset", "?"), n,
                     "/".join(str(s) for s in sizes), len(members) if kind == "family" else "", _rel(path)])
    print(tabulate(rows, headers=["name", "kind", "dataset", "classes", "unseen", "members", "file"],
                   tablefmt="github"))
    return 0


def _rel(path: Path) -> str:
    from zssar import paths
    try:
        return str(path.relative_to(paths.splits_dir().parent))
    except ValueError:
        return str(path)


def describe(split, names: list[str] | None) -> dict:
    """A split as a dict with the class names next to every id list."""
    def named(ids):
        if names is not None and all(0 <= i < len(names) for i in ids):
            return [names[i] for i in ids]
        if ids == split.unseen and split.unseen_names:
            return list(split.unseen_names)
        return [None] * len(ids)

    d = split.to_dict()
    d["unseen_names"] = named(split.unseen)
    d["seen_names"] = named(split.seen)
    d["validation_names"] = named(split.validation_unseen)
    d["source"] = split.source
    return d


def _wrap_items(items: list[str], width: int = 100) -> str:
    """Items separated by ' | ', wrapped between items (never inside a class name)."""
    lines, line = [], ""
    for item in items:
        candidate = f"{line} | {item}" if line else item
        if line and len(candidate) + 4 > width:
            lines.append(line)
            candidate = item
        line = candidate
    lines.append(line)
    return "\n".join("    " + l for l in lines)


def run_show(args) -> int:
    from zssar.splits import resolve

    splits = resolve(args.name)
    described = [describe(s, dataset_class_names(s.dataset)) for s in splits]
    if args.json:
        print(json.dumps(described if len(described) > 1 else described[0], indent=2))
        return 0
    for d in described:
        family = f", family {d['family']}" if d["family"] else ""
        print(f"{d['name']}  (dataset {d['dataset']}, {d['num_classes']} classes{family}, "
              f"sha256 {d['sha256'][:12]}, {d['source']})")
        for key, label in (("unseen", "unseen"), ("seen", "seen"), ("validation_unseen", "validation")):
            ids = d[key]
            names = d["validation_names" if key == "validation_unseen" else f"{key}_names"]
            items = [f"{i} {n}" if n else str(i) for i, n in zip(ids, names)]
            print(f"  {label} ({len(ids)}):\n{_wrap_items(items)}")
        if d["provenance"]:
            prov = ", ".join(f"{k}: {v}" for k, v in d["provenance"].items() if k in ("repo", "file", "paper"))
            print(f"  provenance: {prov}")
        print()
    return 0
