"""Synthetic dataset rows in the build stage's format, for benchmarks and tests that need rows without running
the data stages: `synthetic_rows(n)` and `write_dataset(dir, n_train, n_val)` (train.json, val.json).

Made-up words (syllables), chat-like lengths (lognormal turns, a long tail), an owner with a style of their own.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

from doppel.prompt import render_context

_SYLL = ["ka", "lo", "mi", "ra", "to", "ne", "su", "vi", "da", "pe", "zo", "ri", "mu", "sha", "ko", "li",
         "ba", "ty", "ge", "no", "chi", "va", "de", "ru"]


def _lexicon(rng: random.Random, n: int) -> list[str]:
    words = set()
    while len(words) < n:
        words.add("".join(rng.choice(_SYLL) for _ in range(rng.choice((1, 2, 2, 3)))))
    return sorted(words)


def synthetic_rows(
    n_rows: int,
    seed: int = 0,
    context_words: int = 200,
    system: str = "A Telegram chat between Me and a friend.",
) -> list[dict]:
    """Rows in the build stage's format (instruction = rendered context, output = the owner's reply, plus
    chat_id/session_id/ts), from synthetic sessions. The owner has a style of their own (own words, lowercase,
    a habit of ending with "))"), the friends another, so a LoRA has something to learn.

    Lengths are chat-like: turns of lognormal word counts (median ~6, long tail), contexts of the session so
    far up to `context_words` words."""
    rng = random.Random(seed)
    common = _lexicon(rng, 400)
    owner_words = [w + "y" for w in _lexicon(random.Random(seed + 1), 80)]
    zipf = [1 / (i + 1) for i in range(len(common))]

    def turn(owner: bool) -> str:
        n = max(1, min(80, int(rng.lognormvariate(1.8, 0.8))))
        words = rng.choices(common, zipf, k=n)
        if owner:
            words = [rng.choice(owner_words) if rng.random() < 0.35 else w for w in words]
            return " ".join(words) + (" ))" if rng.random() < 0.6 else "")
        text = " ".join(words)
        return text[:1].upper() + text[1:] + rng.choice([".", "?", "!", ""])

    rows: list[dict] = []
    chat, session, ts = 0, 0, 1_700_000_000
    while len(rows) < n_rows:
        chat += 1 if rng.random() < 0.2 else 0
        session += 1
        turns: list[tuple[bool, str]] = []
        owner = rng.random() < 0.5
        for _ in range(rng.randint(2, 14)):
            text = turn(owner)
            if owner and turns:
                ctx, words = [], 0
                for o, t in reversed(turns):
                    words += len(t.split())
                    if ctx and words > context_words:
                        break
                    ctx.insert(0, (o, t))
                rows.append({"instruction": render_context(ctx, system), "input": "", "output": text,
                             "chat_id": chat, "session_id": session, "ts": ts})
            turns.append((owner, text))
            owner = not owner if rng.random() < 0.8 else owner
            ts += rng.randint(5, 600)
        ts += 86_400
    return rows[:n_rows]


def write_dataset(out_dir: Path, n_train: int, n_val: int, seed: int = 0, context_words: int = 200) -> Path:
    rows = synthetic_rows(n_train + n_val, seed=seed, context_words=context_words)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "train.json").write_text(json.dumps(rows[:n_train], ensure_ascii=False))
    (out_dir / "val.json").write_text(json.dumps(rows[n_train:], ensure_ascii=False))
    return out_dir
