"""scrub, line by line: numbers written with any of the separators people use (spaces, non-breaking spaces,
dots, hyphens, dashes, brackets) are redacted whole; clean numbers (dates, versions, prices, addresses, order
numbers) are left exactly as they were; the counts and the frame report add up."""
from __future__ import annotations

import polars as pl
import pytest

from conftest import cfg
from doppel.redact import scrub
from doppel.redact.scrub import scrub_texts, summary
from doppel.schemas import InstructionRow

NB = "\u00a0"
REDACTED = [
    (f"8{NB}912{NB}345{NB}67{NB}89", "<PHONE>"),
    (f"+7 912 345{NB}67{NB}89", "<PHONE>"),
    (f"+7{NB}(912){NB}345-67-89", "<PHONE>"),
    (f"звони 8{NB}800{NB}555{NB}35{NB}35 вечером", "звони <PHONE> вечером"),
    ("call 8.912.345.67.89 now", "call <PHONE> now"),
    ("8(912)345-67-89", "<PHONE>"),
    ("8 912 345\u201367\u201389", "<PHONE>"),
    ("9123456789", "<PHONE>"),
    ("card 4111.1111.1111.1111", "card <CARD>"),
    (f"4111{NB}1111{NB}1111{NB}1111!", "<CARD>!"),
    ("5500 0000 0000 0004", "<CARD>"),
    ("mail me: ivan.petrov@mail.ru", "mail me: <EMAIL>"),
    ("пароль: Qwerty123!", "пароль: <SECRET>"),
]
CLEAN = [
    "версия 2.10.3.1", "встреча 12.03.2026 в 19:30", "цена 1 234 567 руб", "ip 192.168.10.254",
    "заказ №3012345678", "2020 2021 2022 2023", f"в 19{NB}30 у входа", "счёт 3:2, потом 1.5 часа",
    "до 10.10 успею", "",
]


@pytest.mark.parametrize(("line", "expected"), REDACTED)
def test_private_numbers_are_redacted_whatever_the_separator(line, expected):
    out, counts = scrub_texts(pl.Series([line]), names=False)
    assert out.to_list() == [expected]
    kind = expected[expected.index("<") + 1:expected.index(">")]
    assert counts[kind] == 1 and sum(counts.values()) == 1


def test_clean_lines_are_left_exactly_as_they_were():
    out, counts = scrub_texts(pl.Series(CLEAN + [None]), names=False)
    assert out.to_list() == CLEAN + [None]
    assert sum(counts.values()) == 0


def test_counts_and_the_frame_report_add_up():
    lines = [REDACTED[0][0] + " и " + REDACTED[8][0], CLEAN[0], REDACTED[11][0], "dropped +7 912 345 67 89"]
    frame = pl.DataFrame({"chat_id": [2, 1, 1, 1], "message_id": [1, 3, 2, 4], "text": lines,
                          "drop_reason": [None, None, None, "forwarded"]}, schema_overrides={"drop_reason": pl.String})
    out, report = scrub.run(cfg("scrub"), frame)
    assert out["text"].to_list() == ["mail me: <EMAIL>", CLEAN[0], "<PHONE> и card <CARD>"]
    assert (out["chat_id"].to_list(), out["message_id"].to_list()) == ([1, 1, 2], [2, 3, 1])
    assert report["rows_in"] == 4 and report["rows_dropped_upstream"] == 1 and report["rows_out"] == 3
    assert report["messages_changed"] == 2
    assert {k: v for k, v in report["replaced"].items() if v} == {"PHONE": 1, "CARD": 1, "EMAIL": 1}
    with pytest.raises(ValueError, match="missing columns: drop_reason"):
        scrub.run(cfg("scrub"), frame.drop("drop_reason"))
    with pytest.raises(ValueError, match="missing columns: text, drop_reason$"):
        scrub.run(cfg("scrub"), frame.drop("drop_reason", "text"))
    assert summary(report) == "scrub: 4 rows in, 1 dropped upstream, 3 out, 2 changed (PHONE 1, EMAIL 1, CARD 1)"
    assert summary(dict(report, replaced={"PHONE": 0})) == (
        "scrub: 4 rows in, 1 dropped upstream, 3 out, 2 changed (nothing)")


def test_the_frame_counts_a_null_text_as_unchanged_and_follows_scrub_names():
    frame = pl.DataFrame({"chat_id": [1, 1, 1], "message_id": [1, 2, 3], "text": [None, "ask James", "ok"],
                          "drop_reason": [None, None, None]}, schema_overrides={"drop_reason": pl.String})
    out, report = scrub.run(cfg("scrub", names=False), frame)
    assert out["text"].to_list() == [None, "ask James", "ok"] and report["messages_changed"] == 0
    out, report = scrub.run(cfg("scrub", names=True), frame)
    assert out["text"].to_list() == [None, "ask <NAME>", "ok"] and report["messages_changed"] == 1
    assert report["replaced"]["NAME"] == 1


HINT = pl.List(pl.Struct({"type": pl.String, "text": pl.String}))


@pytest.mark.parametrize(("text", "hints", "expected"), [
    ("a 12-34 b", [("phone", "12-34")], "a <PHONE> b"),                  # one hint, 5 characters: used
    ("a 1234 b", [("phone", "1234")], "a 1234 b"),                       # 4 characters: too short to trust
    ("a 12-34, b", [("phone", " 12-34 ")], "a <PHONE>, b"),              # the hint's own spaces are trimmed
    ("to @ivan_petrov", [("mention", "@ivan_petrov")], "to @ivan_petrov"),  # not a private entity type
    # overlapping hints: the longest one at the leftmost position wins, whatever order they came in
    ("x 12-34-56-78-90 y", [("phone", "34-56"), ("bank_card", "12-34-56-78-90")], "x <CARD> y"),
    ("x 12-34-56-78-90 y", [("bank_card", "12-34-56-78-90"), ("phone", "34-56")], "x <CARD> y"),
    ("x 12-34-56-78-90 y", [("phone", "12-34-56"), ("bank_card", "12-34-56-78-90")], "x <CARD> y"),  # same start
    ("x 12-34-56 y", [("phone", "12-34-56"), ("bank_card", "12-34-56")], "x <PHONE> y"),  # twice: the first
    ("x 12-34-56 y", [("bank_card", "12-34-56"), ("phone", "12-34-56")], "x <CARD> y"),
])
def test_export_entity_hints(text, hints, expected):
    hint_rows = pl.Series([[{"type": t, "text": h} for t, h in hints]], dtype=HINT)
    out, counts = scrub_texts(pl.Series([text]), hint_rows, names=False)
    assert out.to_list() == [expected]
    assert sum(counts.values()) == expected.count("<")


def test_the_safety_net_and_internal_marks():
    out, counts = scrub_texts(pl.Series(["id4111 1111 1111 1111", "a\ufdd0b +7 912 345 67 89\ufdd1"]), names=False)
    assert out.to_list() == ["id<CARD>", "ab <PHONE>"]  # no word boundary: only the net sees the card
    assert counts["CARD"] == 1 and counts["PHONE"] == 1


def test_a_placeholder_typed_by_a_person_is_not_counted():
    out, counts = scrub_texts(pl.Series(["I wrote <PHONE> myself", "+7 912 345 67 89 and <PHONE>"]), names=False)
    assert out.to_list() == ["I wrote <PHONE> myself", "<PHONE> and <PHONE>"]
    assert counts["PHONE"] == 1


def row(output: str, n: int = 0) -> pl.DataFrame:
    return pl.DataFrame({"instruction": [f"Them: hi {n}"], "input": [""], "output": [output], "session": [0],
                         "chat_id": [1], "session_id": [0]})


@pytest.mark.parametrize("leak", ["+7 912 345 67 89", "4111 1111 1111 1111", "a@b.io"])
def test_the_dataset_check_refuses_an_unscrubbed_shape(leak):
    with pytest.raises(Exception, match="pii|PII"):
        InstructionRow.validate(row(f"call {leak}"))


@pytest.mark.parametrize("leak", ["4111.1111.1111.1111", f"4111{NB}1111{NB}1111{NB}1111"])
def test_the_dataset_check_refuses_a_card_with_other_separators(leak):
    with pytest.raises(Exception, match="pii|PII"):
        InstructionRow.validate(row(f"card {leak}"))


def test_scrubbed_text_always_passes_the_dataset_check():
    texts, _ = scrub_texts(pl.Series([line for line, _ in REDACTED] + CLEAN[:-1]), names=False)
    frame = pl.concat([row(t, n) for n, t in enumerate(texts.to_list())])
    assert InstructionRow.validate(frame).height == len(REDACTED) + len(CLEAN) - 1
