"""`doppel bench prep|train|serve`: rerunnable benchmarks that print their figures."""
from __future__ import annotations

import importlib
import sys

BENCHES = {"prep": "doppel.bench.prep", "train": "doppel.bench.train", "serve": "doppel.bench.serve"}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in BENCHES:
        print(f"usage: doppel bench {{{'|'.join(BENCHES)}}} [ARGS...]", file=sys.stderr)
        return 2
    return int(importlib.import_module(BENCHES[argv[0]]).main(argv[1:]) or 0)
