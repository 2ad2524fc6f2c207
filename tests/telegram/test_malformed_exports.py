"""A generated corpus of malformed exports: each one ingests with the damage counted, or fails with one line
and exit code 2. Never a traceback, never a silent loss."""
from __future__ import annotations

import io
import json
import zipfile
from contextlib import redirect_stderr
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, cfg, chat_export, msg
from doppel import cli, ingest

FIELDS_WRONG = {
    "id": ["7", None, 1.5, [], True, 1 << 64, -(1 << 70)],
    "type": [5, None, ["message"]],
    "date_unixtime": [["1"], {"a": 1}, -5.5, "soon", "99999999999999999999", 1 << 64],
    "date": [5, None, "not a date"],
    "from_id": [12345, None, {"id": 1}],
    "text": [123, None, {"text": "x"}, [1, 2]],
    "text_entities": [{}, "plain", [None, 5]],
    "reply_to_message_id": ["x", [1], 1 << 64],
    "forwarded_from": [None, 5],
}


@pytest.fixture(autouse=True)
def in_project_root(monkeypatch):
    monkeypatch.chdir(ROOT)  # `doppel NAME` runs stages/NAME.py from the project root


def base_export() -> dict:
    return {
        "about": "",
        "personal_information": {"user_id": 1},
        "chats": {"about": "", "list": [
            chat_export([msg(i, 1 if i % 2 else 2, f"message {i}", 1_700_000_000 + 60 * i) for i in range(1, 13)],
                        chat_id=2),
            chat_export([msg(1, 3, "hello", 1_700_000_100), msg(2, 1, "hi", 1_700_000_200)], chat_id=3),
        ]},
    }


def dump(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False, indent=1).encode()


def zipped(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in files.items():
            z.writestr(name, content)
    return buf.getvalue()


def message_count(obj) -> int:
    chats = obj.get("chats", {}).get("list", []) if "chats" in obj else [obj]
    return sum(len(c["messages"]) for c in chats if isinstance(c.get("messages"), list))


def corpus() -> list[tuple[str, bytes | None, int | None]]:
    """(name, file content or None for special cases, messages expected when it ingests)."""
    cases: list[tuple[str, bytes | None, int | None]] = []
    good = dump(base_export())
    for i, cut in enumerate(range(40, len(good) - 5, max(1, len(good) // 16))):
        cases.append((f"truncated_{i}_at_{cut}", good[:cut], None))
    for field, values in FIELDS_WRONG.items():
        for j, value in enumerate(values):
            export = base_export()
            export["chats"]["list"][0]["messages"][3][field] = value
            cases.append((f"wrong_{field}_{j}", dump(export), 14))
    for field in ("id", "type", "date", "date_unixtime", "from_id", "text", "text_entities"):
        export = base_export()
        del export["chats"]["list"][0]["messages"][4][field]
        cases.append((f"missing_{field}", dump(export), 14))
    for date in ("not a date", "2023-13-45T99:00:00", None):
        export = base_export()
        del export["chats"]["list"][0]["messages"][2]["date_unixtime"]
        export["chats"]["list"][0]["messages"][2]["date"] = date
        cases.append((f"only_a_bad_date_{date}", dump(export), 14))
    export = base_export()
    export["chats"]["list"][0]["messages"][5]["from"] = None
    cases.append(("null_sender", dump(export), 14))
    export = base_export()
    export["chats"]["list"][0]["messages"][6]["text"] = "x" * (10 << 20)
    export["chats"]["list"][0]["messages"][6]["text_entities"] = [{"type": "plain", "text": "x" * (10 << 20)}]
    cases.append(("ten_mb_message", dump(export), 14))
    cases.append(("invalid_utf8", good.replace(b"message 3", b"mess\xff\xfeage 3"), 14))
    cases.append(("invalid_escape", good.replace(b"message 5", b"mess\\x0Cage\\q 5"), 14))
    cases.append(("raw_control_char", good.replace(b"message 6", b"mess\x07age 6"), 14))
    cases.append(("duplicate_keys", good.replace(b'"text": "message 7",', b'"text": "a",\n   "text": "message 7",'), 14))
    export = base_export()
    export["chats"]["list"][1]["messages"] = []
    cases.append(("empty_chat", dump(export), 12))
    export = base_export()
    export["chats"]["list"] = []
    cases.append(("no_chats", dump(export), 0))
    export = base_export()
    export["chats"]["list"][0]["messages"].insert(2, 42)
    cases.append(("message_not_an_object", dump(export), 15))
    export = base_export()
    export["chats"]["list"][0]["id"] = "two"
    cases.append(("chat_id_not_a_number", dump(export), None))
    export = base_export()
    export["chats"]["list"][0]["messages"] = {"oops": 1}
    cases.append(("messages_not_a_list", dump(export), None))
    cases.append(("broken_object", good.replace(b'"text": "message 8",', b'"text": "message 8" "x",'), 14))
    cases.append(("minified", json.dumps(base_export()).encode(), 14))
    single = chat_export([msg(1, 5, "a", 1_700_000_000), msg(2, 6, "b", 1_700_000_060)])
    cases.append(("single_chat", dump(single), 2))
    cases.append(("empty_file", b"", None))
    cases.append(("whitespace", b"  \n\n ", None))
    cases.append(("json_array", b"[]", None))
    cases.append(("json_null", b"null", None))
    cases.append(("html_export", b"<!DOCTYPE html>\n<html><head><title>Exported Data</title></head></html>", None))
    # a zip holding result.json is read in place (issue 11), whatever its name
    cases.append(("zip_in_place_of_json", zipped({"result.json": good}), 14))
    cases.append(("zip_of_the_folder", zipped({"Telegram Desktop/DataExport_2026/result.json": good}), 14))
    cases.append(("zip_without_an_export", zipped({"notes.txt": b"hi"}), None))
    cases.append(("zip_of_an_html_export", zipped({"ChatExport/messages.html": b"<html></html>"}), None))
    cases.append(("zip_cut_short", zipped({"result.json": good})[:200], None))
    cases.append(("zip_of_a_truncated_export", zipped({"result.json": good[:len(good) // 2]}), None))
    # other layouts stream through ijson: damage there is repaired or refused the same way
    crlf = good.replace(b"\n", b"\r\n")
    cases.append(("crlf_invalid_escape", crlf.replace(b"message 5", b"mess\\x0Cage\\q 5"), 14))
    cases.append(("crlf_invalid_utf8", crlf.replace(b"message 3", b"mess\xff\xfeage 3"), 14))
    cases.append(("crlf_raw_control_char", crlf.replace(b"message 6", b"mess\x07age 6"), 14))
    minified = json.dumps(base_export()).encode()
    cases.append(("minified_truncated", minified[: len(minified) * 2 // 3], None))
    cases.append(("minified_trailing_garbage", minified + b"}", None))
    cases.append(("bom_not_json", b"\xef\xbb\xbfhello", None))
    cases.append(("bom_only", b"\xef\xbb\xbf", None))
    cases.append(("folder_without_result_json", None, None))
    cases.append(("missing_path", None, None))
    return cases


CORPUS = corpus()


@pytest.mark.parametrize("name,content,expected", CORPUS, ids=[c[0] for c in CORPUS])
def test_malformed_export(tmp_path: Path, name, content, expected):
    target = tmp_path / "export"
    if name == "folder_without_result_json":
        target.mkdir()
        (target / "notes.txt").write_text("hi")
    elif name != "missing_path":
        target.mkdir()
        (target / "result.json").write_bytes(content)
    out, report = tmp_path / "m.parquet", tmp_path / "r.json"
    err = io.StringIO()
    with redirect_stderr(err):
        # no exception escapes
        code = cli.main(["ingest", "--input", str(target), "--output", str(out), "--report", str(report)])
    if code == 2:
        lines = err.getvalue().strip().splitlines()
        assert len(lines) == 1 and str(target) in lines[0], err.getvalue()
        assert expected is None, f"{name} should have ingested: {lines[0]}"
        return
    assert code == 0
    assert expected is not None, f"{name} should have failed with exit 2"
    data = json.loads(report.read_text())
    assert data["messages_read"] == expected, "every message object is accounted for"
    assert data["kept"] + sum(data["dropped"].values()) == data["messages_read"]


def test_unsupported_message_without_date_is_counted_as_unsupported(tmp_path):
    # the Desktop exporter (and fetch) write only id and type for a message it cannot render
    export = base_export()
    export["chats"]["list"][0]["messages"][3] = {"id": 4, "type": "unsupported"}
    (tmp_path / "result.json").write_bytes(dump(export))
    messages, report = ingest.read_exports([tmp_path / "result.json"], cfg("ingest"))
    assert report["dropped"] == {"unsupported": 1} and report["messages_read"] == 14


@pytest.mark.parametrize("layout", ["pretty", "minified"])
def test_null_forwarded_from_is_a_forward_in_either_layout(tmp_path, layout):
    export = base_export()
    export["chats"]["list"][0]["messages"][3]["forwarded_from"] = None
    text = dump(export) if layout == "pretty" else json.dumps(export).encode()
    (tmp_path / "result.json").write_bytes(text)
    _, report = ingest.read_exports([tmp_path / "result.json"], cfg("ingest"))
    assert report["dropped"] == {"forwarded": 1}


def run_cli(*argv: str) -> tuple[int, list[str]]:
    err = io.StringIO()
    with redirect_stderr(err):
        code = cli.main(list(argv))
    return code, err.getvalue().strip().splitlines()


def params_with(section: str, **values) -> str:
    """The project's params.yaml with some values of one section replaced."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params[section].update(values)
    return yaml.safe_dump(params)


@pytest.mark.parametrize("params,needle", [
    ("ingest: [\n", "not valid YAML"),
    ("ingest: 5\n", "should be a mapping"),
    (params_with("ingest", skip_chats=["abc"]), "ingest.skip_chats: input should be a valid integer"),
    (params_with("ingest", chat_types="personal_chat"), "ingest.chat_types: input should be a valid list"),
    (params_with("ingest", chat_types=["personal_chats"]), "ingest.chat_types: input should be"),
])
def test_bad_ingest_params_are_one_line_errors(tmp_path, params, needle):
    (tmp_path / "result.json").write_bytes(dump(base_export()))
    (tmp_path / "params.yaml").write_text(params)
    code, lines = run_cli("ingest", "--input", str(tmp_path), "--output", str(tmp_path / "m.parquet"),
                          "--report", str(tmp_path / "r.json"), "--params", str(tmp_path / "params.yaml"))
    assert code == 2 and len(lines) == 1 and needle in lines[0], lines


def test_output_that_is_a_folder_is_a_one_line_error(tmp_path):
    (tmp_path / "result.json").write_bytes(dump(base_export()))
    code, lines = run_cli("ingest", "--input", str(tmp_path), "--output", str(tmp_path),
                          "--report", str(tmp_path / "r.json"))
    assert code == 2 and len(lines) == 1 and "is a folder" in lines[0]


def test_input_defaults_to_the_params_ingest_input(tmp_path):
    (tmp_path / "export" / "result.json").parent.mkdir()
    (tmp_path / "export" / "result.json").write_bytes(dump(base_export()))
    (tmp_path / "params.yaml").write_text(params_with("ingest", input=str(tmp_path / "export")))
    code, lines = run_cli("ingest", "--output", str(tmp_path / "m.parquet"), "--report", str(tmp_path / "r.json"),
                          "--params", str(tmp_path / "params.yaml"))
    assert code == 0, lines
    assert json.loads((tmp_path / "r.json").read_text())["messages_read"] == message_count(base_export())


def test_numeric_owner_id_param_means_that_user(tmp_path):
    (tmp_path / "result.json").write_bytes(dump(chat_export([msg(1, 5, "a", 1_700_000_000),
                                                             msg(2, 6, "b", 1_700_000_060)], chat_id=5)))
    messages, _ = ingest.read_exports([tmp_path], cfg("ingest", owner_id=6))
    assert messages["is_owner"].to_list() == [False, True]


def test_bad_segment_params_and_intermediates_are_one_line_errors(tmp_path):
    (tmp_path / "result.json").write_bytes(dump(base_export()))
    assert run_cli("ingest", "--input", str(tmp_path), "--output", str(tmp_path / "m.parquet"),
                   "--report", str(tmp_path / "r.json"))[0] == 0
    (tmp_path / "params.yaml").write_text(params_with("segment", session_gap_hours="abc"))
    code, lines = run_cli("segment", "--input", str(tmp_path / "m.parquet"), "--output", str(tmp_path / "t.parquet"),
                          "--report", str(tmp_path / "s.json"), "--params", str(tmp_path / "params.yaml"))
    assert code == 2 and len(lines) == 1 and "session_gap_hours" in lines[0]
    import polars as pl

    pl.read_parquet(tmp_path / "m.parquet").with_columns(pl.col("ts").cast(pl.String)).write_parquet(tmp_path / "bad.parquet")
    code, lines = run_cli("segment", "--input", str(tmp_path / "bad.parquet"), "--output", str(tmp_path / "t.parquet"),
                          "--report", str(tmp_path / "s.json"))
    assert code == 2 and len(lines) == 1 and "'ts'" in lines[0] and "bad.parquet" in lines[0]
    assert run_cli("segment", "--input", str(tmp_path / "m.parquet"), "--output", str(tmp_path / "t.parquet"),
                   "--report", str(tmp_path / "s.json"), "--plots", str(tmp_path / "plots"))[0] == 0
    turns = pl.read_parquet(tmp_path / "t.parquet")
    turns.with_columns(text=pl.lit("")).write_parquet(tmp_path / "empty_text.parquet")
    code, lines = run_cli("build", "--input", str(tmp_path / "empty_text.parquet"), "--output", str(tmp_path / "p"),
                          "--report", str(tmp_path / "d.json"))
    assert code == 2 and len(lines) == 1 and "data contract" in lines[0]
