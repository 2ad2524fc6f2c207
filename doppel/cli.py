"""The `doppel` console script: `doppel COMMAND [ARGS]`.

Pipeline stages are the scripts in the project's `stages/` folder (what `dvc.yaml` runs as
`python stages/NAME.py`); `doppel NAME` runs the same script from the project root. The other commands
live in the library. Every command follows one convention: progress and the summary go to stderr, machine
output (a redacted line, a reply) to stdout; a user error is one line on stderr and exit code 2.
"""
from __future__ import annotations

import argparse
import importlib
import runpy
import sys
from pathlib import Path
from typing import Callable

from doppel.errors import InputError

STAGES = {
    "ingest": "Telegram exports -> message table (parquet) + accounting report",
    "scrub": "redact private data (the pipeline stage; with no --input, a stdin -> stdout filter)",
    "segment": "messages -> sessions -> turns",
    "build": "turns -> instruction dataset (train/val JSON)",
    "base": "prepare the base model (tiny offline default, or a litgpt checkpoint)",
    "train": "LoRA fine-tuning of the base on the dataset",
    "evaluate": "base vs tuned: loss, style, authorship",
}
COMMANDS = {
    "sample": ("doppel.sample", "write a synthetic full-account Telegram Desktop export"),
    "fetch": ("doppel.telegram.fetch.command", "download private chats with Telethon into data/raw/telethon (resumable)"),
    "chat": ("doppel.chat", "talk to the twin in the terminal"),
    "bench": ("doppel.bench", "benchmarks: `bench prep` (data stages), `bench train` (training throughput)"),
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


# ------------------------------------------------------------------------------------------ stage scripts

def stage_parser(name: str, doc: str | None, *, input: tuple[str, str] | None = None,
                 output: tuple[str, str] | None = None, report: str | None = None) -> argparse.ArgumentParser:
    """The parser every stage starts from: one flag vocabulary (`--input`, `--output`, `--report`,
    `--params`), defaults as dvc.yaml passes them, help on every flag."""
    ap = argparse.ArgumentParser(prog=f"doppel {name}", description=(doc or "").strip().split("\n\n")[0])
    if input:
        ap.add_argument("--input", type=Path, default=Path(input[0]), help=f"{input[1]} (default: {input[0]})")
    if output:
        ap.add_argument("--output", type=Path, default=Path(output[0]), help=f"{output[1]} (default: {output[0]})")
    if report:
        ap.add_argument("--report", type=Path, default=Path(report),
                        help=f"the stage's report: counts in, out and dropped per reason (default: {report})")
    ap.add_argument("--params", type=Path, default=Path("params.yaml"), help="params file (default: params.yaml)")
    return ap


def stage_script(name: str, root: Path | None = None) -> Path:
    root = Path.cwd() if root is None else root
    script = root / "stages" / f"{name}.py"
    if not script.is_file():
        raise InputError(script, f"not found: run `doppel {name}` from the project root (the folder with dvc.yaml)")
    return script


def run_stage_script(script: Path, argv: list[str]) -> int:
    """Run a stage script's `main(argv)` in this process (what `python stages/NAME.py ARGS` does)."""
    namespace = runpy.run_path(str(script), run_name="doppel_stage")
    return int(namespace["main"](argv) or 0)


def script_main(main: Callable[[list[str] | None], int | None]) -> None:
    """For a stage script's `if __name__ == "__main__":` block: doppel's error handling, then exit."""
    name = Path(sys.argv[0]).stem
    sys.exit(guarded(name, lambda: main(sys.argv[1:])))


# ------------------------------------------------------------------------------------------ errors

def guarded(name: str, call: Callable[[], int | None]) -> int:
    """Run a command; user errors become one line on stderr and exit code 2, never a traceback."""
    try:
        return int(call() or 0)
    except InputError as err:
        print(f"doppel {name}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"doppel {name}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        # a table that breaks a data contract (doppel/schemas.py) is bad input too, whichever stage finds it
        if type(err).__module__ != "pandera.errors":
            raise
        print(f"doppel {name}: error: input breaks the data contract: {contract_problem(err)}", file=sys.stderr)
        return 2


def contract_problem(err: Exception) -> str:
    """Which schema, column and check failed; never the failing rows (they can hold private text)."""
    problems = []
    for e in getattr(err, "schema_errors", None) or [err]:
        schema = getattr(getattr(e, "schema", None), "name", None) or "table"
        column = getattr(e, "column_name", None)
        check = getattr(getattr(e, "check", None), "name", None) or getattr(e, "reason_code", None) or type(e).__name__
        problems.append(f"{schema}{'.' + column if column else ''}: {check}")
    return "; ".join(dict.fromkeys(problems))


# ------------------------------------------------------------------------------------------ dispatch

def command(name: str, argv: list[str]) -> Callable[[], int | None]:
    if name == "scrub" and not any(a.split("=")[0] in ("--input", "--output", "--report") for a in argv) \
            and not {"-h", "--help"} & set(argv):
        return lambda: importlib.import_module(SCRUB_FILTER).main(argv)
    if name in STAGES:
        return lambda: run_stage_script(stage_script(name), argv)
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
