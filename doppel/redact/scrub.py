"""Redaction over a column: the passes in order (export entities, fixed shapes, pass A, pass B, the safety
net) on the rows that may hold anything, and `run`, the core of the scrub stage."""
from __future__ import annotations

import polars as pl

from doppel.config import ScrubConfig
from doppel.redact.candidate import redact_candidate
from doppel.redact.patterns import (
    CANDIDATE_RE, COUNT_RE, HINT_TYPES, MARK_CLOSE, MARK_OPEN, MARKS_RE, PH, PII_PARTS, PII_PATTERN, SECRET_RE,
    SIMPLE_PASSES, TRIGGERS, TYPES,
)
from doppel.redact.names import name_rows, redact_names
from doppel.redact.secret import redact_secret


def _validated_pass(s: pl.Series, pattern: str, fn) -> pl.Series:
    """Replace the candidates of `pattern` for which `fn(candidate) != candidate`, exactly where they stand."""
    hit = s.str.contains(pattern).fill_null(False)
    if not hit.any():
        return s
    idx = hit.arg_true()
    part = s.gather(idx)
    cands = part.str.extract_all(pattern).explode().drop_nulls().unique()
    mapping = {}
    for c in cands.to_list():
        r = fn(c)
        if r != c:
            mapping[MARK_OPEN + c + MARK_CLOSE] = r
    if not mapping:
        return s
    new = (
        part.str.replace_all(pattern, MARK_OPEN + "${0}" + MARK_CLOSE)
        .str.replace_many(list(mapping), list(mapping.values()))
        .str.replace_all(MARKS_RE, "")
    )
    return s.scatter(idx, new)


def _apply_hints(s: pl.Series, hints: pl.Series) -> pl.Series:
    """Replace the literal spans the export marked as phone / email / bank card."""
    flat = (
        pl.DataFrame({"h": hints})
        .explode("h")
        .drop_nulls()
        .unnest("h")
        .with_columns(pl.col("type").replace_strict(HINT_TYPES, default=None), pl.col("text").str.strip_chars())
        .drop_nulls()
        .filter(pl.col("text").str.len_chars() >= 5)
        .unique("text", keep="first", maintain_order=True)  # a span hinted twice: its first hint's type
        .sort(pl.col("text").str.len_chars(), descending=True, maintain_order=True)  # the longest span first
    )
    if flat.height == 0:
        return s
    return s.str.replace_many(
        flat["text"].to_list(), [PH[t] for t in flat["type"].to_list()], leftmost=True
    )


def _scrub_subset(s: pl.Series, hints: pl.Series | None) -> pl.Series:
    if hints is not None:
        s = _apply_hints(s, hints)
    if s.str.contains(MARKS_RE).any():
        s = s.str.replace_all(MARKS_RE, "")
    for kind, pattern in SIMPLE_PASSES:
        s = s.str.replace_all(pattern, PH[kind])
    s = _validated_pass(s, SECRET_RE, redact_secret)
    s = _validated_pass(s, CANDIDATE_RE, redact_candidate)
    if s.str.contains(PII_PATTERN).any():  # the safety net (normally nothing is left)
        for kind, pattern in PII_PARTS.items():
            s = s.str.replace_all(pattern, PH[kind])
    return s


def _count(s: pl.Series) -> dict[str, int]:
    vc = s.str.extract_all(COUNT_RE).explode().drop_nulls().value_counts()
    got = dict(zip(vc[vc.columns[0]].to_list(), vc["count"].to_list()))
    return {t: got.get(PH[t], 0) for t in TYPES}


FULLWIDTH = [chr(0xFF10 + d) for d in range(10)]


def _ascii_digits(s: pl.Series) -> pl.Series:
    """Full-width digits (０-９) read as ASCII ones, in the rows that have them (the others as they are)."""
    wide = s.str.contains("[０-９]").fill_null(False)
    if not wide.any():
        return s
    idx = wide.arg_true()
    return s.scatter(idx, s.gather(idx).str.replace_many(FULLWIDTH, [str(d) for d in range(10)]))


def scrub_texts(texts: pl.Series, hints: pl.Series | None = None, *,
                names: bool) -> tuple[pl.Series, dict[str, int]]:
    """Redacted texts (same length, order and name) and how many placeholders of each type were added.

    A row with full-width digits is scrubbed as if they were ASCII ones, and kept as it was when nothing in it
    was private. `names` (scrub.names, no default: callers pass the config's): person names become <NAME>
    too (doppel.redact.names).
    """
    original = texts.cast(pl.String)
    s = _ascii_digits(original)
    need = s.str.contains(TRIGGERS[0])
    for trigger in TRIGGERS[1:]:
        need = need | s.str.contains(trigger)
    need = need.fill_null(False)
    if hints is not None:
        need = need | (hints.list.len().fill_null(0) > 0)
    counts = dict.fromkeys(TYPES, 0)
    if names:
        need = need | name_rows(s)
    idx = need.arg_true()
    if len(idx) == 0:
        return original, counts
    before = s.gather(idx)
    after = _scrub_subset(before, hints.gather(idx) if hints is not None else None)
    if names:
        after = redact_names(after)
    changed = (after != before).fill_null(False)
    if not changed.any():
        return original, counts
    old, new = _count(before.filter(changed)), _count(after.filter(changed))
    counts = {t: max(new[t] - old[t], 0) for t in TYPES}
    out = original.clone().scatter(idx.filter(changed), after.filter(changed))
    return out, counts


# what scrub reads of the message table (pii_hints too, when there)
COLUMNS_READ = ["chat_id", "message_id", "text", "drop_reason"]


def run(cfg: ScrubConfig, messages: pl.DataFrame) -> tuple[pl.DataFrame, dict]:
    """Kept messages (drop_reason null) with `text` redacted, without `pii_hints`, sorted by chat and message id;
    and the report."""
    missing = [c for c in COLUMNS_READ if c not in messages.columns]
    if missing:
        raise ValueError(f"missing columns: {', '.join(missing)}")
    kept = messages.filter(pl.col("drop_reason").is_null())
    use_hints = cfg.use_export_entities and "pii_hints" in kept.columns
    text, counts = scrub_texts(kept["text"], kept["pii_hints"] if use_hints else None, names=cfg.names)
    changed = int((text != kept["text"]).fill_null(False).sum())
    out = kept.with_columns(text.alias("text")).drop("pii_hints", strict=False).sort("chat_id", "message_id")
    report = {
        "rows_in": messages.height,
        "rows_dropped_upstream": messages.height - kept.height,
        "rows_out": out.height,
        "messages_changed": changed,
        "replaced": counts,
    }
    return out, report


def summary(report: dict) -> str:
    counts = ", ".join(f"{t} {n:,}" for t, n in report["replaced"].items() if n) or "nothing"
    return (
        f"scrub: {report['rows_in']:,} rows in, {report['rows_dropped_upstream']:,} dropped upstream, "
        f"{report['rows_out']:,} out, {report['messages_changed']:,} changed ({counts})"
    )
