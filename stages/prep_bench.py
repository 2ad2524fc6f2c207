"""`doppel bench prep`: time ingest -> scrub -> segment -> build on a generated export of N messages.

The export is generated once per (N, seed) into --workdir and reused. The pipeline runs in a child process
so its peak RSS is the pipeline's own (not the generator's); the child writes the same files the DVC stages do.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_pipeline(export: Path, out: Path) -> dict:
    """The four data stages in one process, the way the DVC stages chain them; seconds per stage."""
    from stages import build, ingest, scrub, segment
    from stages import params as params_mod

    seconds = {}
    t = time.perf_counter()
    messages, ingest_report = ingest.read_exports([export], params_mod.load("ingest"))
    seconds["ingest"] = time.perf_counter() - t
    t = time.perf_counter()
    clean, _ = scrub.scrub_frame(messages, params_mod.load("scrub"))
    seconds["scrub"] = time.perf_counter() - t
    t = time.perf_counter()
    turns, _ = segment.segment(clean, params_mod.load("segment"))
    seconds["segment"] = time.perf_counter() - t
    t = time.perf_counter()
    train, val, report = build.build(turns, params_mod.load("build"))
    build.write_rows(train, out / "train.json")
    build.write_rows(val, out / "val.json")
    seconds["build"] = time.perf_counter() - t
    return {"messages": ingest_report["messages_read"], "rows": report["rows"], "seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="doppel bench prep", description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "doppel-bench")
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:  # inside the measured process
        print(json.dumps(run_pipeline(args.child, args.workdir)))
        return 0

    from stages import sample

    export_dir = args.workdir / f"export-{args.messages}-{args.seed}"
    export = export_dir / "result.json"
    if not export.exists():
        print(f"generating a {args.messages:,}-message export in {export_dir} ...", file=sys.stderr)
        sample.write_sample(export_dir, args.messages, args.seed)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "stages.cli", "bench", "prep", "--child", str(export), "--workdir", str(args.workdir)],
        capture_output=True, text=True,
    )
    wall = time.perf_counter() - start
    if proc.returncode:
        print(proc.stderr, file=sys.stderr)
        return proc.returncode
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    size_mb = export.stat().st_size / 1e6
    stages = " ".join(f"{k} {v:.2f}s" for k, v in result["seconds"].items())
    print(
        f"bench prep: {result['messages']:,} messages ({size_mb:.0f} MB export) in {wall:.2f}s wall "
        f"({sum(result['seconds'].values()):.2f}s in stages: {stages}), "
        f"{result['messages'] / wall:,.0f} messages/s, peak RSS {peak_mb:,.0f} MB, "
        f"rows train {result['rows']['train']:,} val {result['rows']['val']:,}"
    )
    return 0
