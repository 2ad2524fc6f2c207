"""What every stage script in stages/ shares: one flag vocabulary, running a script, one-line errors.

Kept apart from the command dispatcher (doppel/cli.py) so that adding a command does not change the code
every DVC stage depends on.
"""
from __future__ import annotations

import argparse
import errno
import runpy
import sys
from pathlib import Path
from typing import Callable

from doppel.errors import InputError


class ArgumentParser(argparse.ArgumentParser):
    """argparse with doppel's error convention: a bad flag is one line and exit 2, not the usage block."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def stage_parser(name: str, doc: str | None, *, input: tuple[str, str] | None = None,
                 output: tuple[str, str] | None = None, report: str | None = None) -> ArgumentParser:
    """The parser every stage starts from: one flag vocabulary (`--input`, `--output`, `--report`,
    `--params`), defaults as dvc.yaml passes them, help on every flag."""
    ap = ArgumentParser(prog=f"doppel {name}", description=(doc or "").strip().split("\n\n")[0])
    if input:
        ap.add_argument("--input", type=Path, default=Path(input[0]), help=f"{input[1]} (default: {input[0]})")
    if output:
        ap.add_argument("--output", type=Path, default=Path(output[0]), help=f"{output[1]} (default: {output[0]})")
    if report:
        ap.add_argument("--report", type=Path, default=Path(report),
                        help=f"the stage's report: counts in, out and dropped per reason (default: {report})")
    ap.add_argument("--params", type=Path, default=Path("params.yaml"), help="params file (default: params.yaml)")
    return ap


def add_twin_flags(ap: argparse.ArgumentParser, section: str, sampling: bool = False,
                   no_adapter: bool = True) -> None:
    """The flags of every command that loads the twin (chat, serve, bot, evaluate, export, quiz); each
    defaults to the command's params section. `twin_flags(args)` turns them into config overrides."""
    ap.add_argument("--base", type=Path, help="base checkpoint dir (default: the base stage's, base.checkpoint_dir)")
    ap.add_argument("--adapter", help=f"LoRA adapter dir (default: {section}.adapter)")
    if no_adapter:
        ap.add_argument("--no-adapter", action="store_true", help="the base model alone")
    if sampling:
        ap.add_argument("--max-new-tokens", type=int,
                        help=f"longest reply, in tokens (default: {section}.max_new_tokens)")
        ap.add_argument("--temperature", type=float, help=f"0: greedy (default: {section}.temperature)")
        ap.add_argument("--top-k", type=int, help=f"sample from the k likeliest tokens (default: {section}.top_k)")
        ap.add_argument("--top-p", type=float, help=f"nucleus sampling share (default: {section}.top_p)")
        ap.add_argument("--seed", type=int,
                        help=f"reproducible replies: reply n uses seed + n (default: {section}.seed)")
    ap.add_argument("--device", help=f"auto, cpu, cuda, cuda:1 ... (default: {section}.device)")
    ap.add_argument("--precision", help=f"32-true, bf16-true, 16-true (default: {section}.precision; null: bf16 on "
                                        "GPU, 32-true on CPU)")


TWIN_KEYS = ("adapter", "max_new_tokens", "temperature", "top_k", "top_p", "seed", "device", "precision")


def twin_flags(args: argparse.Namespace) -> dict:
    """The twin flags that were given, as overrides of the command's params section."""
    return {k: getattr(args, k) for k in TWIN_KEYS if getattr(args, k, None) is not None}


# the project a source install of doppel came from (stages/ beside doppel/): where --help finds a stage's flags
SOURCE_ROOT = Path(__file__).resolve().parents[1]
HELP_FLAGS = ("-h", "--help")


def stage_script(name: str, root: Path | None = None, argv: list[str] = ()) -> Path:
    """stages/NAME.py under `root` (the working folder). Help works anywhere: with -h/--help the script of
    the project doppel was installed from will do; only running needs the project root."""
    root = Path.cwd() if root is None else root
    script = root / "stages" / f"{name}.py"
    if not script.is_file() and set(HELP_FLAGS) & set(argv) and (SOURCE_ROOT / "stages" / f"{name}.py").is_file():
        return SOURCE_ROOT / "stages" / f"{name}.py"
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

# Where a file cannot go (a file where a folder should be, no permission, a full or read-only disk): the user's
# path or machine, so one line naming the path, not a traceback.
WRITE_ERRNOS = {errno.EEXIST, errno.ENOTDIR, errno.EISDIR, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EROFS,
                errno.EDQUOT}


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
    except OSError as err:
        if err.errno not in WRITE_ERRNOS:  # other OS errors are no user's doing: the traceback helps
            raise
        why = "a file where a folder is needed" if err.errno in (errno.EEXIST, errno.ENOTDIR) else err.strerror.lower()
        print(f"doppel {name}: error: {err.filename or 'output'}: {why}", file=sys.stderr)
        return 2
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
