"""`doppel bench memory`: the memory index's build speed and retrieval latency on N messages, beside the goals
(build >= 200,000 messages/s on a million, retrieval <= 20 ms per reply) and beside bm25s' own build.

The texts are a generated export's (the one `doppel bench prep` generates, in the same --workdir), ingested by
the ingest stage: every message with text, in chat and time order, each with the message before it in its chat
as the message it answered, repeated (a later copy a year on) until there are N rows. The index is built in this
process, --repeat times (median). Retrieval: --queries replies, each asked with the text of a random message as
the query, in that message's chat at that message's time (scope chat, as at reply time) and over all chats.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl

from doppel.bench.prep import check_project_root, run_stage, stage_commands
from doppel.sample.skeleton import MIN_MESSAGES
from doppel.shell import ArgumentParser

GOAL_BUILD = 200_000  # messages/s (issue 24)
GOAL_RETRIEVAL_MS = 20.0
COPY_SHIFT = timedelta(days=366)  # each repeat of the texts lies this much later than the one before


def memory_table(messages: Path, n: int) -> pl.DataFrame:
    """N memory rows from an ingested message table (see the module's docstring)."""
    texts = (pl.read_parquet(messages, columns=["chat_id", "ts", "message_id", "text"])
             .filter(pl.col("text") != "").sort("chat_id", "ts", "message_id")
             .with_columns(answered=pl.col("text").shift(1).over("chat_id").fill_null("")))
    copies = [texts.with_columns(pl.col("ts") + COPY_SHIFT * i) for i in range(-(-n // max(texts.height, 1)))]
    return (pl.concat(copies).head(n).with_row_index("turn_index")
            .select("chat_id", pl.lit(0, pl.Int64).alias("session_id"), pl.col("turn_index").cast(pl.Int64),
                    "ts", "answered", "text"))


def time_build(table: pl.DataFrame, repeat: int):
    from doppel.memory.store import Memory

    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        memory = Memory(table)
        seconds.append(time.perf_counter() - start)
    return memory, statistics.median(seconds)


def time_bm25s(table: pl.DataFrame) -> float:
    """bm25s' own tokenize + index of the same documents (the reference the index replaced)."""
    import bm25s

    from doppel.memory.store import PLACEHOLDER

    start = time.perf_counter()
    docs = table.select(pl.concat_str("answered", "text", separator="\n").str.replace_all(PLACEHOLDER, " "))
    clean = [t.lower() for t in docs.to_series().to_list()]
    bm25s.BM25().index(bm25s.tokenize(clean, stopwords=None, show_progress=False), show_progress=False)
    return time.perf_counter() - start


def time_queries(memory, table: pl.DataFrame, queries: int, k: int, seed: int) -> dict[str, list[float]]:
    rng = np.random.default_rng(seed)
    picks = table[rng.integers(0, table.height, queries).tolist()].to_dicts()
    out: dict[str, list[float]] = {"chat": [], "all": []}
    for scope, times in out.items():
        for row in picks:
            start = time.perf_counter()
            memory.search(row["text"], chat_id=row["chat_id"], k=k, scope=scope, as_of=row["ts"])
            times.append((time.perf_counter() - start) * 1000)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = ArgumentParser(prog="doppel bench memory", description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=1_000_000, help="memory rows (default: 1000000)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the generated export and queries (default: 1)")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "doppel-bench",
                    help="where the export and the ingested table go (default: $TMPDIR/doppel-bench)")
    ap.add_argument("--repeat", type=int, default=3, help="index builds; the median is reported (default: 3)")
    ap.add_argument("--queries", type=int, default=200, help="replies timed per scope (default: 200)")
    ap.add_argument("--k", type=int, default=4, help="memories per reply (default: 4, as params' memory.k)")
    ap.add_argument("--reference-rows", type=int, default=100_000,
                    help="rows bm25s indexes for the reference speed; 0 for none (default: 100000)")
    args = ap.parse_args(argv)
    for name in ("repeat", "queries", "k"):
        if getattr(args, name) < 1:
            ap.error(f"--{name}: {getattr(args, name)} (at least 1)")
    if args.messages < MIN_MESSAGES:
        ap.error(f"--messages: {args.messages} (at least {MIN_MESSAGES}, the smallest export doppel sample writes)")
    if args.reference_rows < 0:
        ap.error(f"--reference-rows: {args.reference_rows} (0 or more)")
    check_project_root()

    from doppel import sample

    export = args.workdir / f"export-{args.messages}-{args.seed}" / "result.json"
    if not export.exists():
        print(f"generating a {args.messages:,}-message export in {export.parent} ...", file=sys.stderr)
        sample.write_sample(export.parent, args.messages, args.seed)
    messages = export.parent / "messages.parquet"
    if not messages.exists():
        cmd = stage_commands(export, export.parent)["ingest"]
        cmd[cmd.index("--output") + 1] = str(messages)
        run_stage(cmd)
    table = memory_table(messages, args.messages)
    memory, build_s = time_build(table, args.repeat)
    rate = table.height / build_s
    print(f"bench memory build: {table.height:,} messages in {build_s:.2f}s, {rate:,.0f} messages/s "
          f"(goal >= {GOAL_BUILD:,}: {rate / GOAL_BUILD:.2f}x the goal; median of {args.repeat})")
    if args.reference_rows:
        ref = table.head(args.reference_rows)
        ref_rate = ref.height / time_bm25s(ref)
        print(f"bench memory reference: bm25s tokenize + index of {ref.height:,} of them {ref_rate:,.0f} messages/s; "
              f"doppel's index builds {rate / ref_rate:.1f}x as fast")
    for scope, ms in time_queries(memory, table, args.queries, args.k, args.seed).items():
        p50, p95 = np.percentile(ms, [50, 95])
        print(f"bench memory retrieval scope {scope}: p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {max(ms):.1f} ms over "
              f"{args.queries} replies, k {args.k} (goal <= {GOAL_RETRIEVAL_MS:.0f} ms: p95 is "
              f"{p95 / GOAL_RETRIEVAL_MS:.2f}x the goal)")
    return 0
