"""Reply-time recall: the query is the other person's latest message, as-of the clock, within the budget."""
from __future__ import annotations

from datetime import timedelta

import pytest

from conftest import cfg
from doppel.errors import InputError
from doppel.memory.recall import Recall, check_budget, describe
from doppel.memory.store import Memory
from doppel.prompt import approx_tokens
from memory.test_store import A, B, T0, table

ROWS = [(A, 10, "how is the dog?", "Rex is fine"), (A, 20, "", "moved to Porto"), (A, 30, "", "the dog is Rex"),
        (B, 5, "", "my dog Bruno")]


def recall(clock_minutes: int = 1000, chat=A, **overrides) -> Recall:
    return Recall(Memory(table(ROWS)), cfg("memory", **{"scope": "chat", "k": 4, "tokens": 96, **overrides}), chat,
                  clock=lambda: T0 + timedelta(minutes=clock_minutes))


def test_query_is_the_latest_message_of_the_other_person():
    r = recall()
    out = r([(False, "where do you live?"), (True, "hm"), (False, "and your dog?"), (True, "...")])
    assert out.splitlines() == ["Things Me said before:", "- Me: the dog is Rex", "- (Them: how is the dog?) Me: Rex is fine"]
    assert [h["text"] for h in r.last] == ["the dog is Rex", "Rex is fine"]
    assert r([(True, "only me talking")]) == "" and r.last == []


def test_clock_is_the_as_of_time():
    r = recall(clock_minutes=30)          # exactly when "the dog is Rex" was said: not yet in memory
    assert [h["text"] for h in (r([(False, "dog")]) and r.last)] == ["Rex is fine"]


def test_scope_chat_and_all():
    assert recall(chat=B)([(False, "porto")]) == ""
    assert "moved to Porto" in recall(chat=B, scope="all")([(False, "porto")])


def test_disabled_budget_and_k():
    assert recall(enabled=False)([(False, "dog")]) == ""
    one = recall(k=1)
    assert one([(False, "dog")]).count("\n") == 1 and len(one.last) == 1
    tight = recall(tokens=12)
    text = tight([(False, "dog")])
    assert approx_tokens(text) <= 12 and len(tight.last) == text.count("\n")


def test_budget_must_leave_room_for_the_conversation():
    check_budget(cfg("memory", tokens=383), 384)                     # one below the context: fine
    with pytest.raises(InputError, match="memory.tokens \\(384\\) leaves no room"):
        check_budget(cfg("memory", tokens=384), 384)                 # exactly at it: refused
    check_budget(cfg("memory", tokens=384, enabled=False), 384)      # disabled: no block, no check


def test_describe_lists_chat_date_and_score():
    r = recall()
    r([(False, "porto")])
    assert describe(r.last).splitlines()[1].startswith(f"  [chat {A} 2024-01-01 score ")
    assert describe([]) == "(memory: nothing retrieved)"


def test_open_memory_for_serve_and_bot(tmp_path):
    import io

    from doppel.memory.recall import open_memory

    path = tmp_path / "memory.parquet"
    err = io.StringIO()
    assert open_memory(cfg("memory"), path, 384, "params.yaml", err) is None          # no table: a note, no memory
    assert err.getvalue() == f"(memory: no table at {path}: run `dvc repro memory`; replying without memory)\n"
    table(ROWS).write_parquet(path)
    assert len(open_memory(cfg("memory", tokens=383), path, 384, "params.yaml")) == len(ROWS)
    with pytest.raises(InputError, match="memory.tokens \\(384\\) leaves no room"):
        open_memory(cfg("memory", tokens=384), path, 384, "params.yaml")
    assert open_memory(cfg("memory", enabled=False), path, 384, "params.yaml") is None
