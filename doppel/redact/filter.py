"""`doppel scrub` with no --input/--output/--report: a stdin -> stdout filter, one redacted line out per line in.

    cat notes.txt | doppel scrub > notes.clean.txt

It redacts what the scrub stage does: person names too when params.yaml's `scrub.names` is on (--params to read
another file, --names / --no-names to decide without one).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import polars as pl

from doppel import config
from doppel.errors import InputError
from doppel.redact.scrub import scrub_texts
from doppel.shell import ArgumentParser


def filter_stream(inp, out, *, names: bool, chunk_size: int = 1 << 20) -> int:
    """Binary streams in and out: one redacted line out per line in (a final line without '\\n' stays so).

    Reads whatever is available (up to chunk_size bytes) and scrubs its complete lines as one batch, so a pipe
    is processed in large batches while an interactive line is answered at once.
    """
    read = getattr(inp, "read1", inp.read)
    pending: list[bytes] = []  # the start of a line whose end has not come yet
    lines = 0
    while chunk := read(chunk_size):
        cut = chunk.rfind(b"\n")
        if cut < 0:
            pending.append(chunk)
            continue
        batch = b"".join([*pending, chunk[:cut]])
        pending = [chunk[cut + 1:]]
        lines += _write_lines(batch, out, final_newline=True, names=names)
    if rest := b"".join(pending):
        lines += _write_lines(rest, out, final_newline=False, names=names)
    return lines


def _write_lines(batch: bytes, out, final_newline: bool, names: bool) -> int:
    lines = batch.decode("utf-8", errors="replace").split("\n")
    redacted, _ = scrub_texts(pl.Series("text", lines, dtype=pl.String), names=names)
    text = "\n".join(redacted.to_list())
    out.write(text.encode("utf-8") + (b"\n" if final_newline else b""))
    out.flush()
    return len(lines)


def main(argv: list[str] | None = None) -> int:
    ap = ArgumentParser(
        prog="doppel scrub",
        description="Redact private data from stdin to stdout, one redacted line per line. With --input, "
        "--output or --report: the pipeline stage (stages/scrub.py; `doppel scrub --help`).",
    )
    ap.add_argument("--names", action=argparse.BooleanOptionalAction, default=None,
                    help="person names become <NAME> too, or not (default: scrub.names of the params file)")
    ap.add_argument("--params", type=Path, default=config.PARAMS_FILE,
                    help=f"params file whose scrub section is followed (default: {config.PARAMS_FILE})")
    args = ap.parse_args(argv)
    if args.names is None and not args.params.exists():  # outside the project: say the flags decide without it
        raise InputError(args.params, "params file not found (its scrub.names says whether names are redacted): "
                                      "run from the project root, pass --params, or decide with --names / --no-names")
    names = config.load("scrub", args.params).names if args.names is None else args.names
    try:
        filter_stream(sys.stdin.buffer, sys.stdout.buffer, names=names)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0
