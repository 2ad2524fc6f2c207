"""scrub, line by line: numbers written with any of the separators people use (spaces, non-breaking spaces,
dots, hyphens, dashes, brackets) are redacted whole; clean numbers (dates, versions, prices, addresses, order
numbers) are left exactly as they were; the counts and the frame report add up."""
from __future__ import annotations

import polars as pl
import pytest

from conftest import cfg
from doppel.redact.scrub import scrub_frame, scrub_texts
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


@pytest.mark.parametrize(("line", "expected"), REDACTED, ids=[e[0] for e in REDACTED])
def test_private_numbers_are_redacted_whatever_the_separator(line, expected):
    out, counts = scrub_texts(pl.Series([line]))
    assert out.to_list() == [expected]
    kind = expected[expected.index("<") + 1:expected.index(">")]
    assert counts[kind] == 1 and sum(counts.values()) == 1


def test_clean_lines_are_left_exactly_as_they_were():
    out, counts = scrub_texts(pl.Series(CLEAN + [None]))
    assert out.to_list() == CLEAN + [None]
    assert sum(counts.values()) == 0


def test_counts_and_the_frame_report_add_up():
    lines = [REDACTED[0][0] + " и " + REDACTED[8][0], CLEAN[0], REDACTED[11][0], "dropped +7 912 345 67 89"]
    frame = pl.DataFrame({"chat_id": [2, 1, 1, 1], "message_id": [1, 3, 2, 4], "text": lines,
                          "drop_reason": [None, None, None, "forwarded"]}, schema_overrides={"drop_reason": pl.String})
    out, report = scrub_frame(frame, cfg("scrub"))
    assert out["text"].to_list() == ["mail me: <EMAIL>", CLEAN[0], "<PHONE> и card <CARD>"]
    assert (out["chat_id"].to_list(), out["message_id"].to_list()) == ([1, 1, 2], [2, 3, 1])
    assert report["rows_in"] == 4 and report["rows_dropped_upstream"] == 1 and report["rows_out"] == 3
    assert report["messages_changed"] == 2
    assert {k: v for k, v in report["replaced"].items() if v} == {"PHONE": 1, "CARD": 1, "EMAIL": 1}
    with pytest.raises(ValueError, match="missing columns: drop_reason"):
        scrub_frame(frame.drop("drop_reason"), cfg("scrub"))


def test_a_placeholder_typed_by_a_person_is_not_counted():
    out, counts = scrub_texts(pl.Series(["I wrote <PHONE> myself", "+7 912 345 67 89 and <PHONE>"]))
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
    texts, _ = scrub_texts(pl.Series([line for line, _ in REDACTED] + CLEAN[:-1]))
    frame = pl.concat([row(t, n) for n, t in enumerate(texts.to_list())])
    assert InstructionRow.validate(frame).height == len(REDACTED) + len(CLEAN) - 1
