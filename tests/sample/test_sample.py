"""doppel sample: the synthetic full-account export (determinism, exporter layout, structure, planted data)."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import orjson
import pytest

from doppel import sample
from doppel.sample import command as sample_command
from doppel.sample import words as tables
from doppel.sample.dates import export_date
from doppel.sample.templates import fill

ROOT = Path(__file__).resolve().parents[2]
SHARED_SAMPLES = ROOT.parent / "shared" / "samples"
N, SEED = 4000, 11


@pytest.fixture(scope="module")
def generated():
    return sample.generate(N, SEED)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    path = sample.write_sample(out, N, SEED, planted_path=out / "planted.jsonl")
    return path, out / "planted.jsonl"


def all_chats(export: dict) -> list[dict]:
    return export["chats"]["list"] + export["left_chats"]["list"]


def text_of(message: dict) -> str:
    text = message["text"]
    return text if isinstance(text, str) else "".join(p if isinstance(p, str) else p["text"] for p in text)


def by_id(export: dict) -> dict[tuple[int, int], dict]:
    return {(c["id"], m["id"]): m for c in all_chats(export) for m in c["messages"]}


# ------------------------------------------------------------------------------------------ determinism, layout

def test_same_seed_same_bytes_other_seed_differs(tmp_path, written):
    path, planted = written
    again = sample.write_sample(tmp_path / "a", N, SEED, planted_path=tmp_path / "a" / "planted.jsonl")
    assert again.read_bytes() == path.read_bytes()
    assert (tmp_path / "a" / "planted.jsonl").read_bytes() == planted.read_bytes()
    other = sample.write_sample(tmp_path / "b", N, SEED + 1)
    assert other.read_bytes() != path.read_bytes()


def test_streamed_file_is_the_generated_export_in_exporter_layout(generated, written):
    export, planted = generated
    path, planted_path = written
    raw = path.read_bytes()
    assert orjson.loads(raw) == export
    assert raw == sample.dumps_like_exporter(export)
    assert [orjson.loads(line) for line in planted_path.read_bytes().splitlines()] == planted
    assert raw.startswith(b'{\n "about": "Here is the data you requested.') and raw.endswith(b"\n  ]\n }\n}")


@pytest.mark.skipif(not SHARED_SAMPLES.is_dir(), reason="../shared/samples not present")
@pytest.mark.parametrize("name", ["jimmy_personal_chat_2026.json", "ragtgbot_private_group_ru.json",
                                  "tg2md_new_ids.json", "tg2md_old_ids.json"])
def test_layout_model_reproduces_real_exports_byte_for_byte(name):
    raw = (SHARED_SAMPLES / name).read_bytes()
    # (one sample's repository added a trailing newline; the exporter writes none)
    assert sample.dumps_like_exporter(orjson.loads(raw)) == raw.rstrip(b"\n")


def test_indentation_one_space_per_level(written):
    lines = written[0].read_text(encoding="utf-8").split("\n")
    assert lines[0] == "{" and lines[1].startswith(' "about": "') and lines[2] == ' "personal_information": {'
    assert ' "chats": {' in lines and '  "list": [' in lines and ' "left_chats": {' in lines
    assert sum(line == "     {" for line in lines) == N  # every message object, and nothing else, opens there
    opened = [i for i, line in enumerate(lines) if line == "     {"]
    assert all(re.fullmatch(r'      "id": \d+,', lines[i + 1]) for i in opened)
    assert all(re.fullmatch(r'    "messages": \[', lines[i - 1]) or lines[i - 1] == "     },"
               for i in opened)
    for line in lines:
        assert not line.startswith("\t") and (len(line) - len(line.lstrip(" "))) <= 12


# ------------------------------------------------------------------------------------------------- structure

def test_top_level_and_chat_types(generated):
    export, _ = generated
    assert list(export) == ["about", "personal_information", "profile_pictures", "contacts", "frequent_contacts",
                            "sessions", "web_sessions", "chats", "left_chats"]
    me = export["personal_information"]
    assert list(me) == ["user_id", "first_name", "last_name", "phone_number", "username", "bio"]
    for key in ("contacts", "frequent_contacts", "chats", "left_chats"):
        assert list(export[key]) == ["about", "list"] and export[key]["list"]
    assert {"id", "category", "type", "name", "rating"} == set(export["frequent_contacts"]["list"][0])
    chats = export["chats"]["list"]
    types = Counter(c["type"] for c in chats)
    assert types["personal_chat"] >= 7  # six friends at least, plus Telegram's 777000
    for t in ("private_group", "private_supergroup", "bot_chat", "saved_messages"):
        assert types[t] == 1, t
    telegram = next(c for c in chats if c["id"] == 777000)
    assert telegram["name"] == "Telegram" and any("Login code" in text_of(m) for m in telegram["messages"])
    assert all(c["type"] in ("public_channel", "public_supergroup", "private_channel")
               for c in export["left_chats"]["list"])
    for c in all_chats(export):
        assert list(c)[-1] == "messages" and c["messages"]
        expected = ["type", "id", "messages"] if c["type"] == "saved_messages" else ["name", "type", "id", "messages"]
        assert list(c) == expected
    saved = next(c for c in chats if c["type"] == "saved_messages")
    assert saved["id"] == me["user_id"]
    assert sum(len(c["messages"]) for c in all_chats(export)) == N


def test_senders_ids_and_owner(generated):
    export, _ = generated
    owner = f"user{export['personal_information']['user_id']}"
    personal = [c for c in export["chats"]["list"] if c["type"] == "personal_chat" and c["id"] != 777000]
    for c in personal:  # a personal chat's id is the peer's user id: its only other sender
        senders = {m.get("from_id") or m.get("actor_id") for m in c["messages"]}
        assert senders == {owner, f"user{c['id']}"}, c["name"]
    for c in all_chats(export):
        for m in c["messages"]:
            who = m.get("from_id", m.get("actor_id"))
            assert re.fullmatch(r"(user|channel)\d+", who), who
    group = next(c for c in export["chats"]["list"] if c["type"] == "private_supergroup")
    assert any(m.get("from", "") is None for m in group["messages"])  # a deleted account


def test_message_fields(generated):
    export, _ = generated
    seen = Counter()
    for c in all_chats(export):
        ids = [m["id"] for m in c["messages"]]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        times = [int(m["date_unixtime"]) for m in c["messages"]]
        assert times == sorted(times)
        known = set(ids)
        for m in c["messages"]:
            keys = list(m)
            assert keys[:4] == ["id", "type", "date", "date_unixtime"] and m["type"] in ("message", "service")
            assert m["date"] == export_date(int(m["date_unixtime"]))
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", m["date"])
            assert keys[keys.index("text"):keys.index("text") + 2] == ["text", "text_entities"]
            assert isinstance(m["text_entities"], list)
            assert all(set(e) <= {"type", "text", "href"} and {"type", "text"} <= set(e) for e in m["text_entities"])
            assert "".join(e["text"] for e in m["text_entities"]) == text_of(m)
            seen["text_" + type(m["text"]).__name__] += 1
            for e in m["text_entities"]:
                seen["entity_" + e["type"]] += 1
            if m["type"] == "service":
                assert {"actor", "actor_id", "action"} <= set(m) and m["text"] == ""
                seen["action_" + m["action"]] += 1
                if m["action"] == "pin_message":
                    assert m["message_id"] in known
                continue
            if "reply_to_message_id" in m:
                assert m["reply_to_message_id"] in known and m["reply_to_message_id"] < m["id"]
                seen["reply"] += 1
            if "edited" in m:
                assert keys.index("edited") == 4 and int(m["edited_unixtime"]) > int(m["date_unixtime"])
                seen["edited"] += 1
            if "forwarded_from" in m:
                seen["forward"] += 1
            if "photo" in m:
                assert m["width"] > 0 and m["height"] > 0
                seen["photo_caption" if m["text"] else "photo"] += 1
            if m.get("media_type"):
                seen[m["media_type"]] += 1
                if m["media_type"] == "sticker":
                    assert m["sticker_emoji"]
                if m["media_type"] == "voice_message":
                    assert m["duration_seconds"] > 0
            if sample.NOT_INCLUDED in (m.get("file"), m.get("photo")):
                seen["not_included"] += 1
            if "reactions" in m:
                seen["reactions"] += 1
    for what in ("text_str", "text_list", "entity_plain", "entity_phone", "entity_email", "entity_bank_card",
                 "entity_link", "entity_bold", "entity_bot_command", "action_phone_call", "action_pin_message",
                 "action_create_group", "reply", "edited", "forward", "photo", "photo_caption", "sticker",
                 "voice_message", "animation", "not_included", "reactions"):
        assert seen[what] > 0, what


def test_owner_style_is_distinctive(generated):
    export, _ = generated
    owner = export["personal_information"]["user_id"]
    mine, theirs = [], []
    for c in export["chats"]["list"]:
        if c["type"] != "personal_chat" or c["id"] == 777000:
            continue
        for m in c["messages"]:
            if m["type"] == "message" and isinstance(m["text"], str) and m["text"] and "forwarded_from" not in m:
                (mine if m["from_id"] == f"user{owner}" else theirs).append(m["text"])
    assert len(mine) > 500 and len(theirs) > 500
    lower = lambda texts: sum(t == t.lower() for t in texts) / len(texts)  # noqa: E731
    assert lower(mine) > 0.9 > 0.6 > lower(theirs)
    assert sum(t.endswith(")") for t in mine) / len(mine) > 0.1
    assert sum(t.endswith(".") for t in mine) == 0
    assert len(set(mine)) > 0.3 * len(mine)  # varied, not a handful of canned lines


# ---------------------------------------------------------------------------------------------- planted data

def test_planted_rows_point_at_messages_that_contain_them(generated):
    export, planted = generated
    index = by_id(export)
    for row in planted:
        assert list(row) == ["chat_id", "message_id", "type", "value"]
        assert row["type"] in sample.PLANTED_TYPES + (sample.DECOY,)
        m = index[(row["chat_id"], row["message_id"])]
        assert row["value"] and row["value"] in text_of(m), row


def test_planted_rates_and_types():
    export, planted = sample.generate(20000, 3)
    secret = [r for r in planted if r["type"] != sample.DECOY]
    decoys = [r for r in planted if r["type"] == sample.DECOY]
    assert 0.02 < len(secret) / 20000 < 0.045
    assert set(r["type"] for r in secret) == set(sample.PLANTED_TYPES)
    planted_ids = {(r["chat_id"], r["message_id"]) for r in secret}
    people = [c for c in all_chats(export) if c["id"] != 777000 and c["type"] not in ("bot_chat", "public_channel")]
    clean_text = sum(1 for c in people for m in c["messages"] if text_of(m) and (c["id"], m["id"]) not in planted_ids)
    assert 0.03 < len(decoys) / clean_text < 0.08
    assert not planted_ids & {(r["chat_id"], r["message_id"]) for r in decoys}


def test_planted_values_are_well_formed():
    export, planted = sample.generate(20000, 3)
    index = by_id(export)
    kinds = Counter()
    entity_of = {"PHONE": "phone", "EMAIL": "email", "CARD": "bank_card"}
    for r in planted:
        v, t = r["value"], r["type"]
        if t == "CARD":
            assert sample.luhn_ok(v) and len(re.sub(r"\D", "", v)) == 16
        elif t == "IBAN":
            assert sample.iban_ok(v)
        elif t == "INN":
            assert sample.inn_ok(v)
        elif t == "SNILS":
            assert sample.snils_ok(v) and re.fullmatch(r"\d{3}-\d{3}-\d{3}[ -]\d{2}", v)
        elif t == "PASSPORT":
            assert re.fullmatch(r"\d\d ?\d\d \d{6}", v)
        elif t == "EMAIL":
            assert re.fullmatch(r"[a-z0-9._]+@[a-z0-9.]+\.[a-z]+", v)
        elif t == "PHONE":
            assert 10 <= len(re.sub(r"\D", "", v)) <= 12
        elif t == "SEED_PHRASE":
            words = v.split(" ")
            assert len(words) == 12 and set(words) <= set(sample.SEED_WORDS)
        elif t == "CRYPTO_ADDRESS":
            assert (v.startswith("bc1q") and sample.bech32_ok(v)) or re.fullmatch(r"0x[0-9a-f]{40}", v) \
                or re.fullmatch(r"[1T][1-9A-HJ-NP-Za-km-z]{25,34}", v)
        if t in entity_of:
            ents = index[(r["chat_id"], r["message_id"])]["text_entities"]
            kinds[(t, any(e["type"] == entity_of[t] and e["text"] == v for e in ents))] += 1
    for t in entity_of:  # some marked by the exporter as entities, some only in plain text
        assert kinds[(t, True)] > 0 and kinds[(t, False)] > 0, t


def test_checksum_helpers_reject_bad_values():
    assert sample.luhn_ok("4111 1111 1111 1111") and not sample.luhn_ok("4111 1111 1111 1112")
    assert sample.iban_ok("DE89 3704 0044 0532 0130 00") and not sample.iban_ok("DE88 3704 0044 0532 0130 00")
    assert sample.inn_ok("7707083893") and not sample.inn_ok("7707083894")
    assert sample.snils_ok("112-233-445 95") and not sample.snils_ok("112-233-445 96")
    assert sample.bech32_ok("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")
    assert not sample.bech32_ok("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5")


def test_every_template_fills_in_both_genders():
    import random

    rng = random.Random(0)
    templates = []
    for topic in tables.TOPICS.values():
        for lang, bank in topic.items():
            for name, items in bank.items():
                templates += [(lang, t.split("|", 1)[1] if name == "q" else t) for t in items]
    for lang, bank in tables.GENERIC.items():
        templates += [(lang, t) for items in bank.values() for t in items]
    for kind in tables.PLANT_TEMPLATES.values():
        templates += [(lang, t) for lang, items in kind.items() for t in items]
    templates += [("ru", t) for t in tables.NOTES]
    for lang, template in templates:
        for fem in (False, True):
            text = fill(template, rng, lang, fem, not fem)
            assert "{" not in text and "}" not in text, template


# --------------------------------------------------------------------------------------------------- the CLI

def test_cli_writes_sample_and_planted(tmp_path, capsys):
    assert sample_command.main(["-o", str(tmp_path / "out"), "--messages", "500", "--seed", "3",
                        "--planted", str(tmp_path / "planted.jsonl")]) == 0
    line = capsys.readouterr().err.strip()  # the summary goes to stderr
    assert re.fullmatch(r"sample: 500 messages, 14 chats, \d+ planted \+ \d+ decoys, \d+ bytes, [\d.]+ s -> .*", line)
    assert orjson.loads((tmp_path / "out" / "result.json").read_bytes())["chats"]["list"]
    assert (tmp_path / "planted.jsonl").read_text().count("\n") > 10
    with pytest.raises(SystemExit):
        sample_command.main(["-o", str(tmp_path / "x"), "--messages", "5"])
    with pytest.raises(ValueError):
        sample.generate(5, 1)


def test_a_large_sample_holds_exactly_the_messages_asked_for(tmp_path):
    """Size, not speed (speed is `doppel bench`'s): 50,000 messages, each id once per chat."""
    export = orjson.loads(sample.write_sample(tmp_path, 50_000, 1).read_bytes())
    chats = all_chats(export)
    assert sum(len(c["messages"]) for c in chats) == 50_000
    for chat in chats:
        ids = [m["id"] for m in chat["messages"]]
        assert len(set(ids)) == len(ids)
