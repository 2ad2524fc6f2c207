"""doppel bot: the real handlers and Responder driven with the real tiny twin.

Telegram cannot be reached here, so the Telethon client is faked at the narrowest boundary: only the client
methods the bot calls (get_me, get_drafts + draft.set_message, get_messages, send_message, action("typing"),
and for `main` start/add_event_handler/run_until_disconnected/disconnect). Messages, users and errors are
Telethon's own types (types.Message, types.User, errors.FloodWaitError, errors.PeerFloodError). The clock and
sleep are injected, so rate limits, pauses, quiet hours and FloodWait countdowns take no real time.
"""
from __future__ import annotations

import asyncio
import io
import json
import os
import queue
import re
import stat
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import torch
import yaml
from telethon import errors
from telethon.tl import types

from support import twin as F
from conftest import cfg
from doppel import cli
from doppel.chat import command as chat
from doppel.bot import command, handlers
from doppel.bot.backend import EndpointBackend, TwinBackend
from doppel.bot.context import context_turns
from doppel.bot.log import EventLog
from doppel.bot.responder import Responder
from doppel.model.conversation import Conversation
from doppel.telegram.fetch.fetcher import Stop

REPO = Path(__file__).resolve().parents[2]
SAMPLING = {"max_new_tokens": 12, "temperature": 0.9, "top_k": 40, "top_p": 0.95, "seed": 3}
CONTEXT_TOKENS = 384  # build.context_tokens: the bot's budget when bot.context_tokens is null
ME = types.User(id=1000, is_self=True, first_name="Owner", username="owner")
ANN = types.User(id=2001, first_name="Ann", username="ann")
BOB = types.User(id=2002, first_name="Bob", username="BobBy")
CAT = types.User(id=2003, first_name="Cat")
SERVICE = types.User(id=777000, first_name="Telegram")
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=timezone(timedelta(hours=3)))


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def files(tmp_path_factory, tiny_twin):
    root = tmp_path_factory.mktemp("bot")
    ck, ad = tiny_twin
    serve = {k: v for k, v in SAMPLING.items() if k != "seed"}
    params = F.write_params(root / "params.yaml", chat={**SAMPLING, "adapter": str(ad), "device": "cpu"},
                            bot={**SAMPLING, "adapter": str(ad), "device": "cpu", "log": str(root / "logs" / "bot.jsonl")},
                            serve={**serve, "adapter": str(ad), "port": 0, "threads": 1, "device": "cpu"},
                            memory={"enabled": False})   # memory: tests/bot/test_backend_memory.py
    return ck, ad, params


@pytest.fixture(scope="module")
def twin(files):
    from doppel.model.load import load

    ck, ad, _ = files
    return load(ck, ad, device="cpu")


@pytest.fixture(scope="module")
def backend(twin):
    return TwinBackend(twin, F.SYSTEM, F.sampling(**SAMPLING), CONTEXT_TOKENS)


def expected(twin, turns) -> str:
    """The reply `doppel chat` gives after these turns: its Conversation, prompt, budget and seed."""
    conv = Conversation(twin, F.SYSTEM, F.sampling(**SAMPLING), CONTEXT_TOKENS)
    conv.turns = list(turns[:-1])
    return conv.say(turns[-1][1]).strip()


# --------------------------------------------------------------------------------------------- the fake client

class Clock:
    def __init__(self, t: datetime = NOON):
        self.t = t

    def __call__(self) -> datetime:
        return self.t

    def advance(self, **delta) -> None:
        self.t += timedelta(**delta)


class FakeDraft:
    def __init__(self, client, chat_id: int):
        self.client, self.chat_id = client, chat_id
        self.raw_text = client.drafts.get(chat_id, "")

    async def set_message(self, text, parse_mode=()):
        assert parse_mode is None  # plain text: the twin's `*` or `_` are not markdown
        self.client.fault("set_message")
        self.client.drafts[self.chat_id] = text
        self.client.draft_writes.append((self.chat_id, text))


class Typing:
    def __init__(self, client, chat_id):
        self.client, self.chat_id = client, chat_id

    async def __aenter__(self):
        self.client.fault("typing")
        self.client.typing.append(self.chat_id)

    async def __aexit__(self, *exc):
        return False


class FakeClient:
    def __init__(self, clock: Clock):
        self.clock = clock
        self.drafts: dict[int, str] = {}
        self.draft_writes: list[tuple[int, str]] = []
        self.history: dict[int, list] = {}
        self.sent: list[tuple[int, str]] = []
        self.typing: list[int] = []
        self.faults: dict[str, list] = {}   # method -> exceptions raised by its next calls
        self.next_id = 100

    def fault(self, name: str) -> None:
        if self.faults.get(name):
            raise self.faults[name].pop(0)

    def message(self, chat, text: str, out: bool = False, **kw):
        self.next_id += 1
        m = types.Message(id=self.next_id, peer_id=types.PeerUser(chat.id), date=kw.pop("date", self.clock()),
                          message=text, out=out, **kw)
        self.history.setdefault(chat.id, []).append(m)
        return m

    async def get_me(self):
        return ME

    async def get_drafts(self, entity):
        self.fault("get_drafts")
        return FakeDraft(self, getattr(entity, "id", entity))  # an entity, or a chat id Telethon resolves

    async def get_messages(self, entity, limit=None):
        self.fault("get_messages")
        return list(reversed(self.history.get(entity.id, [])))[:limit]

    async def send_message(self, entity, text, parse_mode=(), clear_draft=False):
        assert parse_mode is None
        self.fault("send_message")
        self.sent.append((entity.id, text))
        if clear_draft:
            self.drafts.pop(entity.id, None)
        return self.message(entity, text, out=True)

    def action(self, entity, kind):
        assert kind == "typing"
        return Typing(self, entity.id)


class Sleeps:
    def __init__(self):
        self.calls: list[float] = []

    async def __call__(self, seconds):
        self.calls.append(seconds)


def make_bot(backend, tmp_path, clock=None, log_name="bot.jsonl", **bot) -> tuple[Responder, FakeClient]:
    clock = clock or Clock()
    client = FakeClient(clock)
    r = Responder(client, ME, cfg("bot", **{**SAMPLING, **bot}), backend, EventLog(tmp_path / log_name),
                  ingest=cfg("ingest"), scrub=cfg("scrub"), gap_hours=24, now=clock, sleep=Sleeps(), err=io.StringIO())
    return r, client


def say(bot: Responder, client: FakeClient, chat, text: str, out: bool = False, **kw) -> str:
    return asyncio.run(bot.on_message(client.message(chat, text, out=out, **kw), chat))


def log_events(bot: Responder) -> list[dict]:
    return [json.loads(line) for line in bot.log.path.read_text().splitlines()]


# --------------------------------------------------------------------------------------------- draft mode

def test_draft_is_the_reply_doppel_chat_gives(files, backend, tmp_path):
    ck, ad, params = files
    out = io.StringIO()
    assert chat.main(["--base", str(ck), "--params", str(params), "--message", "hi"], stdout=out,
                     stderr=io.StringIO()) == 0
    bot, client = make_bot(backend, tmp_path)
    assert say(bot, client, ANN, "hi") == "drafted"
    assert client.drafts == {ANN.id: out.getvalue().strip()} and client.sent == []
    entry = log_events(bot)[-1]
    assert (entry["event"], entry["chat"], entry["reply"]) == ("drafted", ANN.id, out.getvalue().strip())
    assert re.search(r"doppel bot: 12:00:00 Ann \[2001\]: drafted \"", bot.err.getvalue())


def test_context_is_merged_labelled_and_scrubbed_as_in_training(twin, backend, tmp_path):
    bot, client = make_bot(backend, tmp_path)
    two_days_ago = NOON - timedelta(days=2)
    client.message(ANN, "old session", date=two_days_ago)
    client.message(ANN, "old reply", out=True, date=two_days_ago)
    client.message(ANN, "Hello")
    client.message(ANN, "are you there?")
    client.message(ANN, "", media=types.MessageMediaPhoto())       # a photo without caption: dropped
    client.message(ANN, "yes", out=True)
    client.message(ANN, "look at this", fwd_from=types.MessageFwdHeader(date=NOON, from_name="Zed"))  # forwarded
    client.message(ANN, "call me at +7 912 345-67-89")
    ctx = context_turns(client.history[ANN.id], ME, ANN, cfg("ingest"), cfg("scrub"), 24)
    want = [(False, "Hello\nare you there?"), (True, "yes"), (False, "call me at <PHONE>")]
    assert ctx.turns == want and ctx.last_id == client.next_id
    assert say(bot, client, ANN, "movie tonight?") == "drafted"
    want[-1] = (False, "call me at <PHONE>\nmovie tonight?")
    assert client.drafts[ANN.id] == expected(twin, want)


def test_owner_draft_is_left_alone(backend, tmp_path):
    bot, client = make_bot(backend, tmp_path)
    client.drafts[ANN.id] = "I'll call you la"
    assert say(bot, client, ANN, "hi") == "kept"
    assert client.drafts == {ANN.id: "I'll call you la"} and client.draft_writes == []

    asked_in = []

    class TypingMeanwhile:  # the owner starts typing while the twin is still answering
        name = "twin"

        def reply(self, turns, chat_id=None):
            asked_in.append(chat_id)
            client.drafts[CAT.id] = "wait, I"
            return backend.reply(turns)

    bot.backend = TypingMeanwhile()
    assert say(bot, client, CAT, "hi") == "kept"
    assert asked_in == [CAT.id]   # the backend is told the chat (its memory recalls from it)
    assert client.drafts[CAT.id] == "wait, I" and client.draft_writes == []
    assert bot.state.counts["kept"] == 2


def test_newer_message_replaces_a_stale_suggestion(twin, backend, tmp_path):
    bot, client = make_bot(backend, tmp_path)
    assert say(bot, client, ANN, "first") == "drafted"
    first = client.drafts[ANN.id]
    assert first == expected(twin, [(False, "first")])
    assert say(bot, client, ANN, "second") == "drafted"  # the draft is still the bot's own: replaced
    assert client.drafts[ANN.id] == expected(twin, [(False, "first\nsecond")]) != first
    # two messages at once: the older one's suggestion is dropped, only the newest context is drafted
    client.draft_writes.clear()
    m3, m4 = client.message(ANN, "third"), client.message(ANN, "fourth")

    async def both():
        return await asyncio.gather(bot.on_message(m3, ANN), bot.on_message(m4, ANN))

    assert asyncio.run(both()) == ["stale", "drafted"]
    assert client.draft_writes == [(ANN.id, expected(twin, [(False, "first\nsecond\nthird\nfourth")]))]
    # the owner answered: nothing to suggest for an older message
    client.message(ANN, "ok", out=True)
    assert asyncio.run(bot.on_message(m4, ANN)) == "skipped"


def test_who_it_acts_for(backend, tmp_path):
    bot, client = make_bot(backend, tmp_path, deny=["@ann"])
    assert say(bot, client, ANN, "hi") == "skipped"           # in bot.deny (by @username, any case)
    assert say(bot, client, SERVICE, "code 12345") == "skipped"  # Telegram's service account
    robot = types.User(id=2099, first_name="R", bot=True)
    assert say(bot, client, robot, "hi") == "skipped"
    assert say(bot, client, CAT, "", media=types.MessageMediaPhoto()) == "skipped"  # nothing to answer
    assert client.draft_writes == [] and client.sent == []


# --------------------------------------------------------------------------------------------- auto mode

def test_auto_sends_only_where_allowed_within_limits_pause_and_quiet_hours(twin, backend, tmp_path):
    clock = Clock()
    bot, client = make_bot(backend, tmp_path, clock, mode="auto", allow=[ANN.id, "@bobby"], per_chat_per_hour=2,
                           global_per_hour=3, owner_pause_minutes=30, quiet_hours="23:00-08:00", typing_delay_s=2)
    sign = cfg("bot").disclosure
    assert say(bot, client, CAT, "hi") == "drafted"              # not allowed: a draft, never a send
    assert client.sent == [] and CAT.id in client.drafts
    assert say(bot, client, ANN, "hi") == "sent"
    reply = expected(twin, [(False, "hi")])
    assert client.sent == [(ANN.id, reply + sign)] and client.typing == [ANN.id] and bot.sleep.calls == [2]
    assert say(bot, client, ANN, "and?") == "sent"               # its own send is no pause: the disclosure is cut
    assert client.sent[-1] == (ANN.id, expected(twin, [(False, "hi"), (True, reply), (False, "and?")]) + sign)
    assert say(bot, client, ANN, "more") == "drafted"            # per-chat limit (2 an hour)
    assert say(bot, client, BOB, "yo") == "sent"                 # @BobBy, by username
    assert say(bot, client, BOB, "yo?") == "drafted"             # global limit (3 an hour)
    assert len(client.sent) == 3
    assert [e["why"] for e in log_events(bot) if e["event"] == "drafted"] == [
        "not in bot.allow", "per-chat limit (2 an hour)", "global limit (3 an hour)"]

    clock.advance(minutes=61)                                    # the hour has passed
    assert say(bot, client, ANN, "still there?") == "sent"
    say(bot, client, ANN, "writing myself", out=True)            # the owner writes: paused 30 min
    clock.advance(minutes=1)
    assert say(bot, client, ANN, "oh hi") == "drafted"
    assert log_events(bot)[-1]["why"] == "you wrote here recently (paused 29 more min)"
    clock.advance(minutes=30)
    assert say(bot, client, ANN, "hello again") == "sent"

    clock.t = NOON.replace(hour=23, minute=30)                   # quiet hours
    assert say(bot, client, BOB, "late?") == "drafted"
    clock.t = NOON.replace(hour=8) + timedelta(days=1)  # the next morning
    client.faults["send_message"] = [errors.PeerFloodError(request=None)]
    assert say(bot, client, BOB, "morning") == "drafted"         # Telegram limits the account: drafts only now
    assert bot.state.auto_stopped and "PeerFlood" in bot.err.getvalue()
    assert say(bot, client, ANN, "you there?") == "drafted"
    assert len(client.sent) == 5 and all(text.endswith(sign) for _, text in client.sent)


def test_auto_mode_with_no_allowed_chat_refuses_to_start(files, capsys):
    _, _, params = files
    assert cli.main(["bot", "--mode", "auto", "--params", str(params)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bot.allow: auto mode sends only to the chats listed here" in err
    for flags, message in ((["--allow", "ann"], "bot.allow: a chat is an id or an @username"),
                           (["--api-base", "localhost:8321"], "bot.api_base: must be an http(s) URL")):
        assert cli.main(["bot", *flags, "--params", str(params)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err
    with pytest.raises(SystemExit) as exit_:
        cli.main(["bot", "--mode", "loud", "--params", str(params)])
    assert exit_.value.code == 2 and "invalid choice: 'loud'" in capsys.readouterr().err
    with pytest.raises(Exception, match=r"bot\.quiet_hours: must be HH:MM-HH:MM"):
        cfg("bot", quiet_hours="25:00-01:00")
    assert cfg("bot", mode="auto", allow=["@Ann", "123", -100]).allow == ["@ann", 123, -100]


# --------------------------------------------------------------------------------------------- switch, suppression

def test_kill_switch_from_saved_messages_survives_a_restart(backend, tmp_path):
    bot, client = make_bot(backend, tmp_path)
    assert say(bot, client, ME, "/doppel off", out=True) == "switch off"
    assert client.sent[-1][0] == ME.id and client.sent[-1][1].startswith("doppel bot: off, mode draft")
    assert say(bot, client, ANN, "hi") == "skipped" and client.draft_writes == []
    assert say(bot, client, ME, "/doppel status", out=True) == "switch status"
    assert client.sent[-1][1].startswith("doppel bot: off")
    assert say(bot, client, ME, "/doppel please", out=True) == "switch help"
    assert client.sent[-1][1] == handlers.SWITCH_HELP
    assert say(bot, client, ME, "shopping list: milk", out=True) == "saved message"

    again, client2 = make_bot(backend, tmp_path)                 # restarted: still off, as the owner left it
    assert again.state.enabled is False
    assert say(again, client2, ME, "/DOPPEL ON", out=True) == "switch on"
    assert say(again, client2, ANN, "hi") == "drafted"
    assert client2.sent[-1][1].startswith("doppel bot: on, mode draft; since start: 0 drafted")
    assert handlers.parse_switch("/doppel") == "status" and handlers.parse_switch("doppel off") is None


def test_switching_off_clears_the_bots_pending_drafts_not_the_owners(backend, tmp_path):
    bot, client = make_bot(backend, tmp_path)
    for who in (ANN, BOB, CAT):
        assert say(bot, client, who, "hi") == "drafted"
    client.drafts[CAT.id] = "my own words"  # the owner rewrote this one: it is theirs
    client.drafts[BOB.id] = ""              # the owner deleted this one
    writes = len(client.draft_writes)
    assert say(bot, client, ME, "/doppel off", out=True) == "switch off"
    assert client.draft_writes[writes:] == [(ANN.id, "")] and client.drafts[CAT.id] == "my own words"
    assert client.sent[-1][1].endswith("; 1 pending draft(s) cleared") and bot.state.suggestions == {}
    assert "1 pending draft(s) cleared" in bot.err.getvalue()
    again, client2 = make_bot(backend, tmp_path)  # restarted: no draft of the bot is thought to stand anywhere
    assert again.state.suggestions == {} and again.state.enabled is False
    assert say(bot, client, ME, "/doppel on", out=True) == "switch on" and client.draft_writes[writes + 1:] == []


def test_a_flood_wait_while_typing_is_waited_out_then_the_reply_goes(twin, backend, tmp_path):
    bot, client = make_bot(backend, tmp_path, mode="auto", allow=[ANN.id], typing_delay_s=2, max_flood_wait_s=60)
    client.faults["typing"] = [errors.FloodWaitError(request=None, capture=3)]
    assert say(bot, client, ANN, "hi") == "sent"
    assert client.sent == [(ANN.id, expected(twin, [(False, "hi")]) + cfg("bot").disclosure)]
    assert bot.sleep.calls == [1] * 4 and "FloodWait over, resuming" in bot.err.getvalue()
    assert [e["event"] for e in log_events(bot)] == ["sent"]  # no error logged for the message
    client.faults["typing"] = [errors.FloodWaitError(request=None, capture=5000)]
    with pytest.raises(Stop, match=r"Telegram asks to wait 1:23:20 .* raise bot\.max_flood_wait_s"):
        say(bot, client, ANN, "and?")
    assert log_events(bot)[-1]["event"] == "stopped"


def test_placeholder_and_empty_replies_are_never_drafted_nor_sent(backend, tmp_path):
    class Canned:
        name = "canned"

        def __init__(self, replies):
            self.replies = list(replies)

        def reply(self, turns, chat_id=None):
            return self.replies.pop(0)

    bot, client = make_bot(Canned(["call me at <PHONE>", "  ", "mail <EMAIL> ok"]), tmp_path, mode="auto",
                           allow=[ANN.id])
    for text in ("number?", "hm", "mail?"):
        assert say(bot, client, ANN, text) == "suppressed"
    assert client.draft_writes == [] and client.sent == []
    assert [e["why"] for e in log_events(bot)] == [
        "reply holds the placeholder <PHONE>", "empty reply", "reply holds the placeholder <EMAIL>"]
    assert handlers.unusable("ok <b>") is None and handlers.unusable("ok") is None


# --------------------------------------------------------------------------------------------- FloodWait

def test_flood_wait_short_waits_long_stops(backend, tmp_path):
    bot, client = make_bot(backend, tmp_path, max_flood_wait_s=60)
    client.faults["get_drafts"] = [errors.FloodWaitError(request=None, capture=5)]
    client.faults["set_message"] = [errors.FloodWaitError(request=None, capture=2)]
    assert say(bot, client, ANN, "hi") == "drafted"
    assert bot.sleep.calls == [1] * 6 + [1] * 3  # each wait counted down a second at a time, plus one
    assert "FloodWait over, resuming" in bot.err.getvalue()
    client.faults["get_messages"] = [errors.FloodWaitError(request=None, capture=5000)]
    with pytest.raises(Stop, match=r"Telegram asks to wait 1:23:20 before more requests; the bot stopped .* "
                                   r"raise bot\.max_flood_wait_s"):
        say(bot, client, CAT, "hi")
    assert log_events(bot)[-1] == {**log_events(bot)[-1], "event": "stopped", "seconds": 5000}


class MainClient(FakeClient):
    """main()'s client: the events queued here are handled, then the connection drops for good."""

    def __init__(self, events):
        super().__init__(Clock())
        self.events, self.handlers, self.disconnected = events, [], 0

    login_fault = None  # what the connection raises (Telegram itself cannot be reached from a test)

    async def connect(self):
        if self.login_fault is not None:
            raise self.login_fault

    def is_connected(self):
        return True

    async def __call__(self, request):  # the login's first request (help.getConfig)
        pass

    async def is_user_authorized(self):
        return True

    async def start(self):
        return self

    def add_event_handler(self, fn, event):
        self.handlers.append(fn)

    async def run_until_disconnected(self):
        while self.events:
            chat, text, fault = self.events.pop(0)
            if fault:
                self.faults.setdefault("get_drafts", []).append(fault)
            event = type("Event", (), {"message": self.message(chat, text)})()
            event.get_chat = lambda chat=chat: asyncio.sleep(0, chat)
            for fn in self.handlers:
                await fn(event)
            if self.disconnected:
                return

    async def disconnect(self):
        self.disconnected += 1


def test_main_end_to_end_and_a_long_flood_wait_ends_it_in_one_line(files, tmp_path, monkeypatch, capsys):
    ck, ad, params = files
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("TELEGRAM_API_ID", "1")
    monkeypatch.setenv("TELEGRAM_API_HASH", "h")
    client = MainClient([(ANN, "hi", None), (CAT, "hey", errors.FloodWaitError(request=None, capture=99999))])
    monkeypatch.setattr(command, "make_client", lambda session, api_id, api_hash, fetch: client)
    monkeypatch.setattr(command, "SLEEP", Sleeps())
    log = tmp_path / "logs" / "bot.jsonl"
    code = cli.main(["bot", "--base", str(ck), "--params", str(params), "--log", str(log)])
    err = capsys.readouterr().err
    assert code == 2 and client.disconnected >= 1
    assert "doppel bot: on as Owner, mode draft" in err and "Ann [2001]: drafted" in err
    assert re.search(r"doppel bot: error: Telegram asks to wait 27:46:39 .*\n"
                     r"doppel bot: stopped \(1 drafted, 0 sent, 0 suppressed\)\n$", err)
    assert stat.S_IMODE(log.stat().st_mode) == 0o600 and stat.S_IMODE(log.parent.stat().st_mode) == 0o700
    assert [json.loads(x)["event"] for x in log.read_text().splitlines()] == ["drafted", "stopped"]
    assert client.drafts == {ANN.id: expected_from_chat(files, "hi")}
    session = tmp_path / "config" / "doppel" / "telethon.session"
    assert stat.S_IMODE(session.stat().st_mode) == 0o600


class FlakyClient(MainClient):
    """The connection drops, the first reconnect fails, the second works, then Ctrl-C."""

    def __init__(self):
        super().__init__([])
        self.runs, self.connects = 0, 0

    async def run_until_disconnected(self):
        self.runs += 1
        if self.runs == 3:
            raise KeyboardInterrupt

    async def connect(self):  # the login's connect, then the reconnects: the first of those fails
        self.connects += 1
        if self.connects == 2:
            raise OSError("network is unreachable")


def test_main_reconnects_and_stops_cleanly_on_ctrl_c(files, tmp_path, monkeypatch, capsys):
    ck, _, params = files
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("TELEGRAM_API_ID", "1")
    monkeypatch.setenv("TELEGRAM_API_HASH", "h")
    client = FlakyClient()
    monkeypatch.setattr(command, "make_client", lambda session, api_id, api_hash, fetch: client)
    monkeypatch.setattr(command, "SLEEP", Sleeps())
    code = cli.main(["bot", "--base", str(ck), "--params", str(params), "--log", str(tmp_path / "bot.jsonl")])
    err = capsys.readouterr().err
    assert code == 0 and command.SLEEP.calls == [5, 10] and client.disconnected == 1
    assert err.splitlines()[1:] == [
        "doppel bot: lost the connection to Telegram; reconnecting in 5s",
        "doppel bot: cannot reconnect yet (network is unreachable)",
        "doppel bot: lost the connection to Telegram; reconnecting in 10s",
        "doppel bot: reconnected",
        "doppel bot: stopped (0 drafted, 0 sent, 0 suppressed)"]


class DroppedClient(FlakyClient):
    """Telegram hangs up mid-read (asyncio.IncompleteReadError, an EOFError), the reconnect works, then Ctrl-C."""

    async def run_until_disconnected(self):
        self.runs += 1
        if self.runs == 1:
            raise asyncio.IncompleteReadError(b"", 8)
        raise KeyboardInterrupt

    async def connect(self):
        self.connects += 1


def test_a_connection_dropped_mid_read_reconnects_and_is_no_login_problem(files, tmp_path, monkeypatch, capsys):
    """The bot once took an EOFError after login for a missing login ("not logged in yet") and stopped."""
    ck, _, params = files
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("TELEGRAM_API_ID", "1")
    monkeypatch.setenv("TELEGRAM_API_HASH", "h")
    client = DroppedClient()
    monkeypatch.setattr(command, "make_client", lambda session, api_id, api_hash, fetch: client)
    monkeypatch.setattr(command, "SLEEP", Sleeps())
    code = cli.main(["bot", "--base", str(ck), "--params", str(params), "--log", str(tmp_path / "bot.jsonl")])
    err = capsys.readouterr().err
    assert code == 0 and command.SLEEP.calls == [5] and client.connects == 2, err
    assert err.splitlines()[1:] == [
        "doppel bot: lost the connection to Telegram (IncompleteReadError); reconnecting in 5s",
        "doppel bot: reconnected",
        "doppel bot: stopped (0 drafted, 0 sent, 0 suppressed)"]


def test_main_names_a_connection_failure_at_start(files, tmp_path, monkeypatch, capsys):
    ck, _, params = files
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("TELEGRAM_API_ID", "1")
    monkeypatch.setenv("TELEGRAM_API_HASH", "h")
    client = MainClient([])
    client.login_fault = ConnectionRefusedError(111, "Connect call failed")
    monkeypatch.setattr(command, "make_client", lambda session, api_id, api_hash, fetch: client)
    code = cli.main(["bot", "--base", str(ck), "--params", str(params), "--log", str(tmp_path / "bot.jsonl")])
    err = capsys.readouterr().err.splitlines()
    assert code == 2 and err[0].startswith("doppel bot: error: Telegram refused the connection"), err
    assert not any("not logged in" in line for line in err)


def expected_from_chat(files, message: str) -> str:
    ck, _, params = files
    out = io.StringIO()
    chat.main(["--base", str(ck), "--params", str(params), "--message", message], stdout=out, stderr=io.StringIO())
    return out.getvalue().strip()


# --------------------------------------------------------------------------------------------- the endpoint backend

def test_endpoint_backend_against_doppel_serve_gives_the_in_process_reply(files, backend):
    ck, _, params = files
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1",
           "DOPPEL_API_KEY": "k-123"}
    proc = subprocess.Popen([sys.executable, "-m", "doppel.cli", "serve", "--base", str(ck), "--params", str(params)],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    found: queue.Queue = queue.Queue()

    def read() -> None:
        for line in proc.stderr:
            if m := re.search(r"http://127\.0\.0\.1:\d+/v1", line):
                found.put(m.group(0))
        found.put(None)

    threading.Thread(target=read, daemon=True).start()
    try:
        url = found.get(timeout=90)
        assert url, "doppel serve did not start"
        os.environ["DOPPEL_API_KEY"] = "k-123"
        try:
            api = EndpointBackend(url, "twin", F.SYSTEM, F.sampling(**SAMPLING))
        finally:
            del os.environ["DOPPEL_API_KEY"]
        api.check()
        turns = [(False, "Hello\nare you there?"), (True, "yes"), (False, "movie tonight?")]
        assert api.reply(turns) == backend.reply(turns)
        from doppel.errors import InputError
        with pytest.raises(InputError, match="serves twin, not 'llama'"):
            EndpointBackend(url, "llama", F.SYSTEM, F.sampling(**SAMPLING), api_key="k-123").check()
    finally:
        proc.terminate()
        proc.wait(15)
    with pytest.raises(Exception, match="cannot reach the endpoint"):
        EndpointBackend(url, "twin", F.SYSTEM, F.sampling(**SAMPLING), api_key="k-123", timeout_s=2).check()
