"""`zssar` command line. Each sub-command lives in `zssar/commands/<name>.py` and exposes
`register(subparsers)`, which adds its parser and sets `func(args) -> int`."""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

COMMANDS = ("prepare", "splits", "validate", "list", "bench", "tune", "backbone", "report", "compare", "semantics")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zssar", description="zero-shot skeleton action recognition benchmark")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"zssar.commands.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"zssar.commands.{name}":
                continue  # command not written yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except (FileNotFoundError, ValueError, KeyError, ImportError) as e:
        # user-facing errors: one clear line, no traceback (use -v for the traceback)
        if args.verbose:
            raise
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"zssar {args.command}: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
