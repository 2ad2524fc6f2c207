"""Fact recall: the share of fact questions whose reply contains the fact (case-insensitive).

A row is a fact question when the last line of its context is the other person asking one of the facts'
questions (doppel/sample/facts.py plants them with `sample.facts: true`). Pure: rows and replies in, figures out.

evaluate asks every such val row three times: the base and the twin without the row's memory block, and the twin
with it (the block build gave the row: doppel.memory.rows). fact recall = recalled / questions per model.
"""
from __future__ import annotations

from typing import Iterable

from doppel.prompt import OTHER_LABEL, OWNER_LABEL
from doppel.sample.facts import FACTS

# the models evaluate asks the fact questions, in the order the figures are printed
MODELS = ("base", "twin", "twin_memory")


def fact_of(instruction: str, facts: Iterable) -> object | None:
    """The fact (with .question and .value) asked in the context's last line, or None. The last line must belong
    to the other person's turn: labelled `Them: `, or a later line of a turn of several messages whose labelled
    first line is Them's."""
    lines = instruction.rstrip("\n").split("\n")
    speaker = next((line for line in reversed(lines) if line.startswith((f"{OTHER_LABEL}: ", f"{OWNER_LABEL}: "))), "")
    if not speaker.startswith(f"{OTHER_LABEL}: "):
        return None
    asked = lines[-1].removeprefix(f"{OTHER_LABEL}: ").strip().lower()
    return next((f for f in facts if f.question.lower() == asked), None)


def fact_recall(rows: list[dict], replies: list[str], facts: Iterable) -> dict:
    """{"questions": n, "recalled": m, "recall": m / n (None when no row asks a fact), "per_fact": {key: [m, n]}}."""
    facts = list(facts)
    per_fact: dict[str, list[int]] = {}
    for row, reply in zip(rows, replies, strict=True):
        fact = fact_of(row["instruction"], facts)
        if fact is None:
            continue
        hit = int(fact.value.lower() in reply.lower())
        counts = per_fact.setdefault(fact.key, [0, 0])
        counts[0] += hit
        counts[1] += 1
    n = sum(c[1] for c in per_fact.values())
    m = sum(c[0] for c in per_fact.values())
    return {"questions": n, "recalled": m, "recall": round(m / n, 4) if n else None, "per_fact": per_fact}


def questions(rows: list[dict], facts: Iterable = FACTS) -> list[dict]:
    """The rows that ask one of the facts, in order."""
    facts = list(facts)
    return [r for r in rows if fact_of(r["instruction"], facts) is not None]


def metrics(recall: dict[str, dict], asked: list[dict]) -> dict:
    """The flat figures for reports/evaluation.json: fact_questions, fact_questions_with_memory (rows whose
    memory block holds the fact's value) and fact_recall_<model> (None when no row asks a fact)."""
    with_fact = sum(1 for r in asked if (f := fact_of(r["instruction"], FACTS)) and f.value in r.get("memory", "").lower())
    out: dict = {"fact_questions": len(asked), "fact_questions_with_memory": with_fact}
    for name in MODELS:
        out[f"fact_recall_{name}"] = recall[name]["recall"] if name in recall else None
    return out
