"""The `doppel` console script: `doppel COMMAND [ARGS]`, each command a stage module's `main(argv)`."""
from __future__ import annotations

import importlib
import sys

from stages.errors import InputError

COMMANDS = {
    "sample": "write a synthetic full-account Telegram Desktop export",
    "fetch": "download private chats with Telethon into data/raw/telethon (resumable)",
    "ingest": "Telegram exports -> message table (parquet) + accounting report",
    "scrub": "redact private data (stdin -> stdout, or the pipeline stage)",
    "segment": "messages -> sessions -> turns",
    "build": "turns -> instruction dataset (train/val JSON)",
    "base": "prepare the base model (tiny offline default, or a litgpt checkpoint)",
    "train": "LoRA fine-tuning of the base on the dataset",
    "evaluate": "base vs tuned: loss, style, authorship",
    "chat": "talk to the twin in the terminal",
    "bench": "benchmarks: `bench prep` (data stages), `bench train` (training throughput)",
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: doppel COMMAND [ARGS...]   (doppel COMMAND --help for its options)", "", "commands:"]
    lines += [f"  {name:<{width}}  {text}" for name, text in COMMANDS.items()]
    return "\n".join(lines)


def run(module: str, argv: list[str]) -> int:
    """Run `stages.<module>.main(argv)`; user errors become one line on stderr and exit code 2."""
    try:
        return int(importlib.import_module(f"stages.{module}").main(argv) or 0)
    except InputError as err:
        print(f"doppel {module}: error: {err}", file=sys.stderr)
        return 2
    except Exception as err:
        # a table that breaks a data contract (stages/schemas.py) is bad input too, whichever stage finds it
        if type(err).__module__ != "pandera.errors":
            raise
        print(f"doppel {module}: error: input breaks the data contract: {contract_problem(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"doppel {module}: interrupted", file=sys.stderr)
        return 130


def contract_problem(err: Exception) -> str:
    """Which schema, column and check failed; never the failing rows (they can hold private text)."""
    errors = getattr(err, "schema_errors", None) or [err]
    problems = []
    for e in errors:
        schema = getattr(getattr(e, "schema", None), "name", None) or "table"
        column = getattr(e, "column_name", None)
        check = getattr(getattr(e, "check", None), "name", None) or getattr(e, "reason_code", None) or type(e).__name__
        problems.append(f"{schema}{'.' + column if column else ''}: {check}")
    return "; ".join(dict.fromkeys(problems))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    if argv[0] not in COMMANDS:
        print(f"doppel: unknown command {argv[0]!r}\n\n{usage()}", file=sys.stderr)
        return 2
    return run(argv[0], argv[1:])


def module_main(module: str) -> None:
    """For `python -m stages.NAME`: the same error handling as the console script."""
    sys.exit(run(module, sys.argv[1:]))


if __name__ == "__main__":
    sys.exit(main())
