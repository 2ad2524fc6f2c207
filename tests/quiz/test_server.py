"""The quiz's HTTP side, in process on a real socket: rounds per player, picks stored, and who may play
(links checked with near misses, the Host of an open quiz, JSON-only posts, a body cap)."""
from __future__ import annotations

import http.client
import json
import threading
from contextlib import contextmanager

import pytest

from doppel.prompt import render_context
from doppel.quiz.rounds import make_rounds
from doppel.quiz.server import MAX_BODY, Access, Game, make_server
from doppel.quiz.store import Store, read
from doppel.serve.network import bind

SYSTEM = "A Telegram chat between Me and a friend."
ROWS = [{"instruction": render_context([(False, f"how was day {i}?"), (True, "hm"), (False, "tell me")], SYSTEM),
         "output": f"real reply {i}"} for i in range(3)]
ROUNDS, _ = make_rounds(ROWS, [f"twin reply {i}" for i in range(3)], seed=9)
TOKEN = "ann-link-0123456789"


@contextmanager
def quiz(tmp_path, access: Access = Access()):
    sock = bind("127.0.0.1", 0)
    store = Store(tmp_path / "results.jsonl", lambda: "2026-12-06T01:00:00+00:00")
    server = make_server(sock, Game(ROUNDS, store), access)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1], store
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def request(port, method, path, body=None, headers=None, host=None):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    hdrs = {"Host": f"127.0.0.1:{port}" if host is None else host, **({"Content-Type": "application/json"} if data else {}),
            **(headers or {})}
    conn.request(method, path, body=data, headers=hdrs)
    res = conn.getresponse()
    raw = res.read()
    conn.close()
    kind = res.getheader("Content-Type", "")
    return res.status, (json.loads(raw) if kind.startswith("application/json") else raw), res


def test_a_player_plays_every_round_once_and_each_pick_is_stored(tmp_path):
    with quiz(tmp_path) as (port, store):
        status, data, _ = request(port, "GET", "/api/round?player=ann")
        assert status == 200 and data["player"] == "ann" and (data["number"], data["total"]) == (1, 3)
        shown = data["round"]
        assert shown == {"id": ROUNDS[0].id, "replies": list(ROUNDS[0].replies),
                         "context": [{"who": "other", "text": "how was day 0?"}, {"who": "owner", "text": "hm"},
                                     {"who": "other", "text": "tell me"}]}
        assert "real" not in json.dumps(data).replace("real reply", "")   # which side is real is never sent
        wrong = ROUNDS[0].twin
        status, data, _ = request(port, "POST", "/api/pick", {"round": ROUNDS[0].id, "pick": wrong, "player": "ann"})
        assert status == 200 and data["verdict"] == "fooled" and data["real"] == ROUNDS[0].real
        assert data["round"]["id"] == ROUNDS[1].id and data["number"] == 2
        request(port, "POST", "/api/pick", {"round": ROUNDS[1].id, "pick": ROUNDS[1].real, "player": "ann"})
        status, data, _ = request(port, "POST", "/api/pick", {"round": ROUNDS[2].id, "pick": 0, "player": "ann"})
        assert data["verdict"] == "unsure" and data["done"] is True
        assert data["score"] == {"rounds": 3, "right": 1, "fooled": 1, "unsure": 1, "fooled_rate": 0.5,
                                 "low": 0.1253, "high": 0.8747}
        # bob starts at round 1; ann answering a round again is refused
        assert request(port, "GET", "/api/round?player=bob")[1]["number"] == 1
        status, data, _ = request(port, "POST", "/api/pick", {"round": ROUNDS[0].id, "pick": 1, "player": "ann"})
        assert status == 409
    picks = read(tmp_path / "results.jsonl")
    assert [(p.round, p.real, p.pick, p.player) for p in picks] == [
        (ROUNDS[0].id, ROUNDS[0].real, wrong, "ann"), (ROUNDS[1].id, ROUNDS[1].real, ROUNDS[1].real, "ann"),
        (ROUNDS[2].id, ROUNDS[2].real, 0, "ann")]
    text = (tmp_path / "results.jsonl").read_text()
    assert "reply" not in text and "day" not in text    # no text of a round is stored


def test_a_restart_resumes_each_player_where_they_were(tmp_path):
    with quiz(tmp_path) as (port, _):
        request(port, "POST", "/api/pick", {"round": ROUNDS[0].id, "pick": 1, "player": "ann"})
    with quiz(tmp_path) as (port, _):
        assert request(port, "GET", "/api/round?player=ann")[1]["round"]["id"] == ROUNDS[1].id


def test_the_page_is_served_with_headers_that_keep_it_private(tmp_path):
    with quiz(tmp_path) as (port, _):
        status, body, res = request(port, "GET", "/")
        assert status == 200 and res.getheader("Content-Type") == "text/html; charset=utf-8"
        assert b"Which reply is really mine?" in body
        assert res.getheader("Referrer-Policy") == "no-referrer" and res.getheader("Cache-Control") == "no-store"
        assert "connect-src 'self'" in res.getheader("Content-Security-Policy")
        assert b"http://" not in body and b"https://" not in body     # no external assets
        assert request(port, "GET", "/api/round")[1] == {"player": None}   # no name yet: the page asks for one


@pytest.mark.parametrize("host, status", [("127.0.0.1:{p}", 200), ("localhost:{p}", 200), ("[::1]:{p}", 200),
                                          ("LOCALHOST:{p}", 200), ("evil.example:{p}", 403), ("127.0.0.1", 403),
                                          ("127.0.0.1:{p}1", 403), ("127.0.0.1.evil.example:{p}", 403), ("", 403)])
def test_an_open_quiz_answers_only_its_own_host_name(tmp_path, host, status):
    with quiz(tmp_path) as (port, _):
        assert request(port, "GET", "/", host=host.format(p=port))[0] == status


@pytest.mark.parametrize("path, status", [
    (f"/p/{TOKEN}/", 200), (f"/p/{TOKEN}", 200), (f"/p/{TOKEN[:-1]}/", 404), (f"/p/{TOKEN}x/", 404),
    (f"/p/x{TOKEN}/", 404), (f"/p/{TOKEN.upper()}/", 404), (f"/p/{TOKEN[:-1]}X/", 404), ("/p//", 404), ("/", 404),
    (f"/q/{TOKEN}/", 404), ("/api/round?player=ann", 404), (f"/{TOKEN}/", 404)])
def test_a_quiz_with_links_answers_only_a_link_exactly(tmp_path, path, status):
    with quiz(tmp_path, Access({TOKEN: "ann", "bob-link-0123456789": "bob"})) as (port, _):
        assert request(port, "GET", path, host="anything.example")[0] == status


def test_a_per_player_link_names_the_player_whatever_the_page_says(tmp_path):
    with quiz(tmp_path, Access({TOKEN: "ann", "shared-key-0123": None})) as (port, store):
        data = request(port, "GET", f"/p/{TOKEN}/api/round?player=mallory")[1]
        assert data["player"] == "ann"
        request(port, "POST", f"/p/{TOKEN}/api/pick", {"round": ROUNDS[0].id, "pick": 1, "player": "mallory"})
        assert request(port, "GET", "/p/shared-key-0123/api/round")[1] == {"player": None}
        request(port, "POST", "/p/shared-key-0123/api/pick", {"round": ROUNDS[0].id, "pick": 2, "player": "cy"})
        assert [p.player for p in store.read()] == ["ann", "cy"]


@pytest.mark.parametrize("body, headers, status", [
    ({"round": ROUNDS[0].id, "pick": 3, "player": "ann"}, {}, 400),
    ({"round": ROUNDS[0].id, "pick": True, "player": "ann"}, {}, 400),
    ({"round": ROUNDS[0].id, "pick": "1", "player": "ann"}, {}, 400),
    ({"round": "0123456789ab", "pick": 1, "player": "ann"}, {}, 404),
    ({"round": ROUNDS[0].id, "pick": 1, "player": "<script>"}, {}, 400),
    ({"round": ROUNDS[0].id, "pick": 1}, {}, 400),
    (b"[1, 2]", {}, 400),
    (b"{not json", {}, 400),
    ({"round": ROUNDS[0].id, "pick": 1, "player": "ann"}, {"Content-Type": "text/plain"}, 415),
    ({"round": ROUNDS[0].id, "pick": 1, "player": "ann"}, {"Content-Type": "application/x-www-form-urlencoded"}, 415),
])
def test_a_bad_pick_is_refused_and_nothing_is_stored(tmp_path, body, headers, status):
    with quiz(tmp_path) as (port, store):
        assert request(port, "POST", "/api/pick", body, headers)[0] == status
        assert store.read() == []


def test_a_pick_body_is_capped(tmp_path):
    with quiz(tmp_path) as (port, store):
        pad = {"round": ROUNDS[0].id, "pick": 1, "player": "ann", "x": ""}
        base = len(json.dumps(pad).encode())
        at_cap = json.dumps({**pad, "x": "a" * (MAX_BODY - base)}).encode()
        assert len(at_cap) == MAX_BODY and request(port, "POST", "/api/pick", at_cap)[0] == 200
        over = json.dumps({**pad, "x": "a" * (MAX_BODY - base + 1), "round": ROUNDS[1].id}).encode()
        assert len(over) == MAX_BODY + 1 and request(port, "POST", "/api/pick", over)[0] == 413
        assert len(store.read()) == 1
