"""`OUT/chat_<id>.jsonl` and its checkpoint: appends flushed and fsynced, the checkpoint never ahead of the file,
a partial last line (a run killed mid-write) cut on recovery."""
from __future__ import annotations

import os
from pathlib import Path

import orjson

CHECKPOINTS = ".checkpoints"


def _dumps(obj) -> bytes:
    return orjson.dumps(obj) + b"\n"


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _rfind_newline(f, end: int) -> int:
    """Index of the last b"\\n" before `end`, or -1."""
    pos = end
    while pos > 0:
        start = max(0, pos - (1 << 16))
        f.seek(start)
        i = f.read(pos - start).rfind(b"\n")
        if i >= 0:
            return start + i
        pos = start
    return -1


def _line_ok(line: bytes, first: bool) -> dict | None:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(obj, dict):
        return None
    if first:
        return obj if isinstance(obj.get("chat"), dict) else None
    return obj if isinstance(obj.get("id"), int) else None


class ChatFile:
    """`OUT/chat_<key>.jsonl` and its checkpoint."""

    def __init__(self, out_dir: Path, key: int):
        self.path = out_dir / f"chat_{key}.jsonl"
        self.checkpoint = out_dir / CHECKPOINTS / f"chat_{key}.json"
        self.last_id = 0
        self.count = 0
        self.size = 0
        self.notes: list[str] = []

    def recover(self) -> bool:
        """Read where the file stands: cut a partial (or unreadable) tail, take the last id in the file.
        False when there is no file (or not even a whole header line)."""
        if not self.path.exists():
            return False
        with open(self.path, "r+b") as f:
            size = f.seek(0, os.SEEK_END)
            end = size
            if size:
                f.seek(size - 1)
                if f.read(1) != b"\n":
                    end = _rfind_newline(f, size) + 1
            obj, start = None, 0
            while end > 0:
                start = _rfind_newline(f, end - 1) + 1
                f.seek(start)
                obj = _line_ok(f.read(end - start), first=start == 0)
                if obj is not None:
                    break
                end = start
            if end < size:
                f.truncate(end)
                f.flush()
                os.fsync(f.fileno())
                self.notes.append(f"cut {size - end} bytes of an unfinished write")
        if end == 0:
            self.path.unlink()
            return False
        self.size = end
        self.last_id = 0 if start == 0 else obj["id"]
        ck = self._read_checkpoint()
        if ck.get("last_id") == self.last_id and ck.get("bytes") == self.size and isinstance(ck.get("messages"), int):
            self.count = ck["messages"]
        else:
            if ck.get("last_id", 0) > self.last_id:
                self.notes.append("checkpoint was ahead of the file; the file wins")
            self._scan()
            self._write_checkpoint()
        return True

    def _scan(self) -> None:
        count, top = 0, 0
        with open(self.path, "rb") as f:
            f.readline()
            for line in f:
                obj = _line_ok(line, first=False)
                if obj is not None:
                    count += 1
                    top = max(top, obj["id"])
        self.count, self.last_id = count, max(top, self.last_id)

    def _read_checkpoint(self) -> dict:
        try:
            obj = orjson.loads(self.checkpoint.read_bytes())
            return obj if isinstance(obj, dict) else {}
        except (OSError, orjson.JSONDecodeError):
            return {}

    def _write_checkpoint(self) -> None:
        self.checkpoint.parent.mkdir(mode=0o700, exist_ok=True)
        _write_atomic(self.checkpoint, orjson.dumps(
            {"chat": self.path.name, "last_id": self.last_id, "messages": self.count, "bytes": self.size}))

    def create(self, header: dict) -> None:
        _write_atomic(self.path, _dumps(header))
        self.size, self.last_id, self.count = self.path.stat().st_size, 0, 0
        self._write_checkpoint()

    def append(self, messages: list[dict]) -> None:
        """Append (one write, flushed and fsynced), then move the checkpoint: never ahead of the file."""
        if not messages:
            return
        data = b"".join(map(_dumps, messages))
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        self.size += len(data)
        self.count += len(messages)
        self.last_id = messages[-1]["id"]
        self._write_checkpoint()
