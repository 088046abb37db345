"""`zssar semantics fetch|list`: upstream description files at pinned commits, sha256-checked."""
from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("semantics", help="fetch or list upstream semantic packs (LLM descriptions, embeddings)")
    s = p.add_subparsers(dest="action", required=True)
    f = s.add_parser("fetch", help="download pinned upstream files and verify their sha256")
    f.add_argument("--only", default=None, help="comma-separated groups: neuron,star,star_pp,smie,purls,sa_dvae")
    f.add_argument("--dest", type=Path, default=None, help="target folder (default: ZSSAR_SEMANTICS or the cache)")
    f.add_argument("--mirror", type=Path, default=None, help="local mirror laid out as OWNER/REPO/PATH")
    f.add_argument("--timeout", type=float, default=60.0)
    f.set_defaults(func=run_fetch)
    ls = s.add_parser("list", help="list pinned upstream files and whether they are available locally")
    ls.set_defaults(func=run_list)


def run_fetch(args) -> int:
    from zssar.text.fetch import fetch
    groups = [g.strip() for g in args.only.split(",")] if args.only else None
    results = fetch(groups, dest=args.dest, mirror=args.mirror, timeout=args.timeout)
    failed = 0
    for f, status in results:
        print(f"{status:8.8s}  {f.dest}  ({f.repo}@{f.commit[:8]})" if not status.startswith("error")
              else f"FAILED    {f.dest}: {status[7:]}")
        failed += status.startswith("error")
    print(f"{len(results) - failed}/{len(results)} files verified")
    return 1 if failed else 0


def run_list(args) -> int:
    from tabulate import tabulate

    from zssar import paths
    from zssar.text.fetch import pinned_files
    rows = [[f.dest, f.repo, f.commit[:8], f.bytes, "yes" if paths.find_upstream_semantics(f.dest) else "no"]
            for f in pinned_files()]
    print(tabulate(rows, headers=["file", "repository", "commit", "bytes", "available"], tablefmt="github"))
    return 0
