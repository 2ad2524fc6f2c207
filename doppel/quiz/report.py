"""The quiz's result: how often the twin's reply was picked as the real one (the "fooled" rate), overall and
per player, with a 95% Wilson interval. 50% means the players could not tell them apart; "can't tell" counts
half (it is a coin flip's worth of fooled)."""
from __future__ import annotations

import math
from collections import defaultdict

from doppel.quiz.store import Pick

Z95 = 1.959964  # the normal quantile of a two-sided 95% interval
DIGITS = 4


def wilson(successes: float, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a rate `successes / n` ((0, 1) for n = 0)."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def tally(verdicts: list[str]) -> dict:
    """Counts and the fooled rate (unsure counts half) with its interval, rounded."""
    n = len(verdicts)
    right, fooled, unsure = (verdicts.count(v) for v in ("right", "fooled", "unsure"))
    score = fooled + 0.5 * unsure
    low, high = wilson(score, n)
    return {"rounds": n, "right": right, "fooled": fooled, "unsure": unsure,
            "fooled_rate": round(score / n, DIGITS) if n else None,
            "low": round(low, DIGITS) if n else None, "high": round(high, DIGITS) if n else None}


def summarise(picks: list[Pick]) -> dict:
    """All picks together, and per player (sorted by label)."""
    by_player: dict[str, list[str]] = defaultdict(list)
    for p in picks:
        by_player[p.player].append(p.verdict)
    return {**tally([p.verdict for p in picks]),
            "players": {name: tally(v) for name, v in sorted(by_player.items())}}


def _pct(v: float) -> str:
    return f"{100 * v:.0f}%"


def text(summary: dict) -> str:
    """The printed report: one line overall, then one per player."""
    if not summary["rounds"]:
        return "quiz: no rounds played yet (doppel quiz serves the game)"

    def line(name: str, t: dict) -> str:
        return (f"  {name:<16}{t['rounds']:>7}{t['right']:>7}{t['fooled']:>8}{t['unsure']:>8}   "
                f"{_pct(t['fooled_rate']):>6}  [{_pct(t['low'])}, {_pct(t['high'])}]")

    lines = [f"quiz: {summary['rounds']} rounds; the twin fooled the players {_pct(summary['fooled_rate'])} "
             f"of the time (95% interval {_pct(summary['low'])}-{_pct(summary['high'])}; "
             "50% = they cannot tell; can't tell counts half)", "",
             f"  {'player':<16}{'rounds':>7}{'right':>7}{'fooled':>8}{'unsure':>8}   fooled  95% interval"]
    lines += [line(name, t) for name, t in summary["players"].items()]
    lines.append(line("all", summary))
    return "\n".join(lines)
