"""`zssar prepare DATASET --raw PATH [--out PATH] [--format native|ctrgcn] [--skip-bad] [--workers N]`

Generic over every dataset in zssar/data/registry.py: it calls
`dataset_module(name).prepare(raw, out, skip_bad=..., **options)`, passing only the
options given on the command line, and prints a summary of the manifest.
"""
from __future__ import annotations

import inspect
from pathlib import Path

# flag dest -> prepare() keyword; passed only when the user gave the flag
OPTIONS = ("workers", "format", "missing_list", "statistics", "protocol", "shard_size")


def register(sub) -> None:
    p = sub.add_parser("prepare", help="convert a raw dataset into the prepared (memory-mapped) form",
                       description="Convert raw data into a prepared dataset folder. An interrupted run "
                                   "resumes from the shards already written.")
    p.add_argument("dataset", help="dataset name (see `zssar list datasets`)")
    p.add_argument("--raw", type=Path, help="raw data: a folder (or, for NTU, a CTR-GCN .npz); "
                                            "default: the dataset's known location, if any")
    p.add_argument("--out", type=Path, help="prepared folder (default: $ZSSAR_DATA/<dataset>)")
    p.add_argument("--format", choices=("native", "ctrgcn"), help="ctrgcn: also export the CTR-GCN "
                   ".npz files (NTU only) to <out>/ctrgcn")
    p.add_argument("--skip-bad", action="store_true", help="leave corrupt files out (listed in the manifest) "
                                                           "instead of stopping at the first one")
    p.add_argument("--workers", type=int, help="parallel processes (default: all CPU cores)")
    p.add_argument("--missing-list", type=Path, help="NTU: official missing-skeleton list (default: found "
                                                     "next to --raw or in ../shared)")
    p.add_argument("--statistics", type=Path, help="NTU npz import: CTR-GCN statistics folder used to "
                                                   "recover sample names")
    p.add_argument("--protocol", help="NTU npz import: protocol of the file when its name does not say")
    p.add_argument("--shard-size", type=int, help="samples per shard (memory bound)")
    p.set_defaults(func=run)


def _accepted(prepare, options: dict) -> dict:
    params = inspect.signature(prepare).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return options
    unknown = [k for k in options if k not in params]
    if unknown:
        flags = ", ".join("--" + k.replace("_", "-") for k in unknown)
        raise ValueError(f"this dataset's prepare does not take {flags}")
    return options


def run(args) -> int:
    from zssar.data.registry import dataset_module, prepared_path
    mod = dataset_module(args.dataset)
    raw = args.raw or mod.default_raw()
    if raw is None:
        raise FileNotFoundError(f"dataset {args.dataset!r} has no default raw location; pass --raw PATH "
                                f"(see docs/datasets_ntu.md for NTU)")
    if not Path(raw).exists():
        raise FileNotFoundError(f"--raw {raw}: no such file or folder")
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers must be >= 1, got {args.workers}")
    # a module may choose its own default folder (custom datasets live under their own name)
    default_out = getattr(mod, "prepared_out", None)
    out = args.out or (default_out(Path(raw)) if default_out else prepared_path(args.dataset))
    options = {k: getattr(args, k) for k in OPTIONS if getattr(args, k) is not None}
    manifest = mod.prepare(Path(raw), Path(out), skip_bad=args.skip_bad, **_accepted(mod.prepare, options))
    print(summary(manifest, Path(out)))
    return 0


def summary(manifest: dict, out: Path, max_listed: int = 20) -> str:
    lines = [f"prepared {manifest['name']}: {manifest['num_samples']} samples, "
             f"{manifest['num_classes']} classes -> {out}"]
    excluded = manifest.get("excluded", {})
    if excluded.get("count"):
        by_reason = manifest.get("excluded_by_reason") or {}
        detail = ", ".join(f"{n} {r}" for r, n in by_reason.items())
        lines.append(f"excluded {excluded['count']} samples" + (f" ({detail})" if detail else ""))
        corrupt = [(s, r) for s, r in excluded.get("samples", {}).items() if "corrupt" in r]
        for s, r in corrupt[:max_listed]:
            lines.append(f"  {s}: {r}")
        if len(corrupt) > max_listed:
            lines.append(f"  ... and {len(corrupt) - max_listed} more (see {out / 'manifest.json'})")
    ids = manifest.get("sample_ids")
    if isinstance(ids, dict) and ids.get("origin") == "synthesised":
        lines.append(f"sample ids synthesised: {ids.get('reason')}")
    for e in manifest.get("exports", []):
        lines.append(f"exported {e['protocol']}: {e['path']} ({e['num_train']} train / {e['num_test']} test, "
                     f"T={e['num_frames']})")
    return "\n".join(lines)
