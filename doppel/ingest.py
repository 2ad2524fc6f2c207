"""ingest: Telegram Desktop exports (and `doppel fetch` output) -> the message table + accounting.

The readers (doppel.telegram.desktop, .jsonl) stream each file as (chat, batch) pairs; batches are parsed on
a thread pool (doppel.telegram.messages) and the finished rows spilled to disk every SPILL_ROWS messages;
the table is then streamed from the spill into the output. Memory follows the chunk and spill sizes, not
the export's size.
"""
from __future__ import annotations

import tempfile
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl

from doppel.config import IngestConfig
from doppel.errors import InputError
from doppel.schemas import Message, MessageBatch
from doppel.telegram.desktop import RawBatch, iter_desktop_export, parse_batch
from doppel.telegram.jsonl import iter_fetch_file
from doppel.telegram.messages import Chat, Tally, fast_frame, finish_batch, frame_from_dicts, to_messages

PARSE_THREADS = 2  # Polars parses batches without the GIL: one per core here
SPILL_ROWS = 200_000  # finished messages held in memory before they are checked and written to the spill


def find_inputs(paths: list[Path]) -> list[Path]:
    """Export files under the given paths: result.json files, and fetch's chat_*.jsonl."""
    files: list[Path] = []
    for path in map(Path, paths):
        if not path.exists():
            raise InputError(path, "no such file or folder")
        if path.is_file():
            files.append(path)
            continue
        found = sorted(path.rglob("result.json")) + sorted(path.rglob("chat_*.jsonl"))
        if not found:
            raise InputError(path, "no Telegram export here (no result.json, no chat_*.jsonl from doppel fetch)")
        files += found
    return files


class _Spiller:
    """Batches in file order -> finished, validated parts on disk, plus the chats seen and their known owners."""

    def __init__(self, spill: Path, cfg: IngestConfig, tally: Tally):
        self.spill, self.cfg, self.tally = spill, cfg, tally
        self.parts: list[Path] = []
        self.chats: set[int] = set()
        self.owners: dict[int, str] = {}  # chats whose export names the owner
        self.held: list[pl.DataFrame] = []  # read, not yet finished and spilled
        self.held_rows = 0

    def add(self, chat: Chat, frame: pl.DataFrame) -> None:
        if frame.is_empty():
            return
        self.held.append(frame)
        self.held_rows += frame.height
        self.chats.add(chat.id)
        if chat.owner_id:
            self.owners.setdefault(chat.id, chat.owner_id)
        if self.held_rows >= SPILL_ROWS:
            self.flush()

    def add_dicts(self, chat: Chat, messages: list[dict]) -> None:
        self.add(chat, frame_from_dicts(chat, messages, self.tally))

    def flush(self) -> None:
        if not self.held:
            return
        frame = finish_batch(pl.concat(self.held, how="vertical", rechunk=False), self.cfg)
        self.held.clear()
        self.held_rows = 0
        # the owner flag is set at the end; uniqueness of kept messages is `to_messages`' job
        MessageBatch.validate(frame.with_columns(is_owner=pl.lit(False)))
        path = self.spill / f"part-{len(self.parts):06d}.arrow"
        frame.write_ipc(path, compression="uncompressed")
        self.parts.append(path)

    def messages(self) -> pl.LazyFrame:
        self.flush()
        return to_messages(self.parts, self.chats, self.owners, self.cfg)


def _read_file(path: Path, out: _Spiller, pool: ThreadPoolExecutor) -> None:
    """One export file into `out`: raw batches parsed by Polars on the pool (settled in file order, falling
    back to the tolerant path), dict batches directly."""
    tally = out.tally
    pending: deque = deque()

    def settle() -> None:
        chat, batch, future = pending.popleft()
        if (result := future.result()) is not None:
            out.add(chat, result[0])
            tally.malformed += result[1]
        else:
            out.add_dicts(chat, parse_batch(batch.segment, batch.indent, tally))

    reader = iter_fetch_file if path.suffix == ".jsonl" else iter_desktop_export
    try:
        for chat, batch in reader(path, tally):
            if isinstance(batch, RawBatch):
                pending.append((chat, batch, pool.submit(fast_frame, chat, batch.segment)))
                while len(pending) > PARSE_THREADS:
                    settle()
            else:
                out.add_dicts(chat, batch)
        while pending:
            settle()
    except IsADirectoryError:
        raise InputError(path, "is a folder") from None
    except PermissionError:
        raise InputError(path, "permission denied") from None


def scan_exports(paths: list[Path], spill: Path, cfg: IngestConfig,
                 tally: Tally | None = None) -> tuple[pl.LazyFrame, dict]:
    """Exports -> (the validated message table as a LazyFrame over batches spilled to `spill`, report).

    Every SPILL_ROWS messages read are finished (times, kinds, drop reasons), validated and written to
    `spill`, so memory holds a few batches, not the export."""
    tally = tally or Tally()
    out = _Spiller(spill, cfg, tally)
    with ThreadPoolExecutor(PARSE_THREADS) as pool:
        for path in find_inputs(paths):
            tally.files.append(str(path))
            _read_file(path, out, pool)
    messages = out.messages()
    return messages, accounting(messages, tally)


def read_exports(paths: list[Path], cfg: IngestConfig, tally: Tally | None = None) -> tuple[pl.DataFrame, dict]:
    """Exports -> (validated message table, accounting report), in memory."""
    with tempfile.TemporaryDirectory(prefix="doppel-ingest-") as spill:
        messages, report = scan_exports(paths, Path(spill), cfg, tally)
        return Message.validate(messages.collect()), report


def accounting(messages: pl.LazyFrame | pl.DataFrame, tally: Tally) -> dict:
    kept = pl.col("drop_reason").is_null()
    per_chat = (
        messages.lazy().group_by("chat_id")
        .agg(
            pl.col("chat_type").first().alias("type"),
            pl.len().alias("read"),
            kept.sum().alias("kept"),
            (kept & pl.col("is_owner")).sum().alias("kept_owner"),
        )
        .sort("chat_id")
        .collect()
    )
    dropped = dict(
        messages.lazy().filter(~kept).group_by("drop_reason").len().sort("drop_reason").collect().iter_rows()
    )
    if tally.malformed:
        dropped["malformed"] = dropped.get("malformed", 0) + tally.malformed
    return {
        "files": len(tally.files),
        "messages_read": int(per_chat["read"].sum()) + tally.malformed,
        "kept": int(per_chat["kept"].sum()),
        "kept_owner": int(per_chat["kept_owner"].sum()),
        "dropped": dict(sorted(dropped.items())),
        "repaired_batches": tally.repaired_batches,
        "chats": {str(r.pop("chat_id")): r for r in per_chat.iter_rows(named=True)},
    }


def summary(report: dict, seconds: float | None = None) -> str:
    lines = [
        f"ingest: {report['files']} file(s), {report['messages_read']:,} messages read, "
        f"{report['kept']:,} kept ({report['kept_owner']:,} by the owner)"
        + (f" in {seconds:.1f}s" if seconds is not None else ""),
    ]
    if report["dropped"]:
        lines.append("  dropped: " + ", ".join(f"{k} {v:,}" for k, v in report["dropped"].items()))
    if report["kept"] and not report["kept_owner"]:
        lines.append("  warning: none of the kept messages is the owner's: check ingest.owner_id")
    kept_chats = sum(1 for c in report["chats"].values() if c["kept"])
    lines.append(f"  chats: {len(report['chats'])} read, {kept_chats} with kept messages")
    if report["repaired_batches"]:
        lines.append(f"  repaired: {report['repaired_batches']} batch(es) had invalid JSON escapes or UTF-8")
    return "\n".join(lines)
