"""build: turns -> instruction rows (litgpt JSON format), split by time into train and val.

One row per owner turn that has context. The context is the session's previous turns, labelled by speaker and
trimmed from the oldest side to a token budget, so the reply itself is never cut.
"""
from __future__ import annotations

import pandera.errors
import polars as pl

from doppel.config import BuildConfig, MemoryConfig
from doppel.errors import InputError
from doppel.memory import index as memory_index
from doppel.memory import rows as memory_rows
from doppel.prompt import approx_tokens, approx_tokens_expr, line_expr
from doppel.schemas import InstructionRow, Turn
from doppel.segment import KEYS

# `session` numbers the sessions in time order: rows of one conversation share it (base and evaluate group by
# it) without putting the contact's Telegram id or exact times into a dataset that is shared.
# `memory`: the row's memory block ("" for none), also inside its instruction (doppel.memory.rows): evaluate takes
# it out to score the twin without memory.
ROW_KEYS = ["instruction", "input", "output", "session", "memory"]
# Owner turns whose contexts are assembled at once. Not a knob: the rows are the same for any value; it bounds
# the (turn, context line) table, about 20 lines per turn, which for a whole 1M-message export would be the
# stage's largest allocation.
CONTEXT_CHUNK_TURNS = 20_000


def instruction_rows(turns: pl.DataFrame, cfg: BuildConfig, reserve: int = 0) -> tuple[pl.DataFrame, dict[str, int]]:
    """Owner turns with their trimmed, labelled context (and, for doppel.memory.rows, the turn's start and the
    other person's turn just before it). `reserve`: tokens of the budget kept for the memory block. Returns rows
    and drops per reason."""
    system = cfg.system_prompt
    budget = context_budget(cfg, reserve)
    t = turns.sort(*KEYS, "turn_index").with_row_index("g").with_columns(
        line=line_expr(),
        query=memory_index.answered(),  # the other person's turn just before (the memory's query)
        tok=approx_tokens_expr(line_expr()).cast(pl.Int64) + 1,  # + the newline; signed, for the target below
    ).with_columns(
        cum=pl.col("tok").cum_sum(),  # global, so it rises monotonically across sessions
        start=pl.col("g").min().over(KEYS),
    ).with_columns(prev_cum=pl.col("cum") - pl.col("tok"))
    # For an owner turn at row g, the context is rows j..g-1 where j is the first row whose preceding
    # cumulative tokens are >= cum[g-1] - budget (binary search), but never before the session start and
    # always at least the turn just before.
    owner = t.filter(pl.col("is_owner")).with_columns(target=pl.col("cum") - pl.col("tok") - budget)
    first = t["prev_cum"].search_sorted(owner["target"], side="left")
    owner = owner.with_columns(first=first.cast(pl.Int64)).with_columns(
        first=pl.min_horizontal(pl.max_horizontal("first", "start"), pl.col("g") - 1)
    )
    min_turns = max(1, cfg.min_context_turns)
    no_context = owner.filter(pl.col("turn_index") < min_turns)
    owner = owner.filter(pl.col("turn_index") >= min_turns)
    too_long = approx_tokens_expr(pl.col("text")) > cfg.max_output_tokens
    long_rows = owner.filter(too_long)
    owner = owner.filter(~too_long)
    # A single context turn longer than the whole budget keeps its label and the end of its text.
    over = t.filter(pl.col("tok") > budget)
    fitted = [fit_line(line, budget * 4 - 1) for line in over["line"]]
    lines = t.select("g", "line").update(over.select("g", line=pl.Series(fitted, dtype=pl.String)), on="g")
    rows = pl.concat([  # a slice of owner turns at a time: one row per (turn, context line) is held for those only
        _with_context(owner.slice(i, CONTEXT_CHUNK_TURNS), lines, system)
        for i in range(0, max(owner.height, 1), CONTEXT_CHUNK_TURNS)
    ])
    repeated = ~rows.select(pl.struct("instruction", "input", "output").is_first_distinct()).to_series()
    unique = rows.filter(~repeated) if repeated.any() else rows  # no copy of the rows when none repeats
    dropped = {
        "no_context": no_context.height,
        "output_too_long": long_rows.height,
        "duplicate": rows.height - unique.height,
    }
    return unique, dropped


def context_budget(cfg: BuildConfig, reserve: int = 0, where: str = "params.yaml") -> int:
    """Tokens left for the conversation's lines: build.context_tokens less the system line and `reserve` (the
    memory block); none left is refused."""
    budget = cfg.context_tokens - (approx_tokens(cfg.system_prompt) + 1 if cfg.system_prompt else 0) - reserve
    if budget <= 0:
        raise InputError(where, f"build.context_tokens ({cfg.context_tokens}) leaves no room for the conversation "
                                f"after the system prompt and the memory block (memory.tokens + 1 = {reserve}): "
                                "raise it or lower memory.tokens")
    return budget


def _with_context(owner: pl.DataFrame, lines: pl.DataFrame, system: str) -> pl.DataFrame:
    """Instruction rows of some owner turns: each one's context lines (rows first..g-1 of `lines`) joined."""
    context = (
        owner.select("g", ctx=pl.int_ranges("first", "g"))
        .explode("ctx")
        .join(lines.rename({"g": "ctx"}), on="ctx", how="left", maintain_order="left")
        .group_by("g", maintain_order=True)
        .agg(instruction=(pl.lit(f"{system}\n") if system else pl.lit("")) + pl.col("line").str.join("\n"))
    )
    return owner.join(context, on="g", how="left", maintain_order="left").select(
        *KEYS, "instruction", input=pl.lit(""), output=pl.col("text"), ts_start=pl.col("ts_start"),
        query=pl.col("query"))


def fit_line(line: str, max_bytes: int) -> str:
    """`Label: text` cut to at most max_bytes of UTF-8, keeping the label and the end of the text."""
    label, _, text = line.partition(": ")
    room = max(0, max_bytes - len(label.encode()) - 2)
    tail = text.encode()[-room:] if room else b""
    return f"{label}: {tail.decode(errors='ignore')}"


def split_by_time(rows: pl.DataFrame, turns: pl.DataFrame, val_share: float) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The latest sessions (by start time) go to val; a session is never in both."""
    order = (
        turns.group_by(KEYS).agg(pl.col("ts_start").min().alias("session_start"))
        .join(rows.select(KEYS).unique(), on=KEYS, how="semi")
        .sort("session_start", *KEYS)
    )
    n_val = round(order.height * val_share)
    if val_share > 0 and order.height >= 2:
        n_val = min(max(n_val, 1), order.height - 1)
    order = order.select(*KEYS, session=pl.int_range(pl.len(), dtype=pl.Int64))
    rows = rows.join(order, on=KEYS, how="left", maintain_order="left")
    is_val = pl.col("session") >= order.height - n_val
    return rows.filter(~is_val), rows.filter(is_val)


def check_roles(turns: pl.DataFrame) -> None:
    if turns.height and turns["is_owner"].all():
        raise InputError("turns", "every turn is the owner's, so no reply has anything to answer: too little "
                         "history (export more: chats where others write to you), or the owner flag is wrong "
                         "(check ingest.owner_id)")


def check_val(train: pl.DataFrame, val: pl.DataFrame) -> None:
    """Val is whole sessions: with one session of rows there is none for val, and training would report a
    loss of nan and learn nothing that can be checked. Refused here, before any training."""
    if val.is_empty():
        sessions = train.select(KEYS).n_unique()
        raise InputError("turns", f"the val split is empty: {train.height} training row(s) in {sessions} "
                         "session(s), and val takes whole sessions (the latest), so it needs at least 2; export "
                         "more history, or lower segment.session_gap_hours to cut it into more sessions (keep it longer than "
                         "the wait for a reply)")


def warnings(report: dict, cfg: BuildConfig) -> list[str]:
    """What is allowed but likely to disappoint: too few train rows to learn a style from."""
    out = []
    train = report["rows"]["train"]
    if train < cfg.min_train_rows_warning:
        out.append(f"only {train:,} train rows (fewer than build.min_train_rows_warning: "
                   f"{cfg.min_train_rows_warning:,}): the model will memorise them rather than learn how you write; "
                   "export more history (or more chat types in ingest.chat_types)")
    return out


def percentiles(values: pl.Series) -> dict[str, int]:
    if values.is_empty():
        return {"p50": 0, "p90": 0, "p99": 0, "max": 0}
    q = {f"p{int(x * 100)}": int(values.quantile(x, "nearest")) for x in (0.5, 0.9, 0.99)}
    return {**q, "max": int(values.max())}


def run(cfg: BuildConfig, turns: pl.DataFrame, memory: MemoryConfig | None = None
        ) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    """Turns -> (train rows, val rows, report). With `memory` enabled each row gets its memory block
    (doppel.memory.rows: from the train split, before the row), within build.context_tokens."""
    Turn.validate(turns)
    if turns.is_empty():
        raise InputError("turns", "no turns at all: no session holding an owner's message was kept (an empty "
                         "export, every message dropped, or none by the owner: see the ingest and segment "
                         "summaries, reports/ingest.json)")
    check_roles(turns)
    rows, dropped = instruction_rows(turns, cfg, memory_rows.reserve(memory))
    if rows.is_empty():
        raise InputError("turns", "no training rows: no owner turn has context (are there conversations with "
                         "the owner replying to someone? a group-only export needs its chat types in "
                         "ingest.chat_types, e.g. private_group; see the ingest summary)")
    try:
        rows = InstructionRow.validate(rows, lazy=True)
    except pandera.errors.SchemaErrors as err:
        cases = err.failure_cases
        raise InputError("dataset", f"{cases.height} row(s) fail the instruction schema: "
                         f"{sorted(set(cases['check'].cast(pl.String)))}") from None
    train, val = split_by_time(rows, turns, cfg.val_share)
    check_val(train, val)
    train, val, recalled = memory_rows.with_memory(turns, train, val, memory, cfg.system_prompt)
    lengths = approx_tokens_expr(pl.col("instruction") + pl.col("output"))
    report = {
        "rows": {"train": train.height, "val": val.height},
        "sessions": {"train": train.select(KEYS).n_unique(), "val": val.select(KEYS).n_unique()},
        "owner_turns": int(turns["is_owner"].sum()),
        "owner_share": round(float(turns["is_owner"].mean()), 4),
        "dropped": dropped,
        "memory": recalled,
        "tokens_approx": percentiles(pl.concat([train.select(lengths), val.select(lengths)]).to_series()),
        "output_tokens_approx": percentiles(rows.select(approx_tokens_expr(pl.col("output"))).to_series()),
    }
    return train, val, report


def summary(report: dict, cfg: BuildConfig | None = None) -> str:
    r, d, tok = report["rows"], report["dropped"], report["tokens_approx"]
    return (
        f"build: {r['train']:,} train rows / {r['val']:,} val rows "
        f"({report['sessions']['train']:,} / {report['sessions']['val']:,} sessions), owner share "
        f"{report['owner_share']:.0%}\n"
        f"  tokens (approx) p50 {tok['p50']} p90 {tok['p90']} p99 {tok['p99']} max {tok['max']}\n"
        f"  dropped: " + ", ".join(f"{k} {v:,}" for k, v in d.items())
    ) + "".join(f"\n  warning: {w}" for w in (warnings(report, cfg) if cfg else []))
