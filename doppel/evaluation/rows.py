"""What evaluation reads from the dataset rows: whose turns are whose, and seeded samples of rows and lines."""
from __future__ import annotations

import random

from doppel.prompt import OTHER_LABEL, OWNER_LABEL


def context_turns(instruction: str) -> list[tuple[str, str]]:
    """(label, text) turns of a rendered context; unlabelled lines continue the previous turn (the system
    line, before any label, is dropped)."""
    turns: list[list[str]] = []
    prefixes = {f"{OWNER_LABEL}: ": OWNER_LABEL, f"{OTHER_LABEL}: ": OTHER_LABEL}
    for line in instruction.split("\n"):
        for prefix, who in prefixes.items():
            if line.startswith(prefix):
                turns.append([who, line[len(prefix):]])
                break
        else:
            if turns:
                turns[-1][1] += "\n" + line
    return [(who, text) for who, text in turns]


def other_lines(rows: list[dict]) -> list[str]:
    """The other people's turns in the contexts, once per session (contexts of one session overlap)."""
    seen: set[tuple] = set()
    out: list[str] = []
    for r in rows:
        session = r.get("session")
        for who, text in context_turns(r["instruction"]):
            key = (session, text) if session is not None else (r["instruction"], text)
            if who == OTHER_LABEL and text.strip() and key not in seen:
                seen.add(key)
                out.append(text)
    return out


def capped(lines: list[str], n: int, seed: int) -> list[str]:
    if n and len(lines) > n:
        idx = sorted(random.Random(seed).sample(range(len(lines)), n))
        return [lines[i] for i in idx]
    return lines


def pick_rows(rows: list[dict], n: int, seed: int) -> list[dict]:
    if n <= 0 or n >= len(rows):
        return list(rows)
    return [rows[i] for i in sorted(random.Random(seed).sample(range(len(rows)), n))]
