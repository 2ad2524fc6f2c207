"""Where exports are: files, folders and zip archives -> Sources (a name for messages, a way to open the bytes).

An export is a Desktop `result.json` (any JSON layout), `doppel fetch`'s `chat_*.jsonl` files, or a `.zip`
holding either, read in place. Telegram's HTML export is recognised and answered with how to export as JSON.
"""
from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from doppel.errors import InputError

ZIP_MAGIC = b"PK\x03\x04"
EXPORT_AS_JSON = ("export again as JSON (Telegram Desktop: Settings > Advanced > Export Telegram data, "
                  "Format: Machine-readable JSON)")
HTML_HINT = f"this is Telegram's HTML export: {EXPORT_AS_JSON}"


@dataclass(frozen=True)
class Source:
    """One export file: `name` for messages and the report, `open()` for its bytes (again, when asked)."""

    name: str
    open: Callable[[], BinaryIO]
    kind: str  # "desktop" (result.json) | "fetch" (chat_*.jsonl)


def _is_export_name(name: str) -> str | None:
    base = PurePosixPath(name).name
    if base == "result.json":
        return "desktop"
    if base.startswith("chat_") and base.endswith(".jsonl"):
        return "fetch"
    return None


def _is_html_export(names: list[str]) -> bool:
    bases = {PurePosixPath(n).name for n in names}
    return "export_results.html" in bases or any(b.startswith("messages") and b.endswith(".html") for b in bases)


def looks_like_html(head: bytes) -> bool:
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:200].lower()
    return start.startswith((b"<!doctype html", b"<html"))


def _zip_sources(path: Path) -> list[Source]:
    try:
        with zipfile.ZipFile(path) as z:
            names = sorted(n for n in z.namelist() if not n.endswith("/"))
    except (zipfile.BadZipFile, OSError) as err:
        raise InputError(path, f"not a readable zip archive ({err})") from None
    found = [(n, kind) for n in names if (kind := _is_export_name(n))]
    if not found:
        hint = HTML_HINT if _is_html_export(names) else "holds no result.json and no chat_*.jsonl from doppel fetch"
        raise InputError(path, hint)
    found.sort(key=lambda item: (item[1] != "desktop", item[0]))  # result.json files first, as in a folder

    def opener(member: str) -> Callable[[], BinaryIO]:
        def open_member() -> BinaryIO:
            z = zipfile.ZipFile(path)
            return _ClosingMember(z, z.open(member))
        return open_member

    return [Source(f"{path}:{member}", opener(member), kind) for member, kind in found]


class _ClosingMember:
    """A zip member's stream that closes its archive with it."""

    def __init__(self, archive: zipfile.ZipFile, member: BinaryIO):
        self.archive, self.member = archive, member

    def read(self, n: int = -1) -> bytes:
        return self.member.read(n)

    def readline(self, limit: int = -1) -> bytes:
        return self.member.readline(limit)

    def __iter__(self):
        return iter(self.member)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.member.close()
        self.archive.close()


def _file_source(path: Path) -> list[Source]:
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except IsADirectoryError:
        raise InputError(path, "is a folder") from None
    except PermissionError:
        raise InputError(path, "permission denied") from None
    if head == ZIP_MAGIC:
        return _zip_sources(path)
    kind = "fetch" if path.suffix == ".jsonl" else "desktop"
    return [Source(str(path), lambda: open(path, "rb"), kind)]


def find_sources(paths: list[Path]) -> list[Source]:
    """Export sources under the given paths: result.json files, fetch's chat_*.jsonl, and zips of either.

    A zip named on its own must hold an export; one found in a folder that holds none (a file sent in a chat,
    saved with the export's media) is passed over, unless nothing else is found there."""
    sources: list[Source] = []
    for path in map(Path, paths):
        if not path.exists():
            raise InputError(path, "no such file or folder")
        if path.is_file():
            sources += _file_source(path)
            continue
        found, passed_over = [], []
        for file in sorted(path.rglob("result.json")) + sorted(path.rglob("chat_*.jsonl")) + sorted(path.rglob("*.zip")):
            try:
                found += _file_source(file)
            except InputError as err:
                if file.suffix != ".zip":
                    raise
                passed_over.append(err)
        if not found:
            if passed_over:
                raise passed_over[0]
            if _is_html_export([p.name for p in path.rglob("*.html")]):
                raise InputError(path, HTML_HINT)
            raise InputError(path, "no Telegram export here (no result.json, no chat_*.jsonl from doppel fetch, "
                                   "no .zip of either)")
        sources += found
    return sources
