"""`./scripts/bench <name> [options]` (or `python -m scripts.benchmarks <name>`): run one benchmark.
Without a name, or with options only, the queue page (as `./scripts/bench` always did)."""

from __future__ import annotations

import importlib
import sys

import typer

from scripts.benchmarks import BENCHMARKS

PROG = "./scripts/bench"


def usage() -> str:
    width = max(len(name) for name in BENCHMARKS)
    lines = [
        f"Usage: {PROG} [NAME] [OPTIONS]   (no NAME: queue)",
        "",
        "Benchmarks (not tests; each creates and seeds its own PostgreSQL database):",
        "",
        *(f"  {name:<{width}}  {what}; writes docs/{doc}" for name, (_, what, doc) in BENCHMARKS.items()),
        "",
        f"{PROG} NAME --help shows a benchmark's options.",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    if argv and argv[0] in ("-h", "--help", "help"):
        typer.echo(usage())
        return
    name = argv[0] if argv and not argv[0].startswith("-") else "queue"
    if name not in BENCHMARKS:
        typer.echo(f"error: no benchmark named {name!r}\n\n{usage()}", err=True)
        raise SystemExit(2)
    rest = argv[1:] if argv and argv[0] == name else argv
    module = importlib.import_module(f"scripts.benchmarks.{BENCHMARKS[name][0]}")
    module.app(args=rest, prog_name=f"{PROG} {name}")


if __name__ == "__main__":
    main(sys.argv[1:])
