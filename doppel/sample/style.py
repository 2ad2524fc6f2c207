"""Styles: neutral text -> how this person writes it. "\\0" marks where a planted/decoy value goes."""
from __future__ import annotations

import random
import re

from doppel.sample.words import PHRASES

Q, A, S, R, E, N = "q", "a", "s", "r", "e", "n"  # question, answer, statement, reaction, emoji, note

_OWNER_SUBS = {"спасибо": "thx", "хорошо": "ок", "кстати": "btw", "дедлайн": "deadline", "дедлайну": "deadline",
               "встреча": "meeting", "созвон": "call", "окей": "ок", "в общем": "короче"}
_OWNER_SUB_RE = re.compile(r"\b(" + "|".join(sorted(_OWNER_SUBS, key=len, reverse=True)) + r")\b")


def _cap(t: str) -> str:
    return t[:1].upper() + t[1:]


def _owner(text: str, kind: str, lang: str, rng: random.Random) -> str:
    """All lowercase, no full stops, ")))", "короче", "ок"/"thx"/"btw" code-switching."""
    r = rng.random
    t = text.lower().replace("!", "")
    t = _OWNER_SUB_RE.sub(lambda m: _OWNER_SUBS[m.group(1)], t)
    t = t.rstrip(".")
    if kind == Q:
        if r() < 0.3:
            t = t.rstrip("?")
        return t
    if kind in (E, N):
        return t
    if kind in (S, A) and r() < 0.14:
        t = ("короче, " if lang == "ru" else "tbh ") + t
    elif kind == S and lang == "ru" and r() < 0.08:
        t = "ну " + t
    x = r()
    if x < 0.2:
        t += ")))"
    elif x < 0.3:
        t += "))"
    elif x < 0.36:
        t += " 🙃"
    elif x < 0.39:
        t += " 🤷‍♂️"
    return t


def apply_style(style: str, text: str, kind: str, lang: str, rng: random.Random) -> str:
    if style == "owner":
        return _owner(text, kind, lang, rng)
    r = rng.random
    if style in ("dima", "max"):
        t = text.lower().replace(",", "")
        t = t.rstrip(".!")
        if kind == Q and r() < 0.5:
            t = t.rstrip("?")
        return t
    t = _cap(text)
    if style == "masha":
        if kind != Q and t.endswith(".") and r() < 0.35:
            t = t[:-1] + "!"
        if kind not in (Q, E) and r() < 0.45:
            t += " " + rng.choice(PHRASES["masha"]["ru"]["emoji"])
    elif style == "alex":
        if kind in (S, A) and r() < 0.1:
            t = t.rstrip(".!") + ", mate" + ("!" if r() < 0.5 else "")
        elif r() < 0.06:
            t += " 👍"
    elif style == "lena":
        x = r()
        if kind != Q and t.endswith("."):
            t = t[:-1] + ("))" if x < 0.35 else "..." if x < 0.6 else ".")
        elif kind != Q and x < 0.3:
            t += "))"
    elif style == "oleg":
        if t.endswith("!"):
            t += "!!"
        if kind != Q and r() < 0.15:
            t += " 😂😂😂"
        elif r() < 0.06:
            t = t.upper()
    elif style == "sofia":
        if kind != Q and not t.endswith((".", "!", "?", ",")):
            t += "."
    elif style == "mama":
        if kind == S and t.endswith("."):
            t = t[:-1] + ("!!!" if r() < 0.5 else "!")
        if kind == Q and r() < 0.15:
            t = ("Сынок, " if lang == "ru" else "Son, ") + t[:1].lower() + t[1:]
    elif style in ("papa", "landlord"):
        if not t.endswith((".", "?", "!")):
            t += "."
    elif style == "katya":
        if kind != Q and r() < 0.2:
            t += " 😅"
    return t
