"""The bot's local log: one JSON line per suggestion and action (file 0600 in a 0700 folder; it holds chat text,
so it lives under a git-ignored path and is never pushed). A restart reads it back: the kill switch stays
where the owner left it, and the bot still knows its own drafts (so it may replace them)."""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from doppel.errors import InputError


class EventLog:
    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            if not self.path.parent.exists():
                self.path.parent.mkdir(parents=True)
                os.chmod(self.path.parent, 0o700)
            fd = os.open(self.path, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600)
        except OSError as err:
            raise InputError(self.path, f"cannot write the bot log ({err.strerror or err})") from None
        os.chmod(self.path, 0o600)
        self._file = os.fdopen(fd, "a", encoding="utf-8")

    def write(self, event: str, **fields) -> dict:
        entry = {"ts": datetime.now(timezone.utc).isoformat(timespec="seconds"), "event": event, **fields}
        self._file.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self._file.flush()
        return entry

    def close(self) -> None:
        self._file.close()

    def restore(self) -> tuple[bool, dict[int, str]]:
        """(switched on?, chat -> the bot's draft still standing there) from the log so far."""
        enabled, drafts = True, {}
        with open(self.path, encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue  # a line cut by a crash
                if not isinstance(entry, dict):
                    continue
                event, chat = entry.get("event"), entry.get("chat")
                if event == "switch" and entry.get("to") in ("on", "off"):
                    enabled = entry["to"] == "on"
                elif event == "drafted" and isinstance(chat, int) and isinstance(entry.get("reply"), str):
                    drafts[chat] = entry["reply"]
                elif event in ("sent", "draft_cleared") and isinstance(chat, int):
                    drafts.pop(chat, None)
        return enabled, drafts
