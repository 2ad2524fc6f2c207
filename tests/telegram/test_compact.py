"""The compact reader's structure scan: brackets outside strings and their depth, escapes, chunk ends."""
from __future__ import annotations

import io

import orjson
import pytest

from doppel.errors import InputError
from doppel.telegram import compact
from doppel.telegram.desktop import NotDesktopLayout, parse_batch
from doppel.telegram.messages import Tally


def test_scan_skips_brackets_in_strings_and_escaped_quotes():
    buf = rb'{"a": "x{[\"}]", "b": [1, {"c": "\\"}, "d\\\\\"]"], "e": {}}'
    scan = compact.Scan(buf, 0)
    assert bytes(buf[p] for p in scan.pos) == b"{[{}]{}}"
    assert scan.after.tolist() == [1, 2, 3, 2, 1, 2, 1, 0]
    assert scan.opens.tolist() == [True, True, True, False, False, True, False, False]


def test_scan_of_a_prefix_ending_in_a_string_counts_its_brackets_as_in_the_string():
    scan = compact.Scan(b'{"a": [1], "b": "{[', 0)
    assert scan.after.tolist() == [1, 2, 1]


def messages_export(texts: list[str], chat_keys: str = '"name": "n", "type": "personal_chat", "id": 7') -> bytes:
    msgs = ",".join(orjson.dumps({"id": i, "type": "message", "text": t}).decode() for i, t in enumerate(texts))
    return ('{"personal_information": {"user_id": 42, "bio": "}]{["}, "chats": {"list": [{' + chat_keys
            + ', "messages": [' + msgs + ']}]}}').encode()


def read(raw: bytes, chunk: int = 1 << 20, monkeypatch=None):
    tally = Tally()
    if monkeypatch:
        monkeypatch.setattr(compact, "CHUNK_BYTES", chunk)
    out = list(compact.iter_compact_export(io.BytesIO(raw), "result.json", tally))
    return out, tally


TRICKY = ['x", "id": 9}, {"id": 10', '\\', '\\"', '{"messages": [', '}]}]}', '"messages": [1]', 'ok']


@pytest.mark.parametrize("chunk", [7, 8, 64, 1 << 20])
def test_messages_with_json_inside_their_text_are_cut_whole(chunk, monkeypatch):
    out, tally = read(messages_export(TRICKY), chunk, monkeypatch)
    assert tally.file_owner == "user42" and {c.id for c, _ in out} == {7}
    parsed = [m for _, b in out if b != [] for m in parse_batch(b.segment, b.indent, tally, b.starts)]
    assert [m["text"] for m in parsed] == TRICKY and [m["id"] for m in parsed] == list(range(len(TRICKY)))


def test_broken_message_is_counted_and_its_neighbours_kept():
    raw = messages_export(["a", "b", "c"]).replace(b'"text": "b"', b'"text": "b" "x"').replace(b'"text":"b"', b'"text":"b" "x"')
    out, tally = read(raw)
    (_, batch), = out
    parsed = parse_batch(batch.segment, batch.indent, tally, batch.starts)
    assert [m["text"] for m in parsed] == ["a", "c"] and tally.malformed == 1


def test_keys_after_messages_hand_over_and_bad_files_are_refused():
    with pytest.raises(NotDesktopLayout) as err:
        read(messages_export(["a"], '"name": "n"'))
    assert err.value.chats_done == 0
    with pytest.raises(NotDesktopLayout) as err:   # a single-chat export: the root is the chat
        read(b'{"name": "n", "type": "personal_chat", "id": 7, "messages": [{"id": 1, "text": "a"}]}')
    assert err.value.chats_done == 0
    with pytest.raises(InputError, match="not valid JSON"):
        read(messages_export(["a"]) + b"}")
    with pytest.raises(InputError, match="never end"):
        read(messages_export(["a", "b"])[:-12])
    with pytest.raises(InputError, match="not a list"):
        read(messages_export([]).replace(b'"messages": []', b'"messages": {}'))


@pytest.mark.parametrize("chunk", [5, 64, 1 << 20])
def test_long_sections_between_chats_are_not_held_and_the_owner_is_still_found(chunk, monkeypatch):
    """Chunks far smaller than the sections before the chats: their buffer keeps only from the last bracket."""
    contacts = ",".join(orjson.dumps({"first_name": f"c{i} {{[", "phone": "1"}).decode() for i in range(50))
    raw = messages_export(["a", "b"]).replace(b'{"personal_information"',
                                              b'{"contacts": {"list": [' + contacts.encode() + b']}, "personal_information"')
    seen = []
    real = compact.Scan

    def spy(buf, depth):
        seen.append(len(buf))
        return real(buf, depth)

    monkeypatch.setattr(compact, "Scan", spy)
    out, tally = read(raw, chunk, monkeypatch)
    parsed = [m for c, b in out if b != [] for m in parse_batch(b.segment, b.indent, tally, b.starts)]
    assert tally.file_owner == "user42" and {c.id for c, _ in out} == {7} and [m["text"] for m in parsed] == ["a", "b"]
    if chunk == 64:
        assert max(seen) < 4 * 64 + 200   # not the whole contacts section (about 2 kB)
