"""Training sees the memory block: from the train split only, only from before the row, within build's budget."""
from __future__ import annotations

from datetime import timedelta

import json

import polars as pl
import pytest

from conftest import cfg
from doppel import build
from doppel.errors import InputError
from doppel.memory import block
from doppel.memory.rows import reserve
from doppel.prompt import approx_tokens
from test_build import T0, turns_table

A, B = 5, 6   # chat ids one apart


def session(chat: int, sid: int, start: int, pairs: list[tuple[str, str]]) -> list[tuple]:
    """A session of (their message, my reply) pairs, one minute apart, starting `start` minutes after T0."""
    rows, i = [], 0
    for other, mine in pairs:
        rows += [(chat, sid, i, False, other, start + i), (chat, sid, i + 1, True, mine, start + i + 1)]
        i += 2
    return rows


# Every owner turn says "fact" and a word of its own, every question asks "fact": any earlier train memory of the
# chat matches, so what a row gets is exactly what the rules allow.
TURNS = (
    session(A, 0, 0, [("fact?", "fact alpha"), ("fact?", "fact bravo")])
    + session(A, 1, 3000, [("fact?", "fact charlie"), ("fact?", "fact delta")])
    + session(B, 0, 10, [("fact?", "fact echo")])              # another chat, train
    + session(A, 2, 9000, [("fact?", "fact foxtrot"), ("fact?", "fact golf")])   # the latest session: val
)
WORD_OF = {text.split()[1]: (c, s, m) for c, s, _, o, text, m in TURNS if o}


def words(memory_block: str) -> set[str]:
    return {line.split()[-1] for line in memory_block.splitlines()[1:]}


def built(**memory):
    mem = cfg("memory", **{"k": 50, "tokens": 200, "scope": "chat", **memory})
    return build.run(cfg("build", system_prompt="SYS", context_tokens=400, val_share=0.25), turns_table(TURNS), mem)


def test_each_row_gets_exactly_the_train_memories_of_its_chat_from_before_it():
    train, val, report = built()
    val_sessions = {(A, 2)}
    for split in (train, val):
        for r in split.iter_rows(named=True):
            c, s, minute = WORD_OF[r["output"].split()[1]]
            allowed = {w for w, (c2, s2, m2) in WORD_OF.items()
                       if c2 == c and (c2, s2) not in val_sessions and m2 < minute}
            assert words(r["memory"]) == allowed, r
            assert r["instruction"].startswith(f"SYS\n{r['memory']}\nThem: " if r["memory"] else "SYS\nThem: ")
    got = {r["output"]: words(r["memory"]) for r in pl.concat([train, val]).iter_rows(named=True)}
    assert got["fact alpha"] == set()                                 # nothing before the first reply
    assert got["fact bravo"] == {"alpha"}                            # never its own turn (same time: not before)
    assert got["fact delta"] == {"alpha", "bravo", "charlie"}
    assert got["fact echo"] == set()                                 # chat B: chat A's facts never
    assert got["fact golf"] == {"alpha", "bravo", "charlie", "delta"}   # val: never foxtrot (val) nor golf itself
    assert report["memory"] == {"train_memories": 5, "rows_with_memory": 5}   # bravo..delta, foxtrot, golf


@pytest.mark.parametrize("after_us, seen", [(0, False), (1, True)])
def test_one_microsecond_decides_before_and_after(after_us, seen):
    turns = turns_table(session(A, 0, 0, [("fact?", "fact alpha")]) + session(A, 1, 3000, [("fact?", "fact bravo")])
                        + session(A, 2, 9000, [("fact?", "x")]))
    alpha = turns.filter(pl.col("text") == "fact alpha")["ts_start"][0]
    moved = turns.with_columns(ts_start=pl.when(pl.col("text") == "fact bravo")
                               .then(pl.lit(alpha + timedelta(microseconds=after_us)).dt.cast_time_unit("us"))
                               .otherwise(pl.col("ts_start")))
    train, _, _ = build.run(cfg("build", system_prompt="SYS", context_tokens=400, val_share=0.34), moved,
                            cfg("memory", k=50, tokens=200))
    row = train.filter(pl.col("output") == "fact bravo").row(0, named=True)
    assert words(row["memory"]) == ({"alpha"} if seen else set())


def test_scope_all_reaches_other_chats_of_the_train_split_only():
    train, val, _ = built(scope="all")
    got = {r["output"]: words(r["memory"]) for r in pl.concat([train, val]).iter_rows(named=True)}
    assert got["fact echo"] == {"alpha", "bravo"}                    # chat A's, said before it (minutes 1, 3 < 11)
    assert got["fact golf"] == {"alpha", "bravo", "charlie", "delta", "echo"}


def test_disabled_memory_gives_no_block_and_the_whole_budget():
    train, val, report = built(enabled=False)
    assert set(train["memory"]) | set(val["memory"]) == {""} and report["memory"]["rows_with_memory"] == 0
    assert not any("Things Me said" in i for i in train["instruction"])


def test_the_block_and_the_context_fit_the_budget_exactly():
    # "SYS" 1 + 1; "Them: fact?" 11 bytes -> 3 + 1; "Me: fact alpha" 14 -> 4 + 1; the block, exactly its budget, + 1
    turns = turns_table(session(A, 0, 0, [("fact?", "fact alpha"), ("fact?", "fact bravo")])
                        + session(A, 1, 3000, [("fact?", "fact charlie")]))
    exact = approx_tokens(block.render([{"text": "fact alpha", "answered": "fact?"}], 1000))
    mem = cfg("memory", k=50, tokens=exact)
    assert exact == 14 and reserve(mem) == 15
    full = 2 + 4 + 5 + 4 + 15    # system, three context lines before "fact bravo", the memory block
    train, _, _ = build.run(cfg("build", system_prompt="SYS", context_tokens=full, val_share=0.5), turns, mem)
    row = train.filter(pl.col("output") == "fact bravo").row(0, named=True)
    assert row["instruction"] == f"SYS\n{row['memory']}\nThem: fact?\nMe: fact alpha\nThem: fact?"
    assert approx_tokens(row["memory"]) == exact and words(row["memory"]) == {"alpha"}
    assert approx_tokens(row["instruction"]) <= full
    short, _, _ = build.run(cfg("build", system_prompt="SYS", context_tokens=full - 1, val_share=0.5), turns, mem)
    row = short.filter(pl.col("output") == "fact bravo").row(0, named=True)
    assert row["instruction"] == f"SYS\n{row['memory']}\nMe: fact alpha\nThem: fact?"   # one token less: oldest goes
    for r in pl.concat([train, short]).iter_rows(named=True):
        assert approx_tokens(r["instruction"]) <= full


def test_a_block_wider_than_its_budget_is_never_written():
    long = "fact " + "x" * 60
    turns = turns_table(session(A, 0, 0, [("fact?", long), ("fact?", "fact bravo")])
                        + session(A, 1, 3000, [("fact?", "fact charlie")]))
    text = block.render([{"text": long, "answered": "fact?"}], 1000)
    at = approx_tokens(text)
    for tokens, kept in ((at, True), (at - 1, False)):
        train, _, _ = build.run(cfg("build", system_prompt="SYS", context_tokens=200, val_share=0.5), turns,
                                cfg("memory", k=4, tokens=tokens))
        row = train.filter(pl.col("output") == "fact bravo").row(0, named=True)
        assert (row["memory"] == text) is kept and approx_tokens(row["memory"]) <= tokens


def test_no_room_left_for_the_conversation_is_refused():
    mem = cfg("memory", tokens=96)
    # "SYS" costs 2, the block 97: 99 leaves nothing, 100 leaves one token
    assert build.context_budget(cfg("build", system_prompt="SYS", context_tokens=100), reserve(mem)) == 1
    with pytest.raises(InputError, match=r"build.context_tokens \(99\) leaves no room.*memory.tokens \+ 1 = 97"):
        build.context_budget(cfg("build", system_prompt="SYS", context_tokens=99), reserve(mem))
    assert build.context_budget(cfg("build", system_prompt="SYS", context_tokens=99), reserve(cfg("memory", enabled=False))) == 97


def test_block_insert_and_remove_are_inverse():
    assert block.insert("SYS\nThem: hi", "Things Me said before:\n- Me: x", "SYS") == \
        "SYS\nThings Me said before:\n- Me: x\nThem: hi"
    assert block.insert("Them: hi", "B", "") == "B\nThem: hi"
    for ins, mem, system in (("SYS\nThem: hi", "B\n- x", "SYS"), ("Them: hi", "B", ""), ("SYS\nThem: hi", "", "SYS")):
        assert block.remove(block.insert(ins, mem, system), mem) == ins


@pytest.mark.parametrize("context_tokens, code", [(108, 2), (109, 0)])
def test_the_build_stage_refuses_a_budget_the_block_fills_in_one_line(tmp_path, monkeypatch, context_tokens, code):
    """build.system_prompt "A Telegram chat between Me and a friend." costs 11 + 1, the block 96 + 1: 109 is one
    token for the conversation, 108 none (exit 2, one line naming the params file, nothing written)."""
    from support import twin as F
    from test_segment import run_build

    params = F.write_params(tmp_path / "params.yaml", build={"context_tokens": context_tokens, "val_share": 0.5},
                            memory={"tokens": 96})
    got, err = run_build(tmp_path, turns_table(TURNS), monkeypatch, "--params", str(params))
    assert got == code
    if code:
        assert err == [f"doppel build: error: {params}: build.context_tokens (108) leaves no room for the conversation "
                       "after the system prompt and the memory block (memory.tokens + 1 = 97): raise it or lower "
                       "memory.tokens"]
        assert not (tmp_path / "processed").exists()
    else:
        rows = json.loads((tmp_path / "processed" / "train.json").read_text())
        assert all(approx_tokens(r["instruction"]) <= context_tokens for r in rows) and rows[0]["memory"] == ""
