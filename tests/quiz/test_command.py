"""`doppel quiz`: who may play (links, keys, hosts; near misses), the report, and the real command in a
subprocess with the tiny twin: its rounds show the twin's replies as `doppel chat`'s settings give them."""
from __future__ import annotations

import http.client
import json
import re

import pytest

from support import twin as F
from support.quiz import Quiz, cli, quiz_files
from doppel.errors import InputError
from doppel.quiz import command
from doppel.quiz.rounds import candidates, make_rounds
from doppel.quiz.store import Store

KEY = "a" * 16   # serve.network.MIN_KEY_CHARS: the same floor as serve's API key


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_an_open_quiz_on_loopback(host):
    assert command.access(host, None, None, False).open


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "::", "example.org", "127.0.0.1.example.org"])
def test_beyond_loopback_a_link_is_required(host):
    with pytest.raises(InputError, match="other devices need a link"):
        command.access(host, None, None, False)
    assert command.access(host, KEY, None, True).tokens == {KEY: None}
    assert list(command.access(host, None, "ann", False).tokens.values()) == ["ann"]


@pytest.mark.parametrize("key, ok", [(KEY, True), (KEY[:-1], False), ("A-z_0" * 3 + "x", True), ("A-z_0" * 3, False), ("a" * 12, False), (KEY + "/", False),
                                     (KEY + "?", False), (KEY + " ", False), ("é" * 16, False), ("", False)])
def test_a_key_is_long_enough_and_fits_a_link(key, ok):
    if ok:
        assert command.access("0.0.0.0", key, None, True).tokens == {key: None}
    else:
        with pytest.raises(InputError, match="at least 16 letters"):
            command.access("0.0.0.0", key, None, True)


def test_each_player_gets_an_unguessable_link_of_their_own():
    links = command.access("0.0.0.0", None, "ann, bob ,Анна", False).tokens
    assert sorted(links.values()) == ["ann", "bob", "Анна"]
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", t) for t in links)
    assert set(links).isdisjoint(command.access("0.0.0.0", None, "ann,bob,Анна", False).tokens)
    with pytest.raises(InputError, match="given twice"):
        command.access("0.0.0.0", None, "ann,ann", False)
    with pytest.raises(InputError, match="'<b>'"):
        command.access("0.0.0.0", None, "ann,<b>", False)
    for empty in ("", ",", " , "):  # silently no links (an open quiz on loopback) before
        with pytest.raises(InputError, match="no name in"):
            command.access("127.0.0.1", None, empty, False)


@pytest.fixture(scope="module")
def files(tmp_path_factory, tiny_twin):
    return quiz_files(tmp_path_factory.mktemp("quiz"), *tiny_twin)


def test_report_prints_and_writes_the_result(files, capsys):
    _, _, params, root = files
    store = Store(root / "results.jsonl", lambda: "2026-12-06T01:00:00+00:00")
    for pick in (2, 1, 0, 2):
        store.add("0123456789ab", 1, pick, "ann")
    try:
        assert command.main(["--report", "--params", str(params)]) == 0
        out = capsys.readouterr().out
        assert "4 rounds; the twin fooled the players 62% of the time" in out
        report = json.loads((root / "report.json").read_text())
        assert report["fooled_rate"] == 0.625 and report["players"]["ann"]["rounds"] == 4
    finally:
        (root / "results.jsonl").unlink()


def test_errors_are_one_line_and_exit_2(files):
    ck, _, params, root = files
    common = ["--params", str(params), "--base", str(ck)]
    proc = cli(*common, "--host", "0.0.0.0", DOPPEL_QUIZ_KEY="")
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0
    assert "doppel quiz: error: --host 0.0.0.0: other devices need a link" in proc.stderr
    proc = cli(*common, "--host", "0.0.0.0", DOPPEL_QUIZ_KEY="short")
    assert proc.returncode == 2 and "DOPPEL_QUIZ_KEY: a key is at least 16" in proc.stderr
    proc = cli(*common, "--val", str(root / "missing.json"))
    assert proc.returncode == 2 and proc.stderr.endswith(
        "missing.json: dataset file not found (the file given by --val: check the path)\n"), proc.stderr
    assert "dvc" not in proc.stderr   # no pipeline command makes a file the user named
    gone = F.write_params(root / "gone.yaml", quiz={"val": str(root / "gone.json")})
    proc = cli("--params", str(gone), "--base", str(ck))   # quiz.val, the pipeline's split: the way back to it
    assert proc.returncode == 2 and "gone.json: dataset file not found (run `dvc checkout` first" in proc.stderr
    proc = cli(*common, "--rounds", "0")
    assert proc.returncode == 2 and "--rounds: quiz.rounds: input should be greater than or equal to 1" in proc.stderr
    (root / "bad.jsonl").write_text("{oops\n")
    bad = F.write_params(root / "bad.yaml", quiz={"results": str(root / "bad.jsonl")})
    proc = cli("--params", str(bad), "--report")
    assert proc.returncode == 2 and "bad.jsonl: line 1: not a quiz result" in proc.stderr


def get(url: str, path: str) -> dict:
    m = re.match(r"http://([\d.]+):(\d+)(/.*)", url)
    conn = http.client.HTTPConnection(m.group(1), int(m.group(2)))
    conn.request("GET", m.group(3) + path)
    data = json.loads(conn.getresponse().read())
    conn.close()
    return data


def test_the_rounds_show_the_twins_replies_with_chats_settings_seeded_per_round(files, one_thread):
    from doppel import config
    from doppel.model.load import load_twin

    ck, ad, params, root = files
    quiz = Quiz(["--params", str(params), "--base", str(ck)])
    try:
        first = get(quiz.url, "api/round?player=ann")
    finally:
        assert quiz.stop() == 0
    assert "doppel quiz: stopped" in "".join(quiz.lines)
    rows = json.loads((root / "val.json").read_text())
    picked, _ = candidates(rows, 3, 11)
    sampling = config.load("chat", params).sampling.model_copy(update={"seed": 11})
    twin = load_twin(params, ck, ad, "cpu")
    expected, _ = make_rounds(picked, [twin.reply(r["instruction"], sampling.seeded(i)) for i, r in enumerate(picked)],
                              11, 6)
    assert first["total"] == len(expected) and first["round"]["id"] == expected[0].id
    assert first["round"]["replies"] == list(expected[0].replies)
