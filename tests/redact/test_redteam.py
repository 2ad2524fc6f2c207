"""The red-team set (tests/data/redteam/*.tsv): every class caught (recall >= 0.99), clean lines kept (<= 1%
changed), names with scrub.names (names*.tsv: recall >= 0.95, <= 3% of the name-like clean lines changed); and
`doppel bench scrub` on it."""
from __future__ import annotations

from collections import Counter

import polars as pl
import pytest

from doppel.bench.scrub import REDTEAM, read_redteam, read_redteam_file, score
from doppel.errors import InputError
from doppel.redact.names import redact_row
from doppel.redact.scrub import scrub_texts
from tests.conftest import doppel


def test_set_size_and_balance():
    rows = read_redteam(REDTEAM, names=True)
    per_class = Counter(c for _, c, _ in rows)
    assert len(rows) >= 500
    assert per_class["CLEAN"] >= 150
    assert min(n for c, n in per_class.items() if c != "CLEAN") >= 20
    assert {"ACCOUNT", "NAME", "SECRET", "CRYPTO_ADDRESS", "SEED_PHRASE", "PASSPORT", "PHONE"} <= set(per_class)
    assert any("\n" in t for t, _, _ in rows)  # PEM blocks keep their newlines


@pytest.mark.parametrize("names", [False, True])
def test_recall_and_clean(names):
    res = score(read_redteam(REDTEAM, names=names), names=names)
    assert ("NAME" in res["recall"]) == names
    for cls, r in res["recall"].items():
        assert r >= (0.95 if cls == "NAME" else 1.0), (cls, [m for m in res["missed"] if m[0] == cls])
    assert res["clean_changed"] <= (0.03 if names else 0.01), res["clean_changed_lines"]


def test_hard_names_set():
    """names_hard.tsv: every case form and writing; names_clean.tsv: lines full of name-like common words."""
    hard = read_redteam_file(REDTEAM / "names_hard.tsv")
    clean = read_redteam_file(REDTEAM / "names_clean.tsv")
    assert len(hard) >= 200 and {c for _, c, _ in hard} == {"NAME"}
    assert len(clean) >= 150 and {c for _, c, _ in clean} == {"CLEAN"}
    res = score(hard, names=True)
    assert res["recall"]["NAME"] >= 0.95, res["missed"]
    kept = score(clean, names=True)
    assert kept["clean_changed"] <= 0.03, kept["clean_changed_lines"]
    assert score(clean + read_redteam_file(REDTEAM / "clean.tsv"), names=False)["clean_changed"] <= 0.01


def test_names_option_off_keeps_names():
    text = "получатель artem sokolov, спроси у Марии Ивановой"
    off, counts = scrub_texts(pl.Series([text]), names=False)
    assert off[0] == text and counts["NAME"] == 0
    on, counts = scrub_texts(pl.Series([text]), names=True)
    assert on[0] == "получатель <NAME>, спроси у <NAME>" and counts["NAME"] == 2


@pytest.mark.parametrize("text,expected", [
    ("ask James about it", "ask <NAME> about it"),
    ("логин artem.sokolov, пароль есть", "логин <NAME>, пароль есть"),  # a login made of a name
    ("Игорь Николаевич Зайцев звонил", "<NAME> звонил"),
    ("Вера в себя", "Вера в себя"),             # a first name that is a common word: only with a surname
    ("с Ольгой Павловой придём", "с <NAME> придём"),
    ("Hey, the weather is fair", "Hey, the weather is fair"),
    ("Москва, Спартак, iPhone 15", "Москва, Спартак, iPhone 15"),
    ("<PHONE> и <NAME>", "<PHONE> и <NAME>"),
    ("", ""),
    # Russian case forms, surnames alone, initials, patronymics, lower case, pet forms
    ("передай Игнату Белоусову отчёт", "передай <NAME> отчёт"),
    ("к Сорокиной на приём", "к <NAME> на приём"),
    ("ИП Колесников А.П.", "ИП <NAME>"),
    ("А. П. Колесников звонил", "<NAME> звонил"),
    ("у веры павловны", "у <NAME>"),
    ("мы с ксенией", "мы с <NAME>"),
    ("Алиночка, привет", "<NAME>, привет"),
    ("Колян звонил", "<NAME> звонил"),
    # ambiguous words: their common use stays; capitalised mid-sentence or next to a name part they go
    ("надежда умирает последней", "надежда умирает последней"),
    ("с надеждой на лучшее", "с надеждой на лучшее"),
    ("передай Надежде привет", "передай <NAME> привет"),
    ("Любовь Сергеевна пришла", "<NAME> пришла"),
    ("Любовь зла", "Любовь зла"),
    ("карта Мир", "карта Мир"),
    ("стая соколов", "стая соколов"),
    ("Роман Соколов", "<NAME>"),
    ("улица Гагарина", "улица Гагарина"),
    ("в Пушкине", "в Пушкине"),
    ("Венера видна", "Венера видна"),
    ("звонил Орехов", "звонил <NAME>"),                  # capitalised mid-sentence, a surname's ending
    ("звонил орехов", "звонил орехов"),                  # lower case: "орехов" is a plural of "орех"
    ("из Берлина прилетел", "из Берлина прилетел"),      # ... but a place after a place preposition
    ("магазин Магнит", "магазин Магнит"),
    ("сид фраза", "сид фраза"),
    # English: titles, surnames after first names, common words that are first names
    ("ask Mrs. Okafor", "ask Mrs. <NAME>"),
    ("Mrs Okafor", "Mrs <NAME>"),
    ("tell Hannah Prescott", "tell <NAME>"),
    ("tell hannah prescott", "tell <NAME>"),
    ("Will you come?", "Will you come?"),
    ("Will Carter is here", "<NAME> is here"),
    ("I think Will is right", "I think <NAME> is right"),
    ("Grace period ends", "Grace period ends"),
    ("the Grace of God", "the Grace of God"),
    ("Bill, can you", "<NAME>, can you"),
    ("Bill me later", "Bill me later"),
    ("see you in June", "see you in June"),
    ("June Holloway called", "<NAME> called"),
    ("Long Beach is sunny", "Long Beach is sunny"),
    ("we live in Georgia now", "we live in Georgia now"),        # a first name after "in": a place
    ("I moved to Austin", "I moved to Austin"),                  # "moved to": a trip
    ("talk to Austin", "talk to <NAME>"),                        # "to" alone: a person
    ("in Georgia Whitlock's house", "in <NAME>'s house"),        # ... unless a surname follows
    ("@james wrote", "@james wrote"),
    ("see Hannah", "see <NAME>"),                        # "see" is a census first name: lower case never joins
    ("#ivan", "#ivan"),
])
def test_name_rules(text, expected):
    assert redact_row(text) == expected


def test_names_idempotent_and_nulls():
    texts = pl.Series([r[0] for r in read_redteam(REDTEAM, names=True)] + [None], dtype=pl.String)
    once, _ = scrub_texts(texts, names=True)
    twice, counts = scrub_texts(once, names=True)
    assert once.to_list() == twice.to_list() and sum(counts.values()) == 0
    assert once[-1] is None


def test_bad_redteam_file(tmp_path):
    (tmp_path / "x.tsv").write_text("only text\n")
    with pytest.raises(InputError, match="expected text<TAB>class<TAB>value"):
        read_redteam(tmp_path, names=False)
    with pytest.raises(InputError, match="no red-team"):
        read_redteam(tmp_path / "empty", names=False)


def test_bench_scrub_command():
    proc = doppel("bench", "scrub", "--messages", "0", "--no-names", check=True)
    assert "recall ACCOUNT         1.000" in proc.stdout
    assert "clean lines changed" in proc.stdout and "NAME" not in proc.stdout
    bad = doppel("bench", "scrub", "--messages", "-1")
    assert bad.returncode == 2 and "--messages: must be >= 0" in bad.stderr
    few = doppel("bench", "scrub", "--messages", "99", "--no-names")  # one under the sample's smallest export
    assert few.returncode == 2 and "--messages: 0 (skip the speed figure) or at least 100, got 99" in few.stderr
    assert len(few.stderr.strip().splitlines()) == 1


def test_name_rows_pick_every_row_a_name_is_found_in():
    """The row filter (case-aware word lookups + initials) never hides a row in which redact_row finds a name;
    rows of common words only are not picked."""
    from doppel.redact.names import name_rows

    texts = [r[0] for r in read_redteam(REDTEAM, names=True)] + ["Лыкова О.Н. подписала", "tell Bartholomew Finch"]
    need = name_rows(pl.Series(texts, dtype=pl.String)).to_list()
    assert [t for t, n in zip(texts, need) if not n and redact_row(t) != t] == []
    common = ["the cable is manual", "army of ants", "стая птиц", "привет, как дела", "Grace period ends"]
    assert name_rows(pl.Series(common)).to_list() == [False, False, False, False, True]  # "Grace": a first name
