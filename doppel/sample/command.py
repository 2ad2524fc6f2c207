"""`doppel sample -o DIR [--messages N] [--seed S] [--planted FILE] [--facts] [--language ru|en]`."""
from __future__ import annotations

import sys
from pathlib import Path

from doppel import config
from doppel.sample.skeleton import LANGUAGES, MIN_MESSAGES
from doppel.sample.writer import write
from doppel.shell import ArgumentParser


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(
        prog="doppel sample",
        description="Write a deterministic synthetic full-account Telegram Desktop export (DIR/result.json).",
    )
    parser.add_argument("-o", "--output", "--out", dest="out", required=True, type=Path, help="output folder (gets result.json)")
    parser.add_argument("--messages", type=int, help="messages in all chats together "
                        "(default: sample.messages in params.yaml)")
    parser.add_argument("--seed", type=int, help="random seed (default: sample.seed in params.yaml)")
    parser.add_argument("--planted", type=Path, default=None,
                        help="also write the planted private data and decoys here (JSON Lines)")
    parser.add_argument("--facts", action="store_true",
                        help="plant the owner's facts, asked about in the latest sessions (default: sample.facts)")
    parser.add_argument("--language", choices=LANGUAGES,
                        help="ru: the owner's Russian/English mix; en: every conversation in English "
                             "(default: sample.language)")
    parser.add_argument("--params", type=Path, default=config.PARAMS_FILE,
                        help="params file (default: params.yaml; not read when --messages and --seed are given)")
    args = parser.parse_args(argv)
    flags = {k: v for k, v in (("messages", args.messages), ("seed", args.seed)) if v is not None}
    if args.facts:
        flags["facts"] = True
    if args.language:
        flags["language"] = args.language
    if {"messages", "seed"} <= set(flags):  # nothing left to read: a sample can be written outside a project
        cfg = config.validate("sample", {"facts": False, "language": "ru", **flags}, args.params)
    else:
        cfg = config.load("sample", args.params, overrides=flags)
    if cfg.messages < MIN_MESSAGES:
        parser.error(f"--messages must be at least {MIN_MESSAGES}")
    path, s = write(args.out, cfg.messages, cfg.seed, args.planted, facts=cfg.facts, language=cfg.language)
    print(f"sample: {s['messages']} messages, {s['chats']} chats, {s['planted']} planted + {s['decoys']} decoys, "
          f"{s['bytes']} bytes, {s['seconds']:.1f} s -> {path}", file=sys.stderr)
    return 0
