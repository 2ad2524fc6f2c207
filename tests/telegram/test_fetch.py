"""`doppel fetch` (doppel/telegram/fetch).

Telegram's servers cannot be reached from here, so the few client calls fetch makes are faked at the
narrowest boundary: `FakeClient` provides `get_me`, `takeout(...)` (an async context manager whose proxy has
`iter_dialogs` and `iter_messages(entity, reverse=True, min_id=..., wait_time=0)`), `session.takeout_id`,
`end_takeout`, `start` and `disconnect`. Everything it returns is a real Telethon object: `telethon.tl.types`
User/Chat/Channel entities and Telethon's patched `Message` / `MessageService` with real media, entity,
forward and reply types, so every attribute fetch reads is Telethon's own. Errors are Telethon's own classes
(`FloodWaitError`, `TakeoutInitDelayError`). Dialogs are plain objects with the attribute names of
`telethon.tl.custom.Dialog` that fetch uses (id, entity, name).
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import stat
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import orjson
import pytest
from telethon import errors, utils
from telethon.tl import types

from doppel import cli
from doppel.errors import InputError
from doppel.telegram.fetch import command as fetch_command
from doppel.telegram.fetch import dialogs as fetch_dialogs
from doppel.telegram.fetch import export as fetch_export
from doppel.telegram.fetch import fetcher as fetch_fetcher
from doppel.telegram.fetch import media as fetch_media
from doppel.telegram.fetch import session as fetch_session
from tests.conftest import ROOT, cfg

REPO = Path(__file__).resolve().parents[2]
ME = types.User(id=42, is_self=True, first_name="Me", last_name="Owner")
ALICE = types.User(id=1001, first_name="Alice", last_name="Smith")
BOB = types.User(id=1002, first_name="Bob")
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)


# --------------------------------------------------------------------------- the fake client


def dialog(entity, name=None):
    return SimpleNamespace(id=utils.get_peer_id(entity), entity=entity, name=name or utils.get_display_name(entity),
                           is_user=isinstance(entity, types.User), is_group=not isinstance(entity, types.User),
                           is_channel=isinstance(entity, types.Channel))


class FakeTakeout:
    def __init__(self, client):
        self.client = client

    async def __aenter__(self):
        if self.client.takeout_delay is not None:
            raise errors.TakeoutInitDelayError(request=None, capture=self.client.takeout_delay)
        if self.client.session.takeout_id is not None:
            raise ValueError("Can't send a takeout request while another takeout ... not been finished yet.")
        self.client.session.takeout_id = 1
        return self

    async def __aexit__(self, *exc):
        self.client.session.takeout_id = None
        return False

    async def iter_dialogs(self):
        for d, _ in self.client.chats:
            yield d

    async def iter_messages(self, entity, limit=None, *, reverse=False, min_id=0, wait_time=None):
        assert reverse and wait_time == 0
        key = utils.get_peer_id(entity)
        self.client.calls.append((key, min_id))
        msgs = dict((d.id, ms) for d, ms in self.client.chats)[key]
        ordered = sorted(msgs, key=lambda m: m.id)
        older = [m for m in ordered if m.id <= min_id][-self.client.overlap:] if self.client.overlap else []
        for m in older + [m for m in ordered if m.id > min_id]:
            fault = self.client.faults.pop((key, m.id), None)
            if fault is not None:
                raise fault
            self.client.yielded += 1
            yield m


class FakeClient:
    def __init__(self, chats, me=ME):
        self.chats = chats          # [(dialog, [messages])]
        self.me = me
        self.session = SimpleNamespace(takeout_id=None)
        self.faults = {}            # (chat key, message id) -> exception raised before yielding that message
        self.takeout_delay = None
        self.takeout_kwargs = None
        self.calls = []             # (chat key, min_id) of each iter_messages
        self.yielded = 0
        self.ended = []
        self.overlap = 0            # also yield this many messages at or below min_id (a server quirk)

    async def get_me(self):
        return self.me

    def takeout(self, finalize=True, **kwargs):
        self.takeout_kwargs = kwargs
        return FakeTakeout(self)

    async def end_takeout(self, success):
        self.ended.append(success)
        return True

    # the login (doppel.telegram.fetch.login): `login_faults` maps a step to the exception it raises
    login_faults: dict = {}
    authorized = True

    def _login_step(self, name):
        if name in self.login_faults:
            raise self.login_faults[name]

    async def connect(self):
        self._login_step("connect")

    def is_connected(self):
        return True

    async def __call__(self, request):
        self._login_step("request")

    async def is_user_authorized(self):
        self._login_step("authorized")
        return self.authorized

    async def start(self):
        self._login_step("start")
        self.authorized = True
        return self

    async def disconnect(self):
        pass


def msg(mid, peer, out, text="", *, minutes=None, **kw):
    date = T0 + timedelta(minutes=mid if minutes is None else minutes)
    return types.Message(id=mid, peer_id=types.PeerUser(peer.id), date=date, message=text, out=out, **kw)


def conversation(peer, n, start=1, step=2):
    """n text messages, ids with gaps (deleted messages), alternating owner/peer, some replies."""
    out = []
    for i in range(n):
        mid = start + i * step
        reply = types.MessageReplyHeader(reply_to_msg_id=mid - step) if i % 5 == 4 else None
        out.append(msg(mid, peer, i % 2 == 0, f"{peer.first_name} #{i} – héllo 👋", reply_to=reply))
    return out


def standard_chats():
    return [
        (dialog(ALICE), conversation(ALICE, 23)),
        (dialog(types.User(id=555, bot=True, first_name="SomeBot")), [msg(1, BOB, False, "bot says")]),
        (dialog(ME), [msg(1, ME, True, "note to self")]),
        (dialog(types.User(id=777000, first_name="Telegram")), [msg(1, BOB, False, "Login code: 12345")]),
        (dialog(types.User(id=66, deleted=True)), [msg(1, BOB, False, "gone")]),
        (dialog(BOB), conversation(BOB, 7, start=100, step=3)),
        (dialog(types.Chat(id=300, title="Family", photo=types.ChatPhotoEmpty(), participants_count=3,
                           date=T0, version=1)), [msg(1, BOB, False, "group msg")]),
        (dialog(types.Channel(id=400, title="News", photo=types.ChatPhotoEmpty(), date=T0, broadcast=True)),
         [msg(1, BOB, False, "post")]),
    ]


async def _nosleep(_seconds):
    _nosleep.calls += 1


_nosleep.calls = 0


def run_fetch(client, out, **params):
    return asyncio.run(fetch_fetcher.fetch(client, out, cfg("fetch", batch_size=4, **params), sleep=_nosleep,
                                           log=open(os.devnull, "w")))


def read_chat(path):
    lines = path.read_bytes().decode().splitlines()
    return json.loads(lines[0]), [json.loads(x) for x in lines[1:]]


def snapshot(out):
    return {p.name: p.read_bytes() for p in sorted(out.glob("chat_*.jsonl"))}


@pytest.fixture
def baseline(tmp_path):
    out = tmp_path / "baseline"
    run_fetch(FakeClient(standard_chats()), out)
    return snapshot(out)


# --------------------------------------------------------------------------- the run and the contract


def test_full_run_writes_one_file_per_private_chat(tmp_path):
    client = FakeClient(standard_chats())
    summary = run_fetch(client, tmp_path)
    assert sorted(p.name for p in tmp_path.glob("chat_*.jsonl")) == ["chat_1001.jsonl", "chat_1002.jsonl"]
    assert summary.chats == 2 and summary.messages == 30 and summary.new == 30
    assert summary.skipped == {"bot": 1, "saved messages": 1, "service chat": 1, "deleted account": 1,
                               "group (--include-groups)": 1, "channel": 1}
    assert client.takeout_kwargs["users"] is True and client.session.takeout_id is None

    header, rows = read_chat(tmp_path / "chat_1001.jsonl")
    assert header == {"chat": {"id": 1001, "type": "personal_chat", "name": "Alice Smith"}, "owner_id": "user42"}
    assert [r["id"] for r in rows] == list(range(1, 47, 2))
    first, fifth = rows[0], rows[4]
    assert first["type"] == "message" and first["from_id"] == "user42" and first["from"] == "Me Owner"
    assert rows[1]["from_id"] == "user1001" and rows[1]["from"] == "Alice Smith"
    assert first["date_unixtime"] == str(int((T0 + timedelta(minutes=1)).timestamp()))
    assert first["text"] == "Alice #0 – héllo 👋"
    assert first["text_entities"] == [{"type": "plain", "text": "Alice #0 – héllo 👋"}]
    assert fifth["reply_to_message_id"] == 7 and "reply_to_message_id" not in first
    assert "forwarded_from" not in first and "media_type" not in first
    text = summary.text(tmp_path)
    assert "2 chat(s), 30 messages" in text and "30 new" in text and "1 bot" in text


def test_skip_limit_and_groups(tmp_path):
    s = run_fetch(FakeClient(standard_chats()), tmp_path / "a", skip_chats=[1002])
    assert s.chats == 1 and s.skipped["--skip"] == 1
    s = run_fetch(FakeClient(standard_chats()), tmp_path / "b", limit_chats=1)
    assert s.chats == 1 and s.skipped["over --limit-chats"] == 1
    client = FakeClient(standard_chats())
    s = run_fetch(client, tmp_path / "c", include_groups=True)
    assert s.chats == 3 and s.skipped["channel"] == 1 and client.takeout_kwargs["chats"] is True
    header, rows = read_chat(tmp_path / "c" / "chat_-300.jsonl")
    assert header["chat"] == {"id": 300, "type": "private_group", "name": "Family"}
    assert rows[0]["from_id"] == "user1002"


def test_message_shapes_match_the_desktop_export():
    """Media, forwards, service messages and text entities map to the Desktop export's keys."""
    ctx = fetch_export.Context(fetch_dialogs.ChatInfo(1001, 1001, "personal_chat", "Alice Smith", ALICE), ME,
                        {"user42": "Me Owner", "user1001": "Alice Smith"})

    def doc(*attrs, mime="application/octet-stream"):
        return types.MessageMediaDocument(document=types.Document(
            id=1, access_hash=1, file_reference=b"", date=T0, mime_type=mime, size=10, dc_id=1,
            attributes=list(attrs)))

    sticker = doc(types.DocumentAttributeSticker(alt="😀", stickerset=types.InputStickerSetEmpty()),
                  mime="image/webp")
    voice = doc(types.DocumentAttributeAudio(duration=3, voice=True), mime="audio/ogg")
    song = doc(types.DocumentAttributeAudio(duration=200, title="Song", performer="Band"), mime="audio/mpeg")
    round_video = doc(types.DocumentAttributeVideo(duration=5, w=240, h=240, round_message=True))
    gif = doc(types.DocumentAttributeVideo(duration=2, w=320, h=200), types.DocumentAttributeAnimated())
    video = doc(types.DocumentAttributeVideo(duration=9, w=1280, h=720), mime="video/mp4")
    pdf = doc(types.DocumentAttributeFilename(file_name="a.pdf"), mime="application/pdf")
    photo = types.MessageMediaPhoto(photo=types.Photo(id=1, access_hash=1, file_reference=b"", date=T0,
                                                      sizes=[], dc_id=1))
    contact = types.MessageMediaContact(phone_number="15551234567", first_name="Carl", last_name="",
                                        vcard="", user_id=0)
    geo = types.MessageMediaGeo(geo=types.GeoPoint(long=13.4, lat=52.5, access_hash=0))
    poll = types.MessageMediaPoll(
        poll=types.Poll(id=1, hash=0, question=types.TextWithEntities("Lunch?", []), answers=[
            types.PollAnswer(text=types.TextWithEntities("yes", []), option=b"0"),
            types.PollAnswer(text=types.TextWithEntities("no", []), option=b"1")]),
        results=types.PollResults(results=[types.PollAnswerVoters(option=b"0", voters=2, chosen=True)],
                                  total_voters=2))

    def one(media=None, text="", **kw):
        return fetch_export.export_message(msg(5, ALICE, False, text, media=media, **kw), ctx)

    s = one(sticker)
    assert (s["media_type"], s["sticker_emoji"], s["file"]) == ("sticker", "😀", fetch_media.NOT_INCLUDED)
    assert "mime_type" not in s
    assert one(voice)["media_type"] == "voice_message" and one(voice)["duration_seconds"] == 3
    assert one(song)["media_type"] == "audio_file" and one(song)["performer"] == "Band"
    assert one(round_video)["media_type"] == "video_message"
    assert one(gif)["media_type"] == "animation"
    assert one(video)["media_type"] == "video_file" and one(video)["width"] == 1280
    assert "media_type" not in one(pdf) and one(pdf)["file"] == fetch_media.NOT_INCLUDED
    assert one(photo, "look")["photo"] == fetch_media.NOT_INCLUDED and one(photo, "look")["text"] == "look"
    assert one(contact)["contact_information"]["phone_number"] == "+15551234567"
    assert one(geo)["location_information"] == {"latitude": 52.5, "longitude": 13.4}
    assert one(poll)["poll"] == {"question": "Lunch?", "closed": False, "total_voters": 2, "answers": [
        {"text": "yes", "voters": 2, "chosen": True}, {"text": "no", "voters": 0, "chosen": False}]}
    assert one(types.MessageMediaUnsupported()) == {"id": 5, "type": "unsupported"}
    fwd = one(text="fwd", fwd_from=types.MessageFwdHeader(date=T0, from_name="Carol"))
    assert fwd["forwarded_from"] == "Carol"
    hidden = one(text="fwd", fwd_from=types.MessageFwdHeader(date=T0, from_id=types.PeerUser(9)))
    assert hidden["forwarded_from"] == "unknown"

    # entities: UTF-16 offsets (the emoji counts 2), plain parts between, joined parts == text
    text = "👋 call +1 555 0100 or a@b.io"
    ents = [types.MessageEntityPhone(offset=8, length=11), types.MessageEntityEmail(offset=23, length=6),
            types.MessageEntityBold(offset=24, length=2)]  # overlaps the email: ignored, as Desktop does
    row = one(text=text, entities=ents)
    assert row["text"] == text
    assert row["text_entities"] == [
        {"type": "plain", "text": "👋 call "}, {"type": "phone", "text": "+1 555 0100"},
        {"type": "plain", "text": " or "}, {"type": "email", "text": "a@b.io"}]

    call = fetch_export.export_message(types.MessageService(
        id=6, peer_id=types.PeerUser(1001), date=T0, out=True,
        action=types.MessageActionPhoneCall(call_id=1, duration=61,
                                            reason=types.PhoneCallDiscardReasonHangup())), ctx)
    assert call == {"id": 6, "type": "service", "date": call["date"], "date_unixtime": str(int(T0.timestamp())),
                    "actor": "Me Owner", "actor_id": "user42", "action": "phone_call", "duration_seconds": 61,
                    "discard_reason": "hangup", "text": "", "text_entities": []}


# --------------------------------------------------------------------------- resumable, incremental


def test_an_edited_message_keeps_its_original_date():
    """date is when it was sent; the edit time goes to edited / edited_unixtime only (as the Desktop export)."""
    ctx = fetch_export.Context(fetch_dialogs.ChatInfo(1001, 1001, "personal_chat", "Alice Smith", ALICE), ME,
                               {"user42": "Me Owner", "user1001": "Alice Smith"})
    sent, edited = T0 + timedelta(minutes=3), T0 + timedelta(days=2, minutes=7)
    out = fetch_export.export_message(msg(3, ALICE, True, "fixed typo", minutes=3, edit_date=edited), ctx)
    assert out["date_unixtime"] == str(int(sent.timestamp())) and out["edited_unixtime"] == str(int(edited.timestamp()))
    assert out["date"] == fetch_export._date(int(sent.timestamp()))
    assert out["edited"] == fetch_export._date(int(edited.timestamp())) != out["date"]
    plain = fetch_export.export_message(msg(4, ALICE, True, "never edited", minutes=4), ctx)
    assert "edited" not in plain and "edited_unixtime" not in plain


def test_flood_wait_mid_chat_waits_and_continues(tmp_path, baseline):
    client = FakeClient(standard_chats())
    client.faults[(1001, 19)] = errors.FloodWaitError(request=None, capture=7)
    client.faults[(1002, 106)] = errors.FloodWaitError(request=None, capture=3)
    _nosleep.calls = 0
    run_fetch(client, tmp_path)
    assert _nosleep.calls == (7 + 1) + (3 + 1)      # one visible tick per second (+1 s margin)
    assert snapshot(tmp_path) == baseline
    assert (1001, 17) in client.calls               # resumed after the last message written before the wait


def test_flood_wait_too_long_stops_with_one_line(tmp_path):
    client = FakeClient(standard_chats())
    client.faults[(1001, 19)] = errors.FloodWaitError(request=None, capture=50_000)
    with pytest.raises(fetch_fetcher.Stop, match="rerun `doppel fetch`"):
        run_fetch(client, tmp_path, max_flood_wait_s=3600)
    _, rows = read_chat(tmp_path / "chat_1001.jsonl")
    assert [r["id"] for r in rows] == list(range(1, 19, 2))  # what came before is kept


@pytest.mark.parametrize("crash_at", [(1001, 1), (1001, 9), (1001, 15), (1001, 45), (1002, 103), (1002, 118)])
def test_crash_then_rerun_gives_the_uninterrupted_result(tmp_path, baseline, crash_at):
    client = FakeClient(standard_chats())
    client.faults[crash_at] = RuntimeError("connection lost")
    with pytest.raises(RuntimeError):
        run_fetch(client, tmp_path)
    run_fetch(FakeClient(standard_chats()), tmp_path)
    assert snapshot(tmp_path) == baseline
    for chat in baseline:
        _, rows = read_chat(tmp_path / chat)
        ids = [r["id"] for r in rows]
        assert ids == sorted(set(ids))               # no duplicates, in order


def test_kill_mid_write_cuts_the_partial_line(tmp_path, baseline):
    """A kill -9 between the file write and the checkpoint, or in the middle of a write."""
    run_fetch(FakeClient(standard_chats()), tmp_path)
    path = tmp_path / "chat_1001.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    # keep 10 whole messages and half of the 11th; the checkpoint still says all 23 (ahead of the file)
    path.write_bytes(b"".join(lines[:11]) + lines[11][: len(lines[11]) // 2])
    client = FakeClient(standard_chats())
    s = run_fetch(client, tmp_path)
    assert (1001, 19) in client.calls and s.new == 13
    assert snapshot(tmp_path) == baseline
    # a checkpoint behind the file (killed after the write, before the checkpoint): the file wins
    ck = tmp_path / ".checkpoints" / "chat_1001.json"
    ck.write_bytes(orjson.dumps({"last_id": 3, "messages": 2, "bytes": 10}))
    client = FakeClient(standard_chats())
    s = run_fetch(client, tmp_path)
    assert s.new == 0 and (1001, 45) in client.calls and snapshot(tmp_path) == baseline
    assert orjson.loads(ck.read_bytes())["last_id"] == 45
    # only a partial header: started over
    path.write_bytes(b'{"chat": {"id"')
    run_fetch(FakeClient(standard_chats()), tmp_path)
    assert snapshot(tmp_path) == baseline


def test_incremental_rerun_fetches_only_new_messages(tmp_path):
    chats = standard_chats()
    run_fetch(FakeClient(chats), tmp_path)
    before = (tmp_path / "chat_1001.jsonl").read_bytes()
    chats[0][1].extend([msg(50, ALICE, False, "new one"), msg(51, ALICE, True, "new two")])
    client = FakeClient(chats)
    s = run_fetch(client, tmp_path)
    assert s.new == 2 and s.messages == 32 and client.yielded == 2
    assert sorted(client.calls) == [(1001, 45), (1002, 118)]
    after = (tmp_path / "chat_1001.jsonl").read_bytes()
    assert after.startswith(before) and [r["id"] for r in read_chat(tmp_path / "chat_1001.jsonl")[1][-2:]] == [50, 51]
    s = run_fetch(FakeClient(chats), tmp_path)
    assert s.new == 0 and s.messages == 32


def test_repeated_messages_from_the_server_are_not_duplicated(tmp_path, baseline):
    client = FakeClient(standard_chats())
    client.faults[(1001, 19)] = errors.FloodWaitError(request=None, capture=1)
    client.overlap = 3
    run_fetch(client, tmp_path)
    run_fetch(client, tmp_path)
    assert snapshot(tmp_path) == baseline


def test_stale_takeout_from_a_killed_run_is_closed(tmp_path):
    client = FakeClient(standard_chats())
    client.session.takeout_id = 99
    run_fetch(client, tmp_path)
    assert client.ended == [False] and client.session.takeout_id is None


def test_takeout_init_delay_tells_what_to_do(tmp_path):
    client = FakeClient(standard_chats())
    client.takeout_delay = 86400
    with pytest.raises(fetch_fetcher.Stop, match="allow the export"):
        run_fetch(client, tmp_path)


# --------------------------------------------------------------------------- the command: credentials, session


@pytest.fixture
def env(tmp_path, monkeypatch):
    """No real credentials or config: XDG_CONFIG_HOME in tmp, cwd in tmp with the project's params.yaml."""
    config_home = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config_home))
    monkeypatch.delenv("TELEGRAM_API_ID", raising=False)
    monkeypatch.delenv("TELEGRAM_API_HASH", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(ROOT / "params.yaml", work / "params.yaml")
    monkeypatch.chdir(work)
    return config_home


def test_missing_credentials_one_line_exit_2(env, capsys):
    rc = cli.main(["fetch", "--out", "out"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "my.telegram.org" in err and "TELEGRAM_API_ID" in err


def test_params_missing_or_bad_flag_one_line_exit_2(env, capsys):
    rc = cli.main(["fetch", "--out", "out", "--limit-chats", "0"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "fetch.limit_chats" in err
    os.remove("params.yaml")
    rc = cli.main(["fetch", "--out", "out"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "params.yaml" in err
    assert not Path("out").exists()


def test_credentials_from_env_or_config_file(env, monkeypatch):
    (env / "doppel").mkdir(parents=True)
    (env / "doppel" / "telegram.toml").write_text('api_id = 123\napi_hash = "abc"\n')
    os.chmod(env / "doppel" / "telegram.toml", 0o600)
    assert fetch_session.load_credentials() == (123, "abc")
    monkeypatch.setenv("TELEGRAM_API_ID", "77")
    monkeypatch.setenv("TELEGRAM_API_HASH", "ff")
    assert fetch_session.load_credentials() == (77, "ff")
    monkeypatch.setenv("TELEGRAM_API_ID", "not-a-number")
    with pytest.raises(InputError, match="api_id must be a number"):
        fetch_session.load_credentials()


def test_session_inside_a_repo_is_refused(env, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TELEGRAM_API_ID", "1")
    monkeypatch.setenv("TELEGRAM_API_HASH", "h")
    repo = tmp_path / "somerepo"
    (repo / ".git").mkdir(parents=True)
    for inside in (repo / "sub" / "me.session", REPO / "telethon.session", REPO / "data" / "x"):
        with pytest.raises(InputError, match="outside the git repository"):
            fetch_session.resolve_session(inside, Path("out"))
        assert not inside.exists()
    with pytest.raises(InputError, match="output folder"):
        fetch_session.resolve_session(tmp_path / "work" / "out" / "s.session", Path("out"))
    rc = cli.main(["fetch", "--out", "out", "--session", str(repo / "me.session")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and not (repo / "me.session").exists()


def test_session_modes_and_end_to_end_main(env, tmp_path, monkeypatch, capsys):
    """main(): credentials from the environment, the default session under XDG_CONFIG_HOME (folder 0700, file
    0600 even when the library leaves it 0644), the chat files 0600."""
    monkeypatch.setenv("TELEGRAM_API_ID", "1")
    monkeypatch.setenv("TELEGRAM_API_HASH", "h")
    made = {}

    def fake_make_client(session, api_id, api_hash, p):
        assert (api_id, api_hash) == (1, "h")
        os.chmod(session, 0o644)             # as if the library had created it with the umask's mode
        made["session"] = session
        return FakeClient(standard_chats())

    monkeypatch.setattr(fetch_command, "make_client", fake_make_client)
    monkeypatch.setattr(fetch_command, "SLEEP", _nosleep)
    assert fetch_command.main(["--out", "out"]) == 0
    session = made["session"]
    assert session == env / "doppel" / "telethon.session"
    assert stat.S_IMODE(session.stat().st_mode) == 0o600
    assert stat.S_IMODE(session.parent.stat().st_mode) == 0o700
    out = Path("out")
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    for p in out.glob("chat_*.jsonl"):
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
    assert "2 chat(s), 30 messages" in capsys.readouterr().err  # the summary goes to stderr
    assert not list(out.rglob("*.session"))

    client = FakeClient(standard_chats())
    client.takeout_delay = 3600
    monkeypatch.setattr(fetch_command, "make_client", lambda *a: client)
    assert cli.main(["fetch", "--out", "out"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "allow the export" in err


LOGIN_FAILURES = [  # (step, exception, not a tty?, words of the one line)
    ("connect", ConnectionError("Connection to Telegram failed 5 time(s)"), False, "cannot reach Telegram"),
    ("connect", ConnectionRefusedError(111, "Connect call failed"), False, "refused the connection"),
    ("connect", asyncio.TimeoutError(), False, "timed out reaching Telegram"),
    ("connect", OSError(101, "Network is unreachable"), False, "no network"),
    ("request", errors.ApiIdInvalidError(request=None), False, "rejected the api id / api hash"),
    ("authorized", None, False, "not logged in yet: run `doppel fetch` once in a terminal"),
    ("start", errors.SessionPasswordNeededError(request=None), True, "two-step verification"),
    ("start", errors.FloodWaitError(request=None, capture=90), True, "wait 1:30 before logging in again"),
    ("start", EOFError(), True, "not logged in yet"),
    ("start", errors.PhoneCodeInvalidError(request=None), True, "the login failed: the login code is wrong"),
]


@pytest.mark.parametrize("step,error,tty,words", LOGIN_FAILURES, ids=[f"{s}-{type(e).__name__}" for s, e, _, _ in LOGIN_FAILURES])
def test_each_login_failure_is_named_and_a_failed_first_run_leaves_no_session(env, monkeypatch, capsys, step, error,
                                                                            tty, words):
    """Telegram itself cannot be reached from a test: the fake client raises what Telethon raises at each login
    step (connect, the first request, the authorization check, the interactive login)."""
    monkeypatch.setenv("TELEGRAM_API_ID", "1")
    monkeypatch.setenv("TELEGRAM_API_HASH", "h")
    client = FakeClient(standard_chats())
    client.login_faults = {} if error is None else {step: error}
    client.authorized = step != "authorized" and step != "start"
    monkeypatch.setattr(fetch_command, "make_client", lambda *a: client)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: tty, raising=False)
    assert cli.main(["fetch", "--out", "out"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("doppel fetch: error: ") and words in err, err
    if step == "connect":
        assert "not logged in" not in err  # the cause is the network, not the login
    session = env / "doppel" / "telethon.session"
    assert not session.exists() and not list(session.parent.glob("*-journal"))


def test_a_session_that_was_logged_in_stays_after_a_failed_run(env, monkeypatch, capsys):
    monkeypatch.setenv("TELEGRAM_API_ID", "1")
    monkeypatch.setenv("TELEGRAM_API_HASH", "h")
    session = env / "doppel" / "telethon.session"
    session.parent.mkdir(parents=True)
    session.write_bytes(b"a logged-in session")
    client = FakeClient(standard_chats())
    client.login_faults = {"connect": ConnectionError("Connection to Telegram failed 5 time(s)")}
    monkeypatch.setattr(fetch_command, "make_client", lambda *a: client)
    assert cli.main(["fetch", "--out", "out"]) == 2
    assert session.read_bytes() == b"a logged-in session"
    # a first run whose login went through keeps its session even when the fetch stops later
    session.unlink()
    client = FakeClient(standard_chats())
    client.takeout_delay = 3600
    monkeypatch.setattr(fetch_command, "make_client", lambda *a: client)
    assert cli.main(["fetch", "--out", "out"]) == 2 and session.exists()
    assert "allow the export" in capsys.readouterr().err


def test_connection_causes_are_read_from_telethons_warnings():
    import logging

    from doppel.telegram.fetch.login import connection_problem

    def warned(*args):
        return [logging.LogRecord("telethon", logging.WARNING, "", 0, "Attempt %d at connecting failed: %s: %s",
                                  args, None)]
    generic = ConnectionError("Connection to Telegram failed 5 time(s)")
    assert "refused" in connection_problem(generic, warned(5, "ConnectionRefusedError", "[Errno 111] refused"))
    assert "timed out" in connection_problem(generic, warned(5, "TimeoutError", ""))
    assert "no network" in connection_problem(generic, warned(5, "OSError", "[Errno 101] Network is unreachable"))
    assert "closed the connection" in connection_problem(ConnectionError("auth_key generation failed 5 time(s)"), [])
    assert connection_problem(generic, []).startswith("cannot reach Telegram")


def test_session_files_are_git_ignored():
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    paths = ["x.session", "data/raw/telethon/chat_1.jsonl"]
    r = subprocess.run(["git", "check-ignore", *paths], cwd=REPO, capture_output=True, text=True)
    assert r.stdout.split() == paths


# --------------------------------------------------------------------------- ingest: same rows as a Desktop export


def equivalence_chat():
    """The same conversation twice: as Telethon objects, and as Telegram Desktop writes it (hand-written from
    the Desktop exporter's format, not produced by fetch)."""
    def d(m):  # the Desktop date fields of a message
        ts = int((T0 + timedelta(minutes=m)).timestamp())
        return {"date": datetime.fromtimestamp(ts).strftime("%Y-%m-%dT%H:%M:%S"), "date_unixtime": str(ts)}

    me = {"from": "Me Owner", "from_id": "user42"}
    al = {"from": "Alice Smith", "from_id": "user1001"}
    sticker = types.MessageMediaDocument(document=types.Document(
        id=1, access_hash=1, file_reference=b"", date=T0, mime_type="image/webp", size=1, dc_id=1,
        attributes=[types.DocumentAttributeSticker(alt="😀", stickerset=types.InputStickerSetEmpty())]))
    photo = types.MessageMediaPhoto(photo=types.Photo(id=1, access_hash=1, file_reference=b"", date=T0,
                                                      sizes=[], dc_id=1))
    voice = types.MessageMediaDocument(document=types.Document(
        id=2, access_hash=1, file_reference=b"", date=T0, mime_type="audio/ogg", size=1, dc_id=1,
        attributes=[types.DocumentAttributeAudio(duration=4, voice=True)]))
    telethon_msgs = [
        msg(10, ALICE, False, "Hi there"),
        msg(11, ALICE, True, "Call me at +1 555 123 4567",
            entities=[types.MessageEntityPhone(offset=11, length=15)]),
        msg(13, ALICE, False, "ok 👍 sure", reply_to=types.MessageReplyHeader(reply_to_msg_id=11)),
        msg(14, ALICE, True, "", media=sticker),
        msg(15, ALICE, False, "look at this", media=photo),
        msg(16, ALICE, True, "fwd text", fwd_from=types.MessageFwdHeader(date=T0, from_name="Bob")),
        types.MessageService(id=17, peer_id=types.PeerUser(1001), date=T0 + timedelta(minutes=17), out=True,
                             action=types.MessageActionPhoneCall(call_id=1, duration=30)),
        msg(18, ALICE, False, "", media=voice),
        msg(20, ALICE, True, "see 👀 this now", entities=[types.MessageEntityBold(offset=6, length=4)]),
    ]
    nf = fetch_media.NOT_INCLUDED
    desktop_msgs = [
        {"id": 10, "type": "message", **d(10), **al, "text": "Hi there",
         "text_entities": [{"type": "plain", "text": "Hi there"}]},
        {"id": 11, "type": "message", **d(11), **me,
         "text": ["Call me at ", {"type": "phone", "text": "+1 555 123 4567"}],
         "text_entities": [{"type": "plain", "text": "Call me at "}, {"type": "phone", "text": "+1 555 123 4567"}]},
        {"id": 13, "type": "message", **d(13), **al, "reply_to_message_id": 11, "text": "ok 👍 sure",
         "text_entities": [{"type": "plain", "text": "ok 👍 sure"}]},
        {"id": 14, "type": "message", **d(14), **me, "file": nf, "media_type": "sticker", "sticker_emoji": "😀",
         "text": "", "text_entities": []},
        {"id": 15, "type": "message", **d(15), **al, "photo": nf, "text": "look at this",
         "text_entities": [{"type": "plain", "text": "look at this"}]},
        {"id": 16, "type": "message", **d(16), **me, "forwarded_from": "Bob", "text": "fwd text",
         "text_entities": [{"type": "plain", "text": "fwd text"}]},
        {"id": 17, "type": "service", **d(17), "actor": "Me Owner", "actor_id": "user42", "action": "phone_call",
         "duration_seconds": 30, "text": "", "text_entities": []},
        {"id": 18, "type": "message", **d(18), **al, "file": nf, "media_type": "voice_message",
         "mime_type": "audio/ogg", "duration_seconds": 4, "text": "", "text_entities": []},
        {"id": 20, "type": "message", **d(20), **me, "text": ["see 👀 ", {"type": "bold", "text": "this"}, " now"],
         "text_entities": [{"type": "plain", "text": "see 👀 "}, {"type": "bold", "text": "this"},
                           {"type": "plain", "text": " now"}]},
    ]
    return telethon_msgs, desktop_msgs


def test_ingest_reads_fetch_output_like_a_desktop_export(tmp_path):
    ingest = pytest.importorskip("doppel.ingest")
    alice_t, alice_d = equivalence_chat()
    bob_t = conversation(BOB, 6, start=100, step=3)
    bob_d = []
    for i, m in enumerate(bob_t):
        ts = int(m.date.timestamp())
        row = {"id": m.id, "type": "message", "date": datetime.fromtimestamp(ts).strftime("%Y-%m-%dT%H:%M:%S"),
               "date_unixtime": str(ts), "from": "Me Owner" if m.out else "Bob",
               "from_id": "user42" if m.out else "user1002"}
        if m.reply_to:
            row["reply_to_message_id"] = m.reply_to.reply_to_msg_id
        bob_d.append({**row, "text": m.message, "text_entities": [{"type": "plain", "text": m.message}]})

    run_fetch(FakeClient([(dialog(ALICE), alice_t), (dialog(BOB), bob_t)]), tmp_path / "telethon")
    for peer, rows in ((ALICE, alice_d), (BOB, bob_d)):
        folder = tmp_path / "desktop" / f"ChatExport_{peer.id}"
        folder.mkdir(parents=True)
        root = {"name": utils.get_display_name(peer), "type": "personal_chat", "id": peer.id, "messages": rows}
        (folder / "result.json").write_text(json.dumps(root, ensure_ascii=False, indent=1))

    cols = ["chat_id", "chat_type", "message_id", "ts", "sender_id", "is_owner", "text", "kind", "reply_to",
            "forwarded", "drop_reason", "pii_hints"]
    ours, _ = ingest.read_exports([tmp_path / "telethon"], cfg("ingest"))
    theirs, _ = ingest.read_exports([tmp_path / "desktop"], cfg("ingest"))
    ours, theirs = ours.select(cols).sort("chat_id", "message_id"), theirs.select(cols).sort("chat_id", "message_id")
    assert ours.height == len(alice_d) + len(bob_d)
    assert ours.to_dicts() == theirs.to_dicts()
    kept = ours.filter(ours["drop_reason"].is_null())
    assert kept.height > 5 and kept["is_owner"].any() and not kept["is_owner"].all()
    hints = ours.filter(ours["message_id"] == 11)["pii_hints"].to_list()
    assert hints == [[{"type": "PHONE", "text": "+1 555 123 4567"}]]


def test_connection_lost_is_one_line_and_resumable(tmp_path, baseline):
    client = FakeClient(standard_chats())
    client.faults[(1001, 21)] = ConnectionError("Connection to Telegram failed 5 time(s)")
    with pytest.raises(fetch_fetcher.Stop, match="rerun `doppel fetch` to resume"):
        run_fetch(client, tmp_path)
    run_fetch(FakeClient(standard_chats()), tmp_path)
    assert snapshot(tmp_path) == baseline


def test_the_real_client_writes_its_session_private_and_offline_is_one_line(env, monkeypatch, capsys):
    """Telethon's own TelegramClient (no fake): creating it writes its SQLite session file, which needs no
    network; doppel keeps that file 0600 in a 0700 folder even under a permissive umask, and a connection that
    fails is one line, exit 2."""
    import sqlite3

    import telethon

    seen = {}

    async def offline(self, *args, **kwargs):  # the network is the one part a test cannot have
        session = env / "doppel" / "telethon.session"
        seen["modes"] = stat.S_IMODE(session.stat().st_mode), stat.S_IMODE(session.parent.stat().st_mode)
        with sqlite3.connect(session) as db:  # the client's own schema: it was really created
            seen["tables"] = {name for (name,) in db.execute("select name from sqlite_master where type = 'table'")}
        raise ConnectionError("Connection to Telegram failed 5 time(s)")

    monkeypatch.setenv("TELEGRAM_API_ID", "1")
    monkeypatch.setenv("TELEGRAM_API_HASH", "h")
    monkeypatch.setattr(telethon.TelegramClient, "connect", offline)
    old = os.umask(0o022)
    try:
        rc = cli.main(["fetch", "--out", "out"])
    finally:
        os.umask(old)
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "cannot reach Telegram" in err and "rerun `doppel fetch`" in err
    assert "not logged in" not in err
    assert seen["modes"] == (0o600, 0o700) and {"sessions", "entities", "version"} <= seen["tables"]
    assert not (env / "doppel" / "telethon.session").exists()  # a failed first run leaves no session behind
    assert not list(Path("out").rglob("*.session"))
