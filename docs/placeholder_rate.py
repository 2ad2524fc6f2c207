"""Issue 25, papercut 5: how often the twin's replies show a scrub placeholder, bracketed (<NAME>) or its name
written bare (трёхNAME), with no guard, the old guard (tokens with "<" + a capital, or ending in "<") and the
current one (doppel.model.constraints: also the bare names). Seeded replies to the val rows, chat's sampling.

    OMP_NUM_THREADS=1 .venv/bin/python docs/placeholder_rate.py --base models/base --adapter models/adapter \
        --val data/processed/val.json --replies 480
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time

import torch

from doppel import config
from doppel.model import constraints
from doppel.model.load import load
from doppel.redact.patterns import TYPES

NAMES = "|".join(sorted(TYPES, key=len, reverse=True))
BRACKETED = re.compile(r"<(?:" + NAMES + ")")
BARE = re.compile(r"(?<![<A-Za-z])(?:" + NAMES + r")(?![A-Za-z])")  # the name without its "<"
OLD_GUARD = re.compile(r"<[A-Z]|<$")


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--base", required=True)
    p.add_argument("--adapter", required=True)
    p.add_argument("--val", required=True)
    p.add_argument("--params", default="params.yaml")
    p.add_argument("--replies", type=int, default=480)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--temperature", type=float, default=None)
    args = p.parse_args()
    torch.set_num_threads(1)
    chat = config.load("chat", args.params)
    sampling = chat.sampling.model_copy(update={"seed": 1, **({"temperature": args.temperature}
                                                               if args.temperature is not None else {})})
    rows = json.loads(open(args.val, encoding="utf-8").read())
    prompts = [rows[i % len(rows)]["instruction"] for i in range(args.replies)]
    new_pattern = constraints.PLACEHOLDER_START
    for mode in ("none", "old", "new"):
        tw = load(args.base, args.adapter, device="cpu")
        tw.guard_placeholders = mode != "none"
        constraints.PLACEHOLDER_START = OLD_GUARD if mode == "old" else new_pattern
        t0, replies = time.perf_counter(), []
        for b, start in enumerate(range(0, len(prompts), args.batch)):
            chunk = prompts[start:start + args.batch]
            replies += tw.generate_batch([tw.prompt_for(x) for x in chunk], sampling.seeded(b))
        bracketed = sum(bool(BRACKETED.search(r)) for r in replies)
        bare = sum(bool(BARE.search(r)) for r in replies)
        examples = [r for r in replies if BARE.search(r)][:3]
        print(f"{mode:>4} guard: {len(replies)} replies (T {sampling.temperature}, seeds 1..), bracketed "
              f"{bracketed} ({bracketed / len(replies):.1%}), bare name {bare} ({bare / len(replies):.1%}), "
              f"{time.perf_counter() - t0:.0f} s; e.g. {examples}", flush=True)
    constraints.PLACEHOLDER_START = new_pattern
    return 0


if __name__ == "__main__":
    sys.exit(main())
