"""The style plots' data (DVC plots, drawn with DVC's own templates; dvc.yaml says which): how long the replies
are, the style features and the catchphrases, for the owner's real val replies, the base model's and the twin's.
The length distribution has a column per side (DVC draws one line each); the bar charts have one row per
feature (or phrase) and side, labelled `emoji per reply (twin)`, so `dvc plots diff` puts every run's bar
next to the other's."""
from __future__ import annotations

from pathlib import Path

from doppel import io
from doppel.evaluation.style import ngrams

SIDES = ("owner", "base", "twin")
LENGTH_BIN = 10      # chars per bin of the length distribution
LENGTH_CAP = 150     # longer replies share the last bin
# the profile features drawn side by side (all shares or per-reply rates; length has its own plot)
FEATURE_LABELS = {
    "emoji": "emoji per reply",
    "question": "questions",
    "exclaim": "exclamations",
    "lower_start": "lower-case start",
    "ellipsis": "ellipses",
    "catchphrase": "catchphrase use",
    "cyrillic": "Cyrillic share",
}
DIGITS = 4


def length_distribution(replies: dict[str, list[str]]) -> list[dict]:
    """Share of each side's replies per length bin (chars; the last bin holds everything longer)."""
    edges = range(0, LENGTH_CAP + 1, LENGTH_BIN)
    rows = [{"chars": lo, **{who: 0.0 for who in SIDES}} for lo in edges]
    for who in SIDES:
        texts = replies[who]
        for text in texts:
            rows[min(len(text), LENGTH_CAP) // LENGTH_BIN][who] += 1 / len(texts)
    return [{k: (round(v, DIGITS) if isinstance(v, float) else v) for k, v in r.items()} for r in rows]


def style_features(profiles: dict[str, dict[str, float]]) -> list[dict]:
    """One row per style feature and side: its mean over that side's replies ("tuned" is the twin)."""
    by_side = {"owner": profiles["owner"], "base": profiles["base"], "twin": profiles["tuned"]}
    return [{"feature": f"{label} ({who})", "value": round(by_side[who][f], DIGITS)}
            for f, label in FEATURE_LABELS.items() for who in SIDES]


def catchphrase_use(phrases: list[str], replies: dict[str, list[str]]) -> list[dict]:
    """One row per owner catchphrase and side: the share of that side's replies that use it."""
    grams = {who: [ngrams(t) for t in texts] for who, texts in replies.items()}

    def share(who: str, phrase: str) -> float:
        return round(sum(phrase in g for g in grams[who]) / len(grams[who]), DIGITS) if grams[who] else 0.0

    return [{"phrase": f"{p} ({who})", "share": share(who, p)} for p in phrases for who in SIDES]


def write_style_plots(out_dir: Path, owner: list[str], base: list[str], twin: list[str],
                      profiles: dict[str, dict[str, float]], phrases: list[str]) -> list[Path]:
    """lengths.json, features.json and catchphrases.json under out_dir (old files there are replaced)."""
    replies = {"owner": owner, "base": base, "twin": twin}
    files = {"lengths.json": length_distribution(replies), "features.json": style_features(profiles),
             "catchphrases.json": catchphrase_use(phrases, replies)}
    out_dir = Path(out_dir)
    for name, rows in files.items():
        io.write_json(out_dir / name, rows)
    return [out_dir / name for name in files]
