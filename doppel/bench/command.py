"""`doppel bench prep|train|serve|memory|scrub`: rerunnable benchmarks that print their figures."""
from __future__ import annotations

import importlib
import sys

BENCHES = {
    "prep": ("doppel.bench.prep", "the data stages on a generated export: seconds, messages/s, peak RSS"),
    "train": ("doppel.bench.train", "doppel's packed LoRA step vs litgpt finetune_lora: tokens/s, MFU, memory"),
    "serve": ("doppel.bench.serve", "a running `doppel serve`: req/s, p50/p95 latency at 1, 4, 16 clients"),
    "memory": ("doppel.bench.memory", "the memory index: build messages/s and retrieval ms per reply, beside the goals"),
    "scrub": ("doppel.bench.scrub", "redaction: recall per class on the red-team set, clean lines changed, speed"),
}


def usage() -> str:
    lines = ["usage: doppel bench BENCH [ARGS...]   (doppel bench BENCH --help for its options)", "", "benches:"]
    return "\n".join(lines + [f"  {name:<6} {text}" for name, (_, text) in BENCHES.items()])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print(usage())
        return 0
    if not argv or argv[0] not in BENCHES:
        print(usage(), file=sys.stderr)
        return 2
    return int(importlib.import_module(BENCHES[argv[0]][0]).main(argv[1:]) or 0)
