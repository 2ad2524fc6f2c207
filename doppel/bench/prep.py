"""`doppel bench prep`: time ingest -> scrub -> segment -> build on a generated export of N messages.

The export is generated once per (N, seed) into --workdir and reused. Each stage runs as its own process, the
way `dvc repro` runs them: `python stages/NAME.py` from the project root, with its params.yaml. The figures
are wall seconds per stage and the largest peak RSS of any stage (the memory the pipeline needs).

Layout lines: the same export re-saved minified and with 4-space indentation (the way other tools and editors
write it; both go through ingest's streaming JSON reader, not the fast path for Telegram's own layout), each
ingested alone: time and peak RSS beside the canonical file's.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from doppel.errors import InputError


def stage_commands(export: Path, work: Path) -> dict[str, list[str]]:
    """The data stages as dvc.yaml runs them (`python stages/NAME.py`, from the project root) on `work`'s files."""
    def stage(name: str, input: Path, output: Path, report: str) -> list[str]:
        return [sys.executable, f"stages/{name}.py", "--input", str(input), "--output", str(output),
                "--report", str(work / report)]

    return {
        "ingest": stage("ingest", export, work / "messages.parquet", "ingest.json"),
        "scrub": stage("scrub", work / "messages.parquet", work / "messages_clean.parquet", "scrub.json"),
        "segment": stage("segment", work / "messages_clean.parquet", work / "turns.parquet", "segment.json")
        + ["--plots", str(work / "plots")],
        "build": stage("build", work / "turns.parquet", work / "processed", "dataset.json"),
    }


LAYOUTS = ("minified", "indent4")


def write_layout(export: Path, layout: str, out: Path) -> None:
    """The canonical export re-laid out, line by line (in Telegram's layout a string never spans lines, so the
    leading spaces of a line are its depth): minified (one line) or indented by 4 spaces per level."""
    tmp = out.with_name(out.name + ".tmp")
    with open(export, "rb") as src, open(tmp, "wb") as dst:
        for line in src:
            body = line.lstrip(b" ")
            if layout == "minified":
                dst.write(body.rstrip(b"\n"))
            else:
                dst.write(b"    " * (len(line) - len(body)) + body)
    tmp.rename(out)


def layout_lines(export: Path, work: Path, canonical: tuple[float, float], layouts: list[str]) -> list[str]:
    """One line per layout: ingest alone on the re-laid-out export, beside the canonical file's figures."""
    lines = [f"bench prep layout canonical: ingest {canonical[0]:.2f}s, peak RSS {canonical[1]:,.0f} MB "
             f"({export.stat().st_size / 1e6:.0f} MB)"]
    for layout in layouts:
        variant = export.parent / f"result-{layout}.json"
        if not variant.exists():
            print(f"writing the {layout} layout of the export ...", file=sys.stderr)
            write_layout(export, layout, variant)
        cmd = stage_commands(variant, work)["ingest"]
        cmd[cmd.index("--output") + 1] = str(work / f"messages-{layout}.parquet")
        cmd[cmd.index("--report") + 1] = str(work / f"ingest-{layout}.json")
        seconds, peak = run_stage(cmd)
        read = json.loads((work / f"ingest-{layout}.json").read_text())["messages_read"]
        lines.append(f"bench prep layout {layout}: ingest {seconds:.2f}s ({seconds / canonical[0]:.1f}x), peak RSS "
                     f"{peak:,.0f} MB ({variant.stat().st_size / 1e6:.0f} MB), {read:,} messages read")
    return lines


def check_project_root() -> None:
    stages = Path.cwd() / "stages"
    if not stages.is_dir():
        raise InputError(stages, "not found: run `doppel bench prep` from the project root (the folder with dvc.yaml)")


def run_stage(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one stage process."""
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child becomes the stage, so its rusage is the stage's alone
        os.execv(cmd[0], cmd)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"bench prep: stage failed: {' '.join(cmd)}")
    return seconds, usage.ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="doppel bench prep", description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=1_000_000,
                    help="messages in the generated export (default: 1000000)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the generated export (default: 1)")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "doppel-bench",
                    help="where the export and the stages' outputs go (default: $TMPDIR/doppel-bench)")
    ap.add_argument("--layouts", default=",".join(LAYOUTS),
                    help=f"re-laid-out exports to ingest beside the canonical one, comma-separated, of "
                         f"{', '.join(LAYOUTS)}; 'none' for none (default: {','.join(LAYOUTS)})")
    args = ap.parse_args(argv)
    layouts = [] if args.layouts.strip() == "none" else [x.strip() for x in args.layouts.split(",") if x.strip()]
    if unknown := [x for x in layouts if x not in LAYOUTS]:
        ap.error(f"--layouts: unknown layout {unknown[0]!r} (known: {', '.join(LAYOUTS)}, or none)")
    check_project_root()

    from doppel import sample

    export_dir = args.workdir / f"export-{args.messages}-{args.seed}"
    export = export_dir / "result.json"
    if not export.exists():
        print(f"generating a {args.messages:,}-message export in {export_dir} ...", file=sys.stderr)
        sample.write_sample(export_dir, args.messages, args.seed)
    work = args.workdir / "run"
    work.mkdir(parents=True, exist_ok=True)
    figures = {name: run_stage(cmd) for name, cmd in stage_commands(export, work).items()}
    wall = sum(s for s, _ in figures.values())
    peak = max(m for _, m in figures.values())
    read = json.loads((work / "ingest.json").read_text())["messages_read"]
    rows = json.loads((work / "dataset.json").read_text())["rows"]
    per_stage = ", ".join(f"{name} {s:.2f}s/{m:,.0f} MB" for name, (s, m) in figures.items())
    for line in layout_lines(export, work, figures["ingest"], layouts):
        print(line)
    print(
        f"bench prep: {read:,} messages ({export.stat().st_size / 1e6:.0f} MB export) in {wall:.2f}s, "
        f"{read / wall:,.0f} messages/s, peak RSS {peak:,.0f} MB (largest stage); {per_stage}; "
        f"rows train {rows['train']:,} val {rows['val']:,}"
    )
    return 0
