"""Every valid JSON encoding of an export ingests like Telegram Desktop's own layout (issue 11).

The bundled sample re-saved the ways people and tools re-save it (re-indented, minified, tabs, CRLF, a BOM,
keys reordered, `\\/` and ASCII escapes, extra sections, zipped, as `doppel fetch` files in a zip): each gives
the canonical file's counts and the identical message table.
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import orjson
import polars as pl
import pytest

from conftest import ROOT, cfg, doppel
from doppel import ingest


def reorder(obj, root: bool = True):
    """Every object's keys in reverse order (a chat's `messages` before its `id`/`type`/`name`), but the top
    level's: `personal_information` goes last, after the chats (which keep their order: chats, left_chats)."""
    if isinstance(obj, dict):
        keys = list(obj)
        keys = [k for k in keys if k != "personal_information"] + ["personal_information"] * (
            "personal_information" in obj) if root else keys[::-1]
        return {k: reorder(obj[k], False) for k in keys}
    if isinstance(obj, list):
        return [reorder(v, False) for v in obj]
    return obj


def dumps(obj, indent=None, ensure_ascii=False, **kw) -> bytes:
    return json.dumps(obj, indent=indent, ensure_ascii=ensure_ascii, **kw).encode()


def fetch_files(export: dict) -> dict[str, bytes]:
    """The export as `doppel fetch` writes it: per chat a header line, then one message per line."""
    owner = f"user{export['personal_information']['user_id']}"
    files = {}
    for chat in export["chats"]["list"] + export["left_chats"]["list"]:
        header = {"chat": {k: chat.get(k) for k in ("id", "type", "name")}, "owner_id": owner}
        lines = [orjson.dumps(header)] + [orjson.dumps(m) for m in chat["messages"]]
        files[f"telethon/chat_{chat['id']}.jsonl"] = b"\n".join(lines) + b"\n"
    return files


def zipped(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in files.items():
            z.writestr(name, content)
    return buf.getvalue()


def variants(canonical: bytes) -> dict[str, bytes]:
    export = orjson.loads(canonical)
    extra = {**export, "other_data": {"about": "Other data", "changes_log": [{"type": "x", "date": "2026-01-01"}],
                                      "instant_views": []},
             "stories": [{"id": 1, "date": "2026-01-01T00:00:00", "media": "stories/1.jpg"}]}
    return {
        "indent_2": dumps(export, 2),
        "indent_4": dumps(export, 4),
        "minified": orjson.dumps(export),
        "tabs": dumps(export, "\t"),
        "crlf": canonical.replace(b"\n", b"\r\n"),
        "bom": b"\xef\xbb\xbf" + canonical,
        "bom_crlf_indent_4": b"\xef\xbb\xbf" + dumps(export, 4).replace(b"\n", b"\r\n"),
        "keys_reversed": dumps(reorder(export), 1),
        "keys_sorted_minified": dumps(export, sort_keys=True, separators=(",", ":")),
        "escaped_slashes": canonical.replace(b"/", b"\\/"),
        "ascii_escaped": dumps(export, 1, ensure_ascii=True),
        "ascii_escaped_indent_4": dumps(export, 4, ensure_ascii=True),
        "extra_sections": dumps(extra, 1),
        "extra_sections_indent_4": dumps(extra, 4),
    }


SUBSET = 300  # messages per chat: every chat and message form of the sample, a quarter of its size


@pytest.fixture(scope="module")
def canonical(tmp_path_factory, bundled_sample) -> Path:
    """The bundled sample cut to SUBSET messages per chat, in Telegram Desktop's own layout."""
    export = orjson.loads(bundled_sample.read_bytes())
    for chat in export["chats"]["list"] + export["left_chats"]["list"]:
        chat["messages"] = chat["messages"][:SUBSET]
    path = tmp_path_factory.mktemp("canonical") / "result.json"
    path.write_bytes(dumps(export, 1))
    return path


@pytest.fixture(scope="module")
def reference(canonical):
    """The canonical file's table and report, read by the Desktop-layout reader alone."""
    from doppel.telegram import reader

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(reader, "iter_stream", None)  # the stream reader must not be needed
        return ingest.read_exports([canonical], cfg("ingest"))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, canonical) -> Path:
    """Every variant, built once: NAME/result.json, plus the zips."""
    root = tmp_path_factory.mktemp("layouts")
    canonical = canonical.read_bytes()
    for name, content in variants(canonical).items():
        (root / name).mkdir()
        (root / name / "result.json").write_bytes(content)
    (root / "zip_of_the_folder.zip").write_bytes(zipped({"DataExport_2026-11-29/result.json": canonical}))
    (root / "zip_of_fetch_files.zip").write_bytes(zipped(fetch_files(orjson.loads(canonical))))
    return root


def without_files(report: dict) -> dict:
    return {k: v for k, v in report.items() if k != "files"}


LAYOUTS = ["indent_2", "indent_4", "minified", "tabs", "crlf", "bom", "bom_crlf_indent_4", "keys_reversed",
           "keys_sorted_minified", "escaped_slashes", "ascii_escaped", "ascii_escaped_indent_4", "extra_sections",
           "extra_sections_indent_4"]


@pytest.mark.parametrize("name", LAYOUTS)
def test_layout_variant_ingests_like_the_canonical_file(corpus, reference, name):
    messages, report = ingest.read_exports([corpus / name / "result.json"], cfg("ingest"))
    assert report == reference[1]
    assert messages.equals(reference[0])


def test_zip_of_the_export_folder_is_read_in_place(corpus, reference):
    messages, report = ingest.read_exports([corpus / "zip_of_the_folder.zip"], cfg("ingest"))
    assert report == reference[1]
    assert messages.equals(reference[0])


def test_zips_in_an_input_folder_are_found(corpus, reference, tmp_path):
    (tmp_path / "export.zip").write_bytes((corpus / "zip_of_the_folder.zip").read_bytes())
    messages, report = ingest.read_exports([tmp_path], cfg("ingest"))
    assert report == reference[1] and messages.equals(reference[0])


def test_zip_of_fetch_files_gives_the_same_table(corpus, reference):
    messages, report = ingest.read_exports([corpus / "zip_of_fetch_files.zip"], cfg("ingest"))
    assert report["files"] == 14  # one file per chat
    assert without_files(report) == without_files(reference[1])
    keys = ["chat_id", "message_id"]
    assert messages.sort(keys).equals(reference[0].sort(keys))


def test_owner_named_after_the_chats_still_counts(tmp_path):
    """keys reversed: personal_information comes after every chat, the owner is still the export's."""
    export = {"personal_information": {"user_id": 1}, "chats": {"list": [{
        "name": "Group", "type": "private_group", "id": 5, "messages": [
            {"id": 1, "type": "message", "date_unixtime": "100", "from_id": "user3", "text": "hi", "text_entities": []},
            {"id": 2, "type": "message", "date_unixtime": "110", "from_id": "user1", "text": "yo", "text_entities": []},
        ]}]}}
    (tmp_path / "result.json").write_bytes(dumps(reorder(export), 4))
    messages, report = ingest.read_exports([tmp_path], cfg("ingest", chat_types=["private_group"]))
    assert messages["is_owner"].to_list() == [False, True]
    assert report["owner"] == {"taken": [{"id": "user1", "how": "export", "chats": 1}], "chats_without_owner": 0}


def test_layout_change_midway_is_taken_over_by_the_stream_reader(tmp_path, canonical, reference):
    """Telegram's layout at the start, a chat re-saved with its keys reordered further on."""
    export = orjson.loads(canonical.read_bytes())
    export["chats"]["list"][5] = reorder(export["chats"]["list"][5], root=False)
    (tmp_path / "result.json").write_bytes(dumps(export, 1))
    messages, report = ingest.read_exports([tmp_path / "result.json"], cfg("ingest"))
    assert report == reference[1] and messages.equals(reference[0])


# Telegram's layout with another indentation unit per level: the Desktop-layout reader's, as fast as the original
REINDENTED = ["indent_2", "indent_4", "tabs", "ascii_escaped_indent_4", "extra_sections_indent_4"]
# near misses: what the Desktop-layout reader must leave to the stream reader
NOT_REINDENTED = ["minified", "crlf", "bom_crlf_indent_4", "keys_sorted_minified"]


@pytest.mark.parametrize("name", REINDENTED)
def test_reindented_export_is_read_without_the_stream_reader(corpus, reference, name, monkeypatch):
    from doppel.telegram import reader

    monkeypatch.setattr(reader, "iter_stream", None)
    messages, report = ingest.read_exports([corpus / name / "result.json"], cfg("ingest"))
    assert report == reference[1] and messages.equals(reference[0])


@pytest.mark.parametrize("name", NOT_REINDENTED)
def test_other_layouts_are_left_to_the_stream_reader(corpus, name):
    from doppel.telegram.desktop import layout_indent

    assert layout_indent((corpus / name / "result.json").read_bytes()[:1 << 16].removeprefix(b"\xef\xbb\xbf")) is None


@pytest.mark.parametrize("head, unit", [
    (b'{\n "about": 1', b" "), (b'{\n  "about": 1', b"  "), (b'{\n    "a"', b"    "), (b'{\n\t"a"', b"\t"),
    (b'{\r\n "a"', None), (b'{\n "a": 1,\r\n', None), (b'{"a"', None), (b'{\n\t "a"', None), (b'{\n" a"', None),
    (b' {\n "a"', None),
])
def test_layout_indent_is_the_first_keys_indentation(head, unit):
    from doppel.telegram.desktop import layout_indent

    assert layout_indent(head) == unit


def test_streamed_batches_and_held_chats_do_not_change_the_table(corpus, reference, monkeypatch):
    from doppel.telegram import stream

    monkeypatch.setattr(stream, "BATCH_MESSAGES", 77)
    for name in ("minified", "bom_crlf_indent_4", "keys_reversed"):
        messages, report = ingest.read_exports([corpus / name / "result.json"], cfg("ingest"))
        assert report == reference[1] and messages.equals(reference[0]), name


def test_html_export_folder_gets_the_hint_to_export_as_json(tmp_path):
    (tmp_path / "ChatExport" / "css").mkdir(parents=True)
    (tmp_path / "ChatExport" / "messages.html").write_text("<!DOCTYPE html><html></html>")
    proc = doppel("ingest", "--input", tmp_path, "--output", tmp_path / "m.parquet", "--report", tmp_path / "r.json",
                  cwd=ROOT)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert "HTML export" in lines[0] and "Machine-readable JSON" in lines[0]


def test_summary_says_which_owner_and_why(tmp_path, bundled_sample):
    proc = doppel("ingest", "--input", bundled_sample, "--output", tmp_path / "m.parquet",
                  "--report", tmp_path / "r.json", cwd=ROOT, check=True)
    assert "owner: user5093817264, the export's own id" in proc.stderr
    single = {"name": "Friend", "type": "personal_chat", "id": 42, "messages": [
        {"id": i, "type": "message", "date_unixtime": str(100 + i), "from_id": f"user{42 if i % 2 else 7}",
         "text": "x", "text_entities": [{"type": "plain", "text": "x"}]} for i in range(1, 5)]}
    (tmp_path / "single" / "result.json").parent.mkdir()
    (tmp_path / "single" / "result.json").write_bytes(dumps(single, 1))
    proc = doppel("ingest", "--input", tmp_path / "single", "--output", tmp_path / "m.parquet",
                  "--report", tmp_path / "r.json", cwd=ROOT, check=True)
    assert "owner: user7, a guess" in proc.stderr and "ingest.owner_id" in proc.stderr
    assert json.loads((tmp_path / "r.json").read_text())["owner"]["taken"] == [
        {"id": "user7", "how": "guess", "chats": 1}]


def test_group_only_export_says_which_chat_types_to_add(tmp_path):
    group = {"personal_information": {"user_id": 1}, "chats": {"list": [{
        "name": "G", "type": "private_group", "id": 9, "messages": [
            {"id": i, "type": "message", "date_unixtime": str(100 + i), "from_id": f"user{1 + i % 2}",
             "text": "x", "text_entities": [{"type": "plain", "text": "x"}]} for i in range(1, 7)]}]}}
    (tmp_path / "result.json").write_bytes(dumps(group, 1))
    proc = doppel("ingest", "--input", tmp_path, "--output", tmp_path / "m.parquet", "--report", tmp_path / "r.json",
                  cwd=ROOT, check=True)
    assert "no private chat kept" in proc.stderr and "private_group (6 messages)" in proc.stderr
    assert "ingest.chat_types" in proc.stderr
    assert json.loads((tmp_path / "r.json").read_text())["chat_types_left_out"] == {"private_group": 6}
    kept = pl.read_parquet(tmp_path / "m.parquet").filter(pl.col("drop_reason").is_null())
    assert kept.height == 0


class Trickle(io.BytesIO):
    """A stream that gives at most a few bytes per read: every escape and UTF-8 character gets cut somewhere."""

    def read(self, n=-1):
        return super().read(min(n, 7) if n and n > 0 else 7)


def test_repairs_hold_across_any_read_boundary():
    from doppel.telegram.messages import Tally
    from doppel.telegram.stream import iter_stream

    messages = [{"id": i, "type": "message", "date_unixtime": str(100 + i), "from_id": "user7",
                 "text": text, "text_entities": [{"type": "plain", "text": text}]}
                for i, text in enumerate(["tab\\x09here", "päivää ☕ \\\\x done", "bad \\q escape", "ok"], 1)]
    raw = dumps({"name": "F", "type": "personal_chat", "id": 7, "messages": messages}, 4).replace(b"\n", b"\r\n")
    raw = raw.replace(b"\\\\x09", b"\\x09").replace(b"\\\\q", b"\\q")  # invalid escapes, as real exports have
    raw = b"\xef\xbb\xbf" + raw.replace(b"ok", b"o\xffk")  # and a BOM, and a byte that is not UTF-8
    tally = Tally()
    [(chat, batch)] = list(iter_stream(Trickle(raw), "x", tally))
    assert chat.id == 7 and [m["text"] for m in batch] == [
        "tab\there", "päivää ☕ \\\\x done", "bad \\q escape", "o\ufffdk"]  # an escaped backslash stays
    assert tally.repaired_batches >= 1


def test_a_zip_in_the_export_folder_that_holds_no_export_is_passed_over(corpus, reference, tmp_path):
    """A file someone sent in a chat, saved with the export's media, is not an export."""
    folder = tmp_path / "export"
    (folder / "chats" / "chat_001" / "files").mkdir(parents=True)
    (folder / "result.json").write_bytes((corpus / "indent_2" / "result.json").read_bytes())
    (folder / "chats" / "chat_001" / "files" / "photos.zip").write_bytes(zipped({"a.jpg": b"\xff\xd8"}))
    messages, report = ingest.read_exports([folder], cfg("ingest"))
    assert report == reference[1] and messages.equals(reference[0])
    only_zip = tmp_path / "only_zip"
    only_zip.mkdir()
    (only_zip / "export.zip").write_bytes(zipped({"ChatExport/messages.html": b"<html></html>"}))
    proc = doppel("ingest", "--input", only_zip, "--output", tmp_path / "m.parquet", "--report", tmp_path / "r.json",
                  cwd=ROOT)
    assert proc.returncode == 2 and "export.zip: this is Telegram's HTML export" in proc.stderr


def test_an_export_without_messages_says_so(tmp_path):
    (tmp_path / "result.json").write_bytes(dumps({"personal_information": {"user_id": 1}, "chats": {"list": []}}, 4))
    proc = doppel("ingest", "--input", tmp_path, "--output", tmp_path / "m.parquet", "--report", tmp_path / "r.json",
                  cwd=ROOT, check=True)
    assert "warning: the export holds no messages" in proc.stderr


# Other layouts without keys reordered: the compact reader's (a structure scan, then the fast path), no stream reader
COMPACT = ["minified", "crlf", "bom_crlf_indent_4", "minified_json_dumps", "crlf_minified_spaced"]


def compact_variant(corpus: Path, name: str) -> Path:
    if name in ("minified", "crlf", "bom_crlf_indent_4"):
        return corpus / name / "result.json"
    export = orjson.loads((corpus / "minified" / "result.json").read_bytes())
    path = corpus / f"{name}.json"
    if not path.exists():
        spaced = dumps(export) if name == "minified_json_dumps" else dumps(export, separators=(" ,\r\n", " :\r\n"))
        path.write_bytes(spaced)
    return path


@pytest.mark.parametrize("name", COMPACT)
def test_compact_layouts_are_read_without_the_stream_reader(corpus, reference, name, monkeypatch):
    from doppel.telegram import reader

    monkeypatch.setattr(reader, "iter_stream", None)
    messages, report = ingest.read_exports([compact_variant(corpus, name)], cfg("ingest"))
    assert report == reference[1] and messages.equals(reference[0])


@pytest.mark.parametrize("chunk", [1 << 10, 4099])
def test_compact_reads_the_same_across_any_chunk_boundary(corpus, reference, chunk, monkeypatch):
    """Small chunks put chunk ends inside strings, escapes, headers and between a chat's key and its `[`."""
    from doppel.telegram import compact, reader

    monkeypatch.setattr(reader, "iter_stream", None)
    monkeypatch.setattr(compact, "CHUNK_BYTES", chunk)
    messages, report = ingest.read_exports([corpus / "minified" / "result.json"], cfg("ingest"))
    assert report == reference[1] and messages.equals(reference[0])


def test_reordered_keys_go_from_compact_to_the_stream_reader_at_that_chat(tmp_path, canonical, reference):
    export = orjson.loads(canonical.read_bytes())
    export["chats"]["list"][5] = reorder(export["chats"]["list"][5], root=False)
    (tmp_path / "result.json").write_bytes(orjson.dumps(export))
    messages, report = ingest.read_exports([tmp_path / "result.json"], cfg("ingest"))
    assert report == reference[1] and messages.equals(reference[0])
