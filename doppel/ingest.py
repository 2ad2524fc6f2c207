"""ingest: Telegram Desktop exports (and `doppel fetch` output) -> the message table + accounting.

doppel.telegram.sources finds the export files (in folders and zips); doppel.telegram.reader streams each as
(chat, batch) pairs, by the reader its layout needs; raw batches are parsed on
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
from doppel.schemas import Message, MessageBatch
from doppel.telegram.desktop import RawBatch, parse_batch
from doppel.telegram.messages import TELEGRAM_SERVICE_CHAT, Chat, Tally, fast_frame, finish_batch, frame_from_dicts, to_messages
from doppel.telegram.reader import iter_source
from doppel.telegram.sources import Source, find_sources

PARSE_THREADS = 2  # Polars parses batches without the GIL: one per core here
SPILL_ROWS = 200_000  # finished messages held in memory before they are checked and written to the spill


class _Spiller:
    """Batches in file order -> finished, validated parts on disk, plus the chats seen and their known owners."""

    def __init__(self, spill: Path, cfg: IngestConfig, tally: Tally):
        self.spill, self.cfg, self.tally = spill, cfg, tally
        self.parts: list[Path] = []
        self.chats: set[int] = set()
        self.owners: dict[int, str] = {}  # chats whose export names the owner
        self.file_chats: set[int] = set()  # chats of the file being read
        self.held: list[pl.DataFrame] = []  # read, not yet finished and spilled
        self.held_rows = 0

    def add(self, chat: Chat, frame: pl.DataFrame) -> None:
        if frame.is_empty():
            return
        self.held.append(frame)
        self.held_rows += frame.height
        self.chats.add(chat.id)
        self.file_chats.add(chat.id)
        if chat.owner_id:
            self.owners.setdefault(chat.id, chat.owner_id)
        if self.held_rows >= SPILL_ROWS:
            self.flush()

    def add_dicts(self, chat: Chat, messages: list[dict]) -> None:
        self.add(chat, frame_from_dicts(chat, messages, self.tally))

    def end_file(self) -> None:
        """The owner the file named (wherever in it) is the owner of its chats that named none."""
        if self.tally.file_owner:
            for chat_id in self.file_chats:
                self.owners.setdefault(chat_id, self.tally.file_owner)
        self.file_chats.clear()
        self.tally.file_owner = None

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

    def messages(self) -> tuple[pl.LazyFrame, dict]:
        self.flush()
        return to_messages(self.parts, self.chats, self.owners, self.cfg)


def _read_file(source: Source, out: _Spiller, pool: ThreadPoolExecutor) -> None:
    """One export file into `out`: raw batches parsed by Polars on the pool (settled in file order, falling
    back to the tolerant path), dict batches and finished columns directly."""
    tally = out.tally
    pending: deque = deque()

    def settle() -> None:
        chat, batch, future = pending.popleft()
        if (result := future.result()) is not None:
            out.add(chat, result[0])
            tally.malformed += result[1]
        else:
            out.add_dicts(chat, parse_batch(batch.segment, batch.indent, tally, batch.starts))

    for chat, batch in iter_source(source, tally):
        if isinstance(batch, RawBatch):
            pending.append((chat, batch, pool.submit(fast_frame, chat, batch.segment)))
            while len(pending) > PARSE_THREADS:
                settle()
        else:
            while pending:  # file order
                settle()
            if isinstance(batch, pl.DataFrame):
                out.add(chat, batch)
            else:
                out.add_dicts(chat, batch)
    while pending:
        settle()
    out.end_file()


def run(cfg: IngestConfig, paths: list[Path], spill: Path,
        tally: Tally | None = None) -> tuple[pl.LazyFrame, dict]:
    """Exports -> (the validated message table as a LazyFrame over batches spilled to `spill`, report).

    Every SPILL_ROWS messages read are finished (times, kinds, drop reasons), validated and written to
    `spill`, so memory holds a few batches, not the export."""
    tally = tally or Tally()
    out = _Spiller(spill, cfg, tally)
    with ThreadPoolExecutor(PARSE_THREADS) as pool:
        for source in find_sources(paths):
            tally.files.append(source.name)
            _read_file(source, out, pool)
    messages, owners = out.messages()
    return messages, accounting(messages, tally, owners, cfg)


def read_exports(paths: list[Path], cfg: IngestConfig, tally: Tally | None = None) -> tuple[pl.DataFrame, dict]:
    """Exports -> (validated message table, accounting report), in memory."""
    with tempfile.TemporaryDirectory(prefix="doppel-ingest-") as spill:
        messages, report = run(cfg, paths, Path(spill), tally)
        return Message.validate(messages.collect()), report


def accounting(messages: pl.LazyFrame | pl.DataFrame, tally: Tally, owners: dict[int, tuple[str, str]] | None = None,
               cfg: IngestConfig | None = None) -> dict:
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
        "owner": owner_report(owners or {}, per_chat.height),
        "chat_types_left_out": left_out_types(per_chat, cfg) if cfg else {},
    }


def owner_report(owners: dict[int, tuple[str, str]], chats: int) -> dict:
    """Who was taken as the owner and how ("param": ingest.owner_id, "export": named by the export, "guess":
    the sender of a personal chat who is not its peer), as sender ids and chat counts, never names."""
    ids: dict[str, dict] = {}
    for owner, how in owners.values():
        entry = ids.setdefault(f"{how}:{owner}", {"id": owner, "how": how, "chats": 0})
        entry["chats"] += 1
    return {"taken": sorted(ids.values(), key=lambda e: (-e["chats"], e["how"], e["id"])),
            "chats_without_owner": chats - len(owners)}


def left_out_types(per_chat: pl.DataFrame, cfg: IngestConfig) -> dict[str, int]:
    """Messages read in chats of a type `ingest.chat_types` leaves out, by type, most first."""
    out = (
        per_chat.filter(~pl.col("type").is_in(list(cfg.chat_types)) & (pl.col("chat_id") != TELEGRAM_SERVICE_CHAT)
                        & ~pl.col("chat_id").is_in(list(cfg.skip_chats)))
        .group_by("type").agg(pl.col("read").sum()).sort(["read", "type"], descending=[True, False])
    )
    return dict(out.iter_rows())


def summary(report: dict, seconds: float | None = None) -> str:
    lines = [
        f"ingest: {report['files']} file(s), {report['messages_read']:,} messages read, "
        f"{report['kept']:,} kept ({report['kept_owner']:,} by the owner)"
        + (f" in {seconds:.1f}s" if seconds is not None else ""),
    ]
    if report["dropped"]:
        lines.append("  dropped: " + ", ".join(f"{k} {v:,}" for k, v in report["dropped"].items()))
    if not report["messages_read"]:
        lines.append("  warning: the export holds no messages (no chats, or only empty ones): nothing to learn from")
    if report["kept"] and not report["kept_owner"]:
        lines.append("  warning: none of the kept messages is the owner's: check ingest.owner_id")
    kept_chats = sum(1 for c in report["chats"].values() if c["kept"])
    lines.append(f"  chats: {len(report['chats'])} read, {kept_chats} with kept messages")
    lines += owner_lines(report)
    private = sum(c["kept"] for c in report["chats"].values() if c["type"] == "personal_chat")
    if not private and report["chat_types_left_out"]:
        types = ", ".join(f"{t} ({n:,} messages)" for t, n in report["chat_types_left_out"].items())
        lines.append(f"  warning: no private chat kept; the chats left out are {types}: add the types to learn "
                     f"from to ingest.chat_types in params.yaml (e.g. chat_types: [personal_chat, "
                     f"{next(iter(report['chat_types_left_out']))}])")
    if report["repaired_batches"]:
        lines.append(f"  repaired: {report['repaired_batches']} batch(es) had invalid JSON escapes or UTF-8")
    return "\n".join(lines)


HOW = {"param": "set by ingest.owner_id", "export": "the export's own id (personal_information or fetch header)",
       "guess": "a guess: the sender who is not the peer of a personal chat"}


def owner_lines(report: dict) -> list[str]:
    """Who the owner is taken to be, and why (sender ids only)."""
    owner = report.get("owner") or {"taken": [], "chats_without_owner": 0}
    taken = owner["taken"]
    lines = []
    if taken:
        parts = [f"{e['id']}, {HOW[e['how']]}, in {e['chats']} chat{'s' * (e['chats'] != 1)}" for e in taken]
        lines.append("  owner: " + "; ".join(parts))
        if any(e["how"] == "guess" for e in taken):
            lines.append("  note: the owner was guessed: if that sender is not you, set ingest.owner_id "
                         "(e.g. owner_id: user123) in params.yaml")
    if owner["chats_without_owner"]:
        lines.append(f"  owner: unknown in {owner['chats_without_owner']} chat(s) (the export does not say and "
                     "they are not personal chats): set ingest.owner_id in params.yaml")
    return lines
