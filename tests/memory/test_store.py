"""Retrieval: scope (a fact told in chat A never surfaces in chat B unless scope all), no future, k, ranking."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import polars as pl
import pytest

from doppel.errors import InputError
from doppel.memory.store import Memory

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
A, B = 100, 101   # chat ids one apart: a near miss of the chat filter


def table(rows: list[tuple[int, int, str, str]]) -> pl.DataFrame:
    """(chat_id, minutes after T0, answered, text)."""
    return pl.DataFrame(
        [{"chat_id": c, "session_id": 0, "turn_index": i, "ts": T0 + timedelta(minutes=m), "answered": q, "text": t}
         for i, (c, m, q, t) in enumerate(rows)]).with_columns(pl.col("ts").dt.cast_time_unit("us").dt.replace_time_zone("UTC"))


@pytest.fixture()
def memory() -> Memory:
    return Memory(table([
        (A, 10, "how is the dog?", "Rex is fine, he ate a sock"),
        (A, 20, "", "I moved to Porto last spring"),
        (B, 30, "", "my dog Bruno hates the rain"),
        (A, 40, "", "the dog is called Rex, not Max"),
        (B, 50, "", "weather is awful"),
    ]))


def texts(hits: list[dict]) -> list[str]:
    return [h["text"] for h in hits]


def test_scope_chat_never_returns_another_chats_fact(memory):
    assert texts(memory.search("dog", chat_id=A, k=10)) == ["the dog is called Rex, not Max",
                                                           "Rex is fine, he ate a sock"]
    assert texts(memory.search("dog", chat_id=B, k=10)) == ["my dog Bruno hates the rain"]
    assert memory.search("porto", chat_id=B, k=10) == []          # said in A only
    assert memory.search("porto", chat_id=A + 2, k=10) == []      # an unknown chat: nothing
    assert memory.search("porto", chat_id=None, k=10) == []       # no chat given: nothing under scope chat
    assert {h["chat_id"] for h in memory.search("dog", chat_id=A, k=10)} == {A}


def test_scope_all_searches_every_chat(memory):
    hits = memory.search("porto", chat_id=B, k=10, scope="all")
    assert texts(hits) == ["I moved to Porto last spring"] and hits[0]["chat_id"] == A
    assert len(memory.search("dog", chat_id=None, k=10, scope="all")) == 3


def test_as_of_keeps_only_messages_strictly_before(memory):
    at = T0 + timedelta(minutes=40)                               # exactly the time of the second "dog" memory
    assert texts(memory.search("dog", chat_id=A, k=10, as_of=at)) == ["Rex is fine, he ate a sock"]
    just_after = at + timedelta(microseconds=1)
    assert len(memory.search("dog", chat_id=A, k=10, as_of=just_after)) == 2
    assert memory.search("dog", chat_id=A, k=10, as_of=T0 + timedelta(minutes=10)) == []
    with pytest.raises(ValueError):
        memory.search("dog", chat_id=A, k=1, as_of=datetime(2024, 1, 2))   # naive time refused


def test_k_caps_the_hits_best_first(memory):
    assert texts(memory.search("dog rex", chat_id=A, k=1)) == ["the dog is called Rex, not Max"]
    assert len(memory.search("dog", chat_id=A, k=2)) == 2
    assert memory.search("dog", chat_id=A, k=0) == []
    hits = memory.search("dog", chat_id=A, k=10)
    assert hits[0]["score"] >= hits[1]["score"] > 0


def test_the_answered_message_is_searched_too(memory):
    assert texts(memory.search("how", chat_id=A, k=10)) == ["Rex is fine, he ate a sock"]


def test_no_shared_word_no_memory_and_placeholders_are_not_words():
    m = Memory(table([(A, 1, "", "<NAME> said hi"), (A, 2, "", "hello")]))
    assert m.search("what is your name", chat_id=A, k=5) == []
    assert m.search("zzz", chat_id=A, k=5) == []


def test_empty_table_and_bad_input(tmp_path):
    empty = Memory(table([(A, 1, "", "x")]).clear())
    assert len(empty) == 0 and empty.search("dog", chat_id=A, k=3) == []
    # io.read_table's checks, each one line naming the file: missing (with the way back), a folder, not
    # parquet, another stage's table
    with pytest.raises(InputError, match=r"nope.parquet: no such file \(run `dvc checkout` first .*`dvc repro memory`"):
        Memory.load(tmp_path / "nope.parquet")
    with pytest.raises(InputError, match="is a folder"):
        Memory.load(tmp_path)
    (tmp_path / "text.parquet").write_text("not parquet")
    with pytest.raises(InputError, match="text.parquet: not a readable parquet file"):
        Memory.load(tmp_path / "text.parquet")
    bad = tmp_path / "bad.parquet"
    pl.DataFrame({"chat_id": [1]}).write_parquet(bad)
    with pytest.raises(InputError, match="bad.parquet: missing columns: session_id, turn_index, ts, answered, text"):
        Memory.load(bad)
    with pytest.raises(InputError, match="not a memory table"):
        Memory(pl.DataFrame({"chat_id": [1]}))
    with pytest.raises(ValueError):
        Memory(table([(A, 1, "", "dog")])).search("dog", chat_id=A, k=1, scope="chats")


CORPUS = [
    ("", "Мой пёс Рекс опять съел носок"), ("как дела?", "Норм, Rex is fine, he ate a SOCK sock sock"),
    ("", "<NAME> called, number unknown"), ("where do you work", "at the bakery on Rua Augusta, Porto"),
    ("", "ok"), ("", "x y z"), ("dog dog dog", "the Dog's name is Rex"), ("", "работаю в пекарне, не в банке"),
]
QUERIES = ["dog", "Rex sock", "РЕКС носок пёс", "where work porto", "name", "sock sock", "ok", "unknown-word z"]


def test_scores_are_bm25s_scores():
    """The column-wise index gives bm25s' own BM25 scores (Lucene IDF, k1 1.5, b 0.75) on the same texts."""
    import bm25s
    import numpy as np

    memory = Memory(table([(A, i, q, t) for i, (q, t) in enumerate(CORPUS)]))
    clean = [pl.Series([f"{q}\n{t}"]).str.replace_all(r"<[A-Z_]+>", " ")[0].lower() for q, t in CORPUS]
    ref = bm25s.BM25()
    ref.index(bm25s.tokenize(clean, stopwords=None, show_progress=False), show_progress=False)
    for query in QUERIES:
        words = bm25s.tokenize([query.lower()], stopwords=None, return_ids=False, show_progress=False)[0]
        known = [w for w in words if w in ref.vocab_dict]
        expected = ref.get_scores(known) if known else np.zeros(len(CORPUS))
        assert np.allclose(memory.scores(query), expected, rtol=1e-5, atol=1e-7), query
    dog = memory.scores("dog")
    assert dog[6] > 0 and dog[[0, 1, 2, 3, 4, 5, 7]].tolist() == [0] * 7      # "Dog's" and "dog" are one word
    assert memory.scores("носок")[0] > 0 == memory.scores("name")[2]         # a placeholder is no word


def test_ties_at_the_kth_score_go_to_the_most_recent():
    """k smaller than the matches, the k-th score shared by several: the most recent of the tied come first."""
    m = Memory(table([(A, 5, "", "dog"), (A, 1, "", "dog"), (A, 9, "", "dog"), (A, 3, "", "dog"),
                      (A, 7, "", "the dog barks at the mailman every single day")]))
    assert [h["ts"] for h in m.search("dog", chat_id=A, k=2)] == [T0 + timedelta(minutes=9), T0 + timedelta(minutes=5)]
    assert {h["text"] for h in m.search("dog", chat_id=A, k=4)} == {"dog"}       # the long one scores lower
    assert m.search("dog", chat_id=A, k=5)[-1]["ts"] == T0 + timedelta(minutes=7)
