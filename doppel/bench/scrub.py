"""`doppel bench scrub`: recall per class and the share of clean lines changed on the red-team set
(tests/data/redteam/*.tsv), then scrub's speed on N generated messages (the sample's texts).

A red-team line counts as caught when its class's placeholder is in the output and its value is not.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from doppel.errors import InputError
from doppel.sample.skeleton import MIN_MESSAGES
from doppel.shell import ArgumentParser

REDTEAM = Path(__file__).resolve().parents[2] / "tests" / "data" / "redteam"
NAMES_FILES = "names"  # red-team files whose name starts so are scored only with names on


def read_redteam(folder: Path, *, names: bool) -> list[tuple[str, str, str]]:
    """(text, class, value) rows of every .tsv in `folder` (names*.tsv only with `names`); "\\n" in a text is a
    newline."""
    files = sorted(p for p in folder.glob("*.tsv") if names or not p.name.startswith(NAMES_FILES))
    if not files:
        raise InputError(folder, "no red-team .tsv files here")
    return [row for path in files for row in read_redteam_file(path)]


def read_redteam_file(path: Path) -> list[tuple[str, str, str]]:
    """(text, class, value) rows of one red-team .tsv."""
    rows = []
    for k, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split("\t")
        if len(parts) != 3:
            raise InputError(path, f"line {k}: expected text<TAB>class<TAB>value, got {len(parts)} fields")
        text, cls, value = (p.replace("\\n", "\n") for p in parts)
        rows.append((text, cls, value))
    return rows


def score(rows: list[tuple[str, str, str]], *, names: bool) -> dict:
    """{"recall": {class: share caught}, "missed": [(class, text, output)], "clean_changed": share, "clean": n}."""
    from doppel.redact.scrub import scrub_texts

    out, _ = scrub_texts(pl.Series("text", [r[0] for r in rows], dtype=pl.String), names=names)
    hits: dict[str, list[int]] = {}
    missed, clean, changed = [], 0, []
    for (text, cls, value), got in zip(rows, out.to_list()):
        if cls == "CLEAN":
            clean += 1
            if got != text:
                changed.append((text, got))
            continue
        ok = f"<{cls}>" in got and (not value or value not in got)
        hits.setdefault(cls, []).append(ok)
        if not ok:
            missed.append((cls, text, got))
    return {
        "recall": {c: round(sum(v) / len(v), 4) for c, v in sorted(hits.items())},
        "lines": {c: len(v) for c, v in sorted(hits.items())},
        "missed": missed, "clean": clean, "clean_changed_lines": changed,
        "clean_changed": round(len(changed) / clean, 4) if clean else 0.0,
    }


def speed(n: int, seed: int, names: bool, workdir: Path) -> tuple[float, int]:
    """(seconds, messages) of scrub's core (`scrub.run`, as the stage runs it) on the ingested table of an
    n-message generated export; the export and its ingest are made once per (n, seed) in `workdir`."""
    from doppel import config, sample
    from doppel.bench.prep import check_project_root, run_stage, stage_commands
    from doppel.redact import scrub
    from doppel.redact.scrub import COLUMNS_READ

    export_dir = workdir / f"export-{n}-{seed}"
    table = export_dir / "messages.parquet"
    if not table.exists():
        check_project_root()
        print(f"generating a {n:,}-message export in {export_dir} ...", file=sys.stderr)
        sample.write_sample(export_dir, n, seed)
        cmd = stage_commands(export_dir / "result.json", export_dir)["ingest"]
        run_stage([*cmd[:cmd.index("--output") + 1], str(table), *cmd[cmd.index("--report"):]])
    messages = pl.read_parquet(table, columns=[*COLUMNS_READ, "pii_hints"])
    cfg = config.load("scrub", "params.yaml", overrides={"names": names})
    start = time.perf_counter()
    scrub.run(cfg, messages)
    return time.perf_counter() - start, messages.height


def main(argv: list[str] | None = None) -> int:
    ap = ArgumentParser(prog="doppel bench scrub", description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=1_000_000,
                    help="generated messages for the speed figure (default: 1000000; 0: skip it)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the generated messages (default: 1)")
    ap.add_argument("--names", action=argparse.BooleanOptionalAction, default=None,
                    help="redact person names too and score names*.tsv, or not (default: scrub.names of params.yaml)")
    ap.add_argument("--redteam", type=Path, default=REDTEAM,
                    help=f"folder of red-team .tsv files (default: {REDTEAM})")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "doppel-bench",
                    help="where the generated export is kept (default: $TMPDIR/doppel-bench)")
    ap.add_argument("--show", action="store_true", help="print every missed line and every changed clean line")
    args = ap.parse_args(argv)
    if args.messages < 0:
        raise InputError("--messages", f"must be >= 0, got {args.messages}")
    if 0 < args.messages < MIN_MESSAGES:
        raise InputError("--messages", f"0 (skip the speed figure) or at least {MIN_MESSAGES}, got {args.messages}")
    if args.names is None:
        from doppel import config
        args.names = config.load("scrub", config.PARAMS_FILE).names
    res = score(read_redteam(args.redteam, names=args.names), names=args.names)
    for cls, r in res["recall"].items():
        print(f"recall {cls:<15} {r:.3f}  ({res['lines'][cls]} lines)")
    print(f"clean lines changed {res['clean_changed']:.3%}  ({len(res['clean_changed_lines'])} of {res['clean']})")
    for path in sorted(args.redteam.glob("*.tsv")):  # per file: names_clean.tsv is the name-like clean set
        if args.names or not path.name.startswith(NAMES_FILES):
            part = score(read_redteam_file(path), names=args.names)
            if part["clean"]:
                print(f"  {path.name:<20} {part['clean_changed']:.3%}  ({len(part['clean_changed_lines'])} of "
                      f"{part['clean']})")
            if "NAME" in part["recall"]:
                print(f"  {path.name:<20} recall NAME {part['recall']['NAME']:.3f}  ({part['lines']['NAME']} lines)")
    if args.show:
        for cls, text, got in res["missed"]:
            print(f"MISSED {cls}: {text!r} -> {got!r}")
        for text, got in res["clean_changed_lines"]:
            print(f"CHANGED: {text!r} -> {got!r}")
    if args.messages:
        seconds, n = speed(args.messages, args.seed, args.names, args.workdir)
        print(f"speed {n:,} messages in {seconds:.2f}s, {n / seconds:,.0f} messages/s (names {'on' if args.names else 'off'})")
    sys.stdout.flush()
    return 0
