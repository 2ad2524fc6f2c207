"""Quiz rounds from val rows: the context, the owner's real reply and the twin's reply, the real one on a
seeded random side. Pure: rows and replies in, rounds out (the twin's replies come from doppel.quiz.twin for
`doppel quiz`, from the evaluate stage's generations for the automatic player).

A round shows nothing beyond the val split's redacted text. Rows that cannot make a fair round are dropped,
counted per reason (DROP_*): a real reply with a scrub placeholder in it (the twin never writes one, so the
round would give itself away), an empty reply on either side, a twin reply equal to the real one, and a row
played already (the same context and reply twice).
"""
from __future__ import annotations

import hashlib
import random
from collections import Counter
from dataclasses import dataclass

from doppel.evaluation.placeholders import PLACEHOLDER
from doppel.evaluation.rows import context_turns

DROP_PLACEHOLDER = "real reply shows a placeholder"
DROP_EMPTY_REAL = "real reply empty"
DROP_EMPTY_TWIN = "twin reply empty"
DROP_SAME = "twin reply equals the real one"
DROP_DUPLICATE = "same row twice"
ID_HEX = 12  # hex digits of a round id (48 bits of sha256: no clash among a val split's rows)


@dataclass(frozen=True)
class Round:
    id: str                                # stable across runs: a hash of the val row, never its text
    context: tuple[tuple[str, str], ...]   # (label, text) turns shown, oldest first
    replies: tuple[str, str]               # reply 1 and reply 2, as shown
    real: int                              # 1 or 2: which reply is the owner's

    @property
    def twin(self) -> int:
        return 3 - self.real


def round_id(row: dict) -> str:
    """A row's id: the same val row gets the same id in every run (and in evaluate's automatic player)."""
    digest = hashlib.sha256(f"{row['instruction']}\0{row['output']}".encode()).hexdigest()
    return digest[:ID_HEX]


def real_side(seed: int, rid: str) -> int:
    """1 or 2, seeded per round (independent of which other rounds were dropped or their order)."""
    return 1 if random.Random(f"{seed}:{rid}").random() < 0.5 else 2


def playable(row: dict) -> str | None:
    """Why a row's real reply cannot make a round (None: it can)."""
    real = row["output"].strip()
    if not real:
        return DROP_EMPTY_REAL
    if PLACEHOLDER.search(real):
        return DROP_PLACEHOLDER
    return None


def candidates(rows: list[dict], n: int, seed: int) -> tuple[list[dict], Counter]:
    """Up to `n` playable rows in a seeded order (each row once), and the rows left out per reason."""
    dropped: Counter = Counter()
    seen: set[str] = set()
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    out: list[dict] = []
    for i in order:
        row = rows[i]
        rid = round_id(row)
        reason = playable(row) or (DROP_DUPLICATE if rid in seen else None)
        if reason:
            dropped[reason] += 1
            continue
        seen.add(rid)
        if len(out) < n:
            out.append(row)
    return out, dropped


def make_rounds(rows: list[dict], twin_replies: list[str], seed: int, turns: int = 0) -> tuple[list[Round], Counter]:
    """One round per row and the twin's reply to it, in order; `turns` > 0 shows only the context's last turns."""
    if len(rows) != len(twin_replies):
        raise ValueError(f"{len(rows)} rows but {len(twin_replies)} twin replies")
    dropped: Counter = Counter()
    seen: set[str] = set()
    out: list[Round] = []
    for row, twin in zip(rows, twin_replies):
        real, twin = row["output"].strip(), twin.strip()
        rid = round_id(row)
        reason = (playable(row) or (DROP_EMPTY_TWIN if not twin else None) or (DROP_SAME if twin == real else None)
                  or (DROP_DUPLICATE if rid in seen else None))
        if reason:
            dropped[reason] += 1
            continue
        seen.add(rid)
        context = context_turns(row["instruction"])
        side = real_side(seed, rid)
        out.append(Round(rid, tuple(context[-turns:]),   # turns 0: [-0:] is the whole context
                         (real, twin) if side == 1 else (twin, real), side))
    return out, dropped
