"""The `doppel` console script: `doppel COMMAND [ARGS]`.

Pipeline stages are the scripts in the project's `stages/` folder (what `dvc.yaml` runs as
`python stages/NAME.py`); `doppel NAME` runs the same script from the project root. The other commands
live in the library. Every command follows one convention: progress and the summary go to stderr, machine
output (a redacted line, a reply) to stdout; a user error is one line on stderr and exit code 2.
"""
from __future__ import annotations

import importlib
import sys
from typing import Callable

from doppel.shell import guarded, run_stage_script, stage_script

STAGES = {
    "check": "validate every section of params.yaml (the first stage: a bad value stops `dvc repro` here)",
    "ingest": "Telegram exports -> message table (parquet) + accounting report",
    "scrub": "redact private data (the pipeline stage; with no file flags, a stdin -> stdout filter)",
    "segment": "messages -> sessions -> turns",
    "memory": "turns -> the owner's past messages, retrieved at reply time (`doppel chat --chat ID`)",
    "build": "turns -> instruction dataset (train/val JSON)",
    "base": "prepare the base model (tiny offline default; a litgpt checkpoint, an HF folder or a .gguf)",
    "train": "LoRA fine-tuning of the base on the dataset",
    "evaluate": "base vs tuned: loss per byte, context lift, fluency, style, authorship, blind quiz",
}
COMMANDS = {
    "sample": ("doppel.sample.command", "write a synthetic full-account Telegram Desktop export"),
    "fetch": ("doppel.telegram.fetch.command", "download private chats with Telethon into data/raw/telethon (resumable)"),
    "chat": ("doppel.chat.command", "talk to the twin in the terminal"),
    "export": ("doppel.export.command", "the twin for other runtimes: --to litgpt | hf | peft"),
    "serve": ("doppel.serve.command", "OpenAI-compatible API for the twin on 127.0.0.1"),
    "bot": ("doppel.bot.command", "the twin in your Telegram: reply drafts you approve (or auto in allowed chats)"),
    "quiz": ("doppel.quiz.command", "a blind test in the browser: which reply is really mine? (--report: the result)"),
    "bench": ("doppel.bench.command", "benchmarks: `bench prep|train|serve|memory|scrub` (stages, training, API, memory, redaction)"),
}
SCRUB_FILTER = "doppel.redact.filter"


def version() -> str:
    from importlib.metadata import PackageNotFoundError, version as dist_version

    try:
        return dist_version("doppel")
    except PackageNotFoundError:  # run from a source tree that was not installed
        return "unknown"


def usage() -> str:
    names = {**STAGES, **{k: v[1] for k, v in COMMANDS.items()}}
    width = max(map(len, names))
    lines = ["usage: doppel COMMAND [ARGS...]   (doppel COMMAND --help for its options; doppel --version)", "",
             "pipeline stages (stages/NAME.py, run from the project root; `dvc repro` runs them all):"]
    lines += [f"  {name:<{width}}  {text}" for name, text in STAGES.items()]
    lines += ["", "commands:"]
    lines += [f"  {name:<{width}}  {text}" for name, (_, text) in COMMANDS.items()]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ dispatch

def command(name: str, argv: list[str]) -> Callable[[], int | None]:
    if name == "scrub" and not any(a.split("=")[0] in ("--input", "--output", "--report") for a in argv) \
            and not {"-h", "--help"} & set(argv):
        return lambda: importlib.import_module(SCRUB_FILTER).main(argv)
    if name in STAGES:
        return lambda: run_stage_script(stage_script(name, argv=argv), argv)
    return lambda: importlib.import_module(COMMANDS[name][0]).main(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    if argv[0] in ("-V", "--version"):
        print(f"doppel {version()}")
        return 0
    if argv[0] not in STAGES and argv[0] not in COMMANDS:
        print(f"doppel: unknown command {argv[0]!r}\n\n{usage()}", file=sys.stderr)
        return 2
    return guarded(argv[0], command(argv[0], argv[1:]))


if __name__ == "__main__":
    sys.exit(main())
