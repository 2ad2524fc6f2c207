"""Planted facts (sample.facts): off changes nothing; on, friends ask late what the owner said early."""
from __future__ import annotations

from doppel.sample.facts import FACTS, LATE_SHARE
from doppel.sample.people import OWNER
from doppel.sample.writer import generate, write

QUESTIONS = {f.question: f for f in FACTS}
OWNER_ID = f"user{OWNER.uid}"


def test_off_by_default_writes_the_same_bytes(tmp_path):
    plain, _ = write(tmp_path / "a", 2000, 7, None)
    off, _ = write(tmp_path / "b", 2000, 7, None, facts=False)
    on, _ = write(tmp_path / "c", 2000, 7, None, facts=True)
    assert plain.read_bytes() == off.read_bytes() != on.read_bytes()
    assert generate(2000, 7)[0] == generate(2000, 7, facts=False)[0]


def test_questions_late_answered_with_the_fact_statements_early():
    before, _ = generate(20000, 7)
    after, _ = generate(20000, 7, facts=True)
    asked = stated = 0
    for old, new in zip(before["chats"]["list"], after["chats"]["list"]):
        assert len(old["messages"]) == len(new["messages"])
        changed = [(o, n) for o, n in zip(old["messages"], new["messages"]) if o != n]
        if new["type"] != "personal_chat":
            assert not changed
        for o, n in changed:   # only the text of plain text messages changes
            assert {k: v for k, v in o.items() if k not in ("text", "text_entities")} == \
                   {k: v for k, v in n.items() if k not in ("text", "text_entities")}
            assert n["text_entities"] == [{"type": "plain", "text": n["text"]}]
        times = sorted(int(m["date_unixtime"]) for m in new["messages"])
        late_from = times[int(len(times) * (1 - LATE_SHARE))]
        msgs = new["messages"]
        for i, m in enumerate(msgs):
            text = m.get("text")
            if isinstance(text, str) and text in QUESTIONS:
                fact = QUESTIONS[text]
                assert m["from_id"] != OWNER_ID and int(m["date_unixtime"]) >= late_from
                assert msgs[i + 1]["from_id"] == OWNER_ID and fact.value in msgs[i + 1]["text"]
                asked += 1
            elif isinstance(text, str) and m.get("from_id") == OWNER_ID and \
                    any(text in f.statements for f in FACTS) and int(m["date_unixtime"]) < late_from:
                stated += 1
    assert asked >= 5 * len(FACTS) and stated >= 3 * len(FACTS)
