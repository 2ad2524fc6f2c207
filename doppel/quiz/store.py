"""The quiz's results: one JSON line per pick, appended, never rewritten (data/quiz/, git-ignored).

A line holds the round id, which side was real, the pick (1, 2, or 0 for "can't tell"), the player's label and
the time; never any text of the round (the id is a hash of the val row).
"""
from __future__ import annotations

import json
import re
import threading
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from doppel.errors import InputError

CANT_TELL = 0
PICKS = (CANT_TELL, 1, 2)
# A player's label: what the report groups by. Short, one line, no markup (it is shown on the page).
PLAYER = re.compile(r"^[\w][\w .'-]{0,31}$")
ROUND = re.compile(r"^[0-9a-f]{12}$")


def player_problem(label: object) -> str | None:
    """Why `label` cannot name a player (None: it can)."""
    if not isinstance(label, str) or not PLAYER.match(label) or label != label.strip():
        return "a player's name is 1-32 letters, digits, spaces, . ' - or _, starting with a letter or digit"
    return None


@dataclass(frozen=True)
class Pick:
    round: str
    real: int     # 1 or 2
    pick: int     # 1, 2, or 0: can't tell
    player: str
    time: str     # ISO 8601, UTC

    @property
    def verdict(self) -> str:
        """right (picked the real one), fooled (picked the twin's) or unsure (can't tell)."""
        return "unsure" if self.pick == CANT_TELL else ("right" if self.pick == self.real else "fooled")


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Store:
    """Appends picks to a JSON-lines file; one lock, so concurrent players never interleave a line."""

    def __init__(self, path: str | Path, clock: Callable[[], str] = utc_now):
        self.path, self.clock = Path(path), clock
        self._lock = threading.Lock()

    def add(self, round_id: str, real: int, pick: int, player: str) -> Pick:
        if not ROUND.match(round_id) or real not in (1, 2) or pick not in PICKS or player_problem(player):
            raise ValueError(f"not a pick: {round_id!r} {real!r} {pick!r} {player!r}")
        entry = Pick(round_id, real, pick, player, self.clock())
        line = json.dumps(asdict(entry), ensure_ascii=False, sort_keys=True) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(line)
        return entry

    def read(self) -> list[Pick]:
        with self._lock:
            return read(self.path)


def read(path: str | Path) -> list[Pick]:
    """Every pick in the file, in order (no file: none yet). A damaged line is one InputError naming it."""
    path = Path(path)
    if not path.exists():
        return []
    picks = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            pick = Pick(**{k: d[k] for k in ("round", "real", "pick", "player", "time")})
        except (ValueError, KeyError, TypeError):
            raise InputError(path, f"line {n}: not a quiz result (round, real, pick, player, time)") from None
        if not ROUND.match(str(pick.round)) or pick.real not in (1, 2) or pick.pick not in PICKS \
                or player_problem(pick.player):
            raise InputError(path, f"line {n}: a value out of range (round id, real 1/2, pick 0/1/2, player)")
        picks.append(pick)
    return picks
