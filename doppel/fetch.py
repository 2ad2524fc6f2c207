"""fetch: download your Telegram chats with Telethon into data/raw/telethon (incremental, resumable).

One file per chat, `OUT/chat_<id>.jsonl`: line 1 a header
`{"chat": {"id", "type", "name"}, "owner_id": "user<your id>"}`, then one message per line in the
Telegram Desktop export's message shape (same ids, keys and media keys), in increasing id order, so ingest
reads these files and Desktop exports alike.

The file is the truth. Messages are appended a batch at a time (flushed and fsynced), then a per-chat
checkpoint (`OUT/.checkpoints/chat_<id>.json`) is replaced atomically; the checkpoint never runs ahead of
the file. On start a partial last line (a run killed mid-write) is cut off and the download resumes after
the last message id actually in the file, so a run killed at any point and rerun ends with exactly the
messages of an uninterrupted run. A rerun fetches only messages newer than those in the files.

Credentials: TELEGRAM_API_ID / TELEGRAM_API_HASH, or api_id / api_hash in
$XDG_CONFIG_HOME/doppel/telegram.toml (default ~/.config/doppel/telegram.toml); get them at
https://my.telegram.org. The login session (a full login: treat it like a password) lives outside the
repository, by default $XDG_CONFIG_HOME/doppel/telethon.session, its folder 0700 and the file 0600.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from doppel import params as params_mod
from doppel.errors import InputError

PARAM_DEFAULTS: dict[str, Any] = {
    "out": "data/raw/telethon",
    "include_groups": False,   # also private groups and supergroups (broadcast channels never)
    "skip_chats": [],          # chat ids to leave out (the bare id, or Telethon's marked id)
    "limit_chats": None,       # at most this many chats per run (a first look)
    "session": None,           # default: $XDG_CONFIG_HOME/doppel/telethon.session
    "batch_size": 500,         # messages written and checkpointed at a time
    "flood_sleep_threshold": 0,  # Telethon sleeps silently through shorter flood waits; 0: all visible
    "max_flood_wait_s": 3600,  # a longer FloodWait stops the run (progress is kept): rerun later
}
# Telegram's own accounts: notifications and login codes (777000), the legacy service account, support,
# the "Replies" chat.
SERVICE_USER_IDS = {777000, 42777, 333000, 1271266957}
NOT_INCLUDED = "(File not included. Change data exporting settings to download.)"
CREDENTIALS_HELP = (
    "no Telegram API credentials: create an app at https://my.telegram.org (API development tools), "
    "then set TELEGRAM_API_ID and TELEGRAM_API_HASH, or write api_id = ... and api_hash = \"...\" in this file"
)
CHECKPOINTS = ".checkpoints"


# --------------------------------------------------------------------------- credentials and session


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "doppel"


def _read_toml(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    try:
        import tomllib
    except ImportError:  # Python 3.10: `key = value` lines are all this file needs
        out = {}
        for line in text.splitlines():
            m = re.match(r"\s*([A-Za-z_]+)\s*=\s*(.+?)\s*(#.*)?$", line)
            if m:
                out[m.group(1)] = m.group(2).strip("\"'")
        return out
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise InputError(path, f"not valid TOML ({err})") from None


def load_credentials(env: dict | None = None) -> tuple[int, str]:
    """(api_id, api_hash) from the environment, else from the config file; InputError says how to get them."""
    env = os.environ if env is None else env
    path = config_dir() / "telegram.toml"
    api_id, api_hash = env.get("TELEGRAM_API_ID"), env.get("TELEGRAM_API_HASH")
    if not (api_id and api_hash) and path.is_file():
        data = _read_toml(path)
        data = data.get("telegram", data) if isinstance(data.get("telegram"), dict) else data
        api_id, api_hash = api_id or data.get("api_id"), api_hash or data.get("api_hash")
        if path.stat().st_mode & 0o077:
            print(f"doppel fetch: warning: {path} is readable by others; chmod 600 it", file=sys.stderr)
    if not (api_id and api_hash):
        raise InputError(path, CREDENTIALS_HELP)
    try:
        return int(str(api_id).strip()), str(api_hash).strip()
    except ValueError:
        raise InputError(path, f"api_id must be a number (got {api_id!r}); see https://my.telegram.org") from None


def _git_root(path: Path) -> Path | None:
    for parent in [path, *path.parents]:
        if (parent / ".git").exists():
            return parent
    return None


def resolve_session(arg: str | os.PathLike | None, out_dir: Path) -> Path:
    """The session file's path (ending in .session, as Telethon names it); refused inside a git work tree
    or the output folder: a session is a full login and must never be committed or shipped with data."""
    path = Path(arg).expanduser() if arg else config_dir() / "telethon.session"
    if path.suffix != ".session":
        path = path.with_name(path.name + ".session")
    path = path.absolute().resolve()
    repo = _git_root(path.parent)
    if repo is not None:
        raise InputError(path, f"the login session must live outside the git repository {repo}; "
                         f"pass --session with a path such as {config_dir() / 'telethon.session'}")
    out = out_dir.absolute().resolve()
    if path.parent == out or out in path.parents:
        raise InputError(path, f"the login session must not live in the output folder {out}")
    return path


def prepare_session(path: Path) -> None:
    """Create the session folder 0700 and an empty session file 0600 (sqlite takes an empty file as a new
    database), so the login never exists with looser modes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    secure_session(path)


def secure_session(path: Path) -> None:
    for p in (path, path.with_name(path.name + "-journal")):
        if p.exists():
            os.chmod(p, 0o600)


# --------------------------------------------------------------------------- which chats


@dataclass
class ChatInfo:
    key: int        # Telethon's marked id (unique across users, groups and channels): the file name
    id: int         # the bare id, as the Desktop export writes it
    type: str       # the Desktop export's chat type
    name: str | None
    entity: Any


def _display_name(entity) -> str | None:
    if entity is None:
        return None
    from telethon import utils

    return utils.get_display_name(entity) or None


def classify(dialog, me_id: int, include_groups: bool) -> tuple[ChatInfo | None, str | None]:
    """(chat, None) for a chat to fetch, else (None, why it is skipped)."""
    from telethon.tl import types

    ent = dialog.entity
    key = dialog.id
    if isinstance(ent, types.User):
        if ent.is_self or ent.id == me_id:
            return None, "saved messages"
        if ent.bot:
            return None, "bot"
        if ent.deleted:
            return None, "deleted account"
        if ent.id in SERVICE_USER_IDS:
            return None, "service chat"
        return ChatInfo(key, ent.id, "personal_chat", _display_name(ent), ent), None
    if isinstance(ent, types.Channel) and not ent.megagroup:
        return None, "channel"
    if isinstance(ent, (types.ChatForbidden, types.ChannelForbidden)):
        return None, "no access"
    if isinstance(ent, types.Chat):
        kind = "private_group"
    elif isinstance(ent, types.Channel):
        kind = "public_supergroup" if (ent.username or ent.usernames) else "private_supergroup"
    else:
        return None, "unknown chat kind"
    if not include_groups:
        return None, "group (--include-groups)"
    return ChatInfo(key, ent.id, kind, _display_name(ent), ent), None


# --------------------------------------------------------------------------- Telethon message -> export shape

ENTITY_TYPES = {
    "MessageEntityUnknown": "unknown", "MessageEntityMention": "mention", "MessageEntityHashtag": "hashtag",
    "MessageEntityBotCommand": "bot_command", "MessageEntityUrl": "link", "MessageEntityEmail": "email",
    "MessageEntityBold": "bold", "MessageEntityItalic": "italic", "MessageEntityCode": "code",
    "MessageEntityPre": "pre", "MessageEntityTextUrl": "text_link", "MessageEntityMentionName": "mention_name",
    "InputMessageEntityMentionName": "mention_name", "MessageEntityPhone": "phone",
    "MessageEntityCashtag": "cashtag", "MessageEntityUnderline": "underline",
    "MessageEntityStrike": "strikethrough", "MessageEntityBlockquote": "blockquote",
    "MessageEntityBankCard": "bank_card", "MessageEntitySpoiler": "spoiler",
    "MessageEntityCustomEmoji": "custom_emoji",
}
ACTIONS = {
    "ChatCreate": "create_group", "ChatEditTitle": "edit_group_title", "ChatEditPhoto": "edit_group_photo",
    "ChatDeletePhoto": "delete_group_photo", "ChatAddUser": "invite_members",
    "ChatDeleteUser": "remove_members", "ChatJoinedByLink": "join_group_by_link",
    "ChannelCreate": "create_channel", "ChatMigrateTo": "migrate_to_supergroup",
    "ChannelMigrateFrom": "migrate_from_group", "PinMessage": "pin_message", "HistoryClear": "clear_history",
    "GameScore": "score_in_game", "PaymentSent": "send_payment", "PhoneCall": "phone_call",
    "ScreenshotTaken": "take_screenshot", "BotAllowed": "allow_sending_messages",
    "SecureValuesSent": "send_passport_values", "ContactSignUp": "joined_telegram",
    "GeoProximityReached": "proximity_reached", "GroupCall": "group_call",
    "InviteToGroupCall": "invite_to_group_call", "SetMessagesTTL": "set_messages_ttl",
    "GroupCallScheduled": "group_call_scheduled", "SetChatTheme": "edit_chat_theme",
    "ChatJoinedByRequest": "join_group_by_request", "WebViewDataSent": "send_webview_data",
    "GiftPremium": "send_premium_gift", "TopicCreate": "topic_created", "TopicEdit": "topic_edit",
    "SuggestProfilePhoto": "suggest_profile_photo", "RequestedPeer": "requested_peer",
    "SetChatWallPaper": "set_chat_wallpaper",
}
NO_ACTOR = {"PaymentSent", "BotAllowed", "SecureValuesSent", "GeoProximityReached", "WebViewDataSent"}
DISCARD_REASONS = {
    "PhoneCallDiscardReasonMissed": "missed", "PhoneCallDiscardReasonBusy": "busy",
    "PhoneCallDiscardReasonDisconnect": "disconnect", "PhoneCallDiscardReasonHangup": "hangup",
}


def _clean(s: str) -> str:
    """A str orjson can write: lone surrogates (an entity cutting a pair) become U+FFFD."""
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return s.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def text_parts(text: str, entities) -> list[dict]:
    """The Desktop export's `text_entities`: the text cut into typed parts ("plain" between entities), so
    the parts joined give the text back. Same rules as Telegram Desktop: offsets in UTF-16 code units,
    entities in order, an entity overlapping the previous one is ignored."""
    if not text:
        return []
    from telethon.helpers import add_surrogate, del_surrogate

    wide = add_surrogate(text)  # one char per UTF-16 code unit
    size = len(wide)
    parts: list[dict] = []
    offset = 0

    def plain(till: int) -> None:
        nonlocal offset
        if till > offset:
            parts.append({"type": "plain", "text": _clean(del_surrogate(wide[offset:till]))})
            offset = till

    for ent in entities or []:
        start, length = ent.offset, ent.length
        if start < offset or length <= 0 or start + length > size:
            continue
        plain(start)
        part = {"type": ENTITY_TYPES.get(type(ent).__name__, "unknown"),
                "text": _clean(del_surrogate(wide[start:start + length]))}
        name = type(ent).__name__
        if name == "MessageEntityPre":
            part["language"] = ent.language or ""
        elif name == "MessageEntityTextUrl":
            part["href"] = ent.url
        elif name == "MessageEntityMentionName":
            part["user_id"] = ent.user_id
        elif name == "MessageEntityCustomEmoji":
            part["document_id"] = str(ent.document_id)
        parts.append(part)
        offset = start + length
    plain(size)
    if "".join(p["text"] for p in parts) != _clean(text):  # never lose text to an odd entity
        return [{"type": "plain", "text": _clean(text)}]
    return parts


def _peer_ref(peer) -> str | None:
    """A Peer* -> the export's `user123` / `chat123` / `channel123`."""
    from telethon.tl import types

    if isinstance(peer, types.PeerUser):
        return f"user{peer.user_id}"
    if isinstance(peer, types.PeerChat):
        return f"chat{peer.chat_id}"
    if isinstance(peer, types.PeerChannel):
        return f"channel{peer.channel_id}"
    return None


def _marked_ref(marked: int | None) -> str | None:
    if marked is None:
        return None
    from telethon import utils

    return _peer_ref(utils.get_peer(marked))


def _date(ts: int) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%dT%H:%M:%S")  # local time, as the Desktop app writes


def _str(value) -> str:
    """TextWithEntities (poll texts since layer 178) or str -> str."""
    return getattr(value, "text", value) or ""


def _document(doc, out: dict) -> None:
    from telethon.tl import types

    out["file"] = NOT_INCLUDED
    flags: dict[str, Any] = {}
    for attr in getattr(doc, "attributes", None) or []:
        if isinstance(attr, (types.DocumentAttributeSticker, types.DocumentAttributeCustomEmoji)):
            flags["sticker"], flags["emoji"] = True, attr.alt
        elif isinstance(attr, types.DocumentAttributeAnimated):
            flags["animation"] = True
        elif isinstance(attr, types.DocumentAttributeVideo):
            flags["video_message" if attr.round_message else "video_file"] = True
            flags["duration"], flags["w"], flags["h"] = attr.duration, attr.w, attr.h
        elif isinstance(attr, types.DocumentAttributeAudio):
            flags["voice_message" if attr.voice else "audio_file"] = True
            flags["duration"], flags["performer"], flags["title"] = attr.duration, attr.performer, attr.title
        elif isinstance(attr, types.DocumentAttributeImageSize):
            flags["w"], flags["h"] = attr.w, attr.h
    for kind in ("sticker", "video_message", "voice_message", "animation", "video_file", "audio_file"):
        if flags.get(kind):
            out["media_type"] = kind
            break
    if flags.get("sticker"):
        out["sticker_emoji"] = flags.get("emoji") or ""
    elif getattr(doc, "mime_type", None):
        out["mime_type"] = doc.mime_type
    if out.get("media_type") == "audio_file":
        for key in ("performer", "title"):
            if flags.get(key):
                out[key] = flags[key]
    if flags.get("duration"):
        out["duration_seconds"] = int(flags["duration"])
    if flags.get("w") and flags.get("h"):
        out["width"], out["height"] = flags["w"], flags["h"]


def _media(media, out: dict) -> bool:
    """Media keys of the export; False for media the Desktop exporter cannot render (`unsupported`)."""
    from telethon.tl import types

    if media is None:
        return True
    if isinstance(media, types.MessageMediaUnsupported):
        return False
    if isinstance(media, types.MessageMediaPhoto):
        out["photo"] = NOT_INCLUDED
    elif isinstance(media, types.MessageMediaDocument):
        _document(media.document, out)
    elif isinstance(media, types.MessageMediaContact):
        phone = media.phone_number or ""
        out["contact_information"] = {
            "first_name": media.first_name or "", "last_name": media.last_name or "",
            "phone_number": ("+" + phone) if phone.isdigit() else phone,
        }
    elif isinstance(media, types.MessageMediaVenue):
        out["place_name"], out["address"] = media.title, media.address
        if isinstance(media.geo, types.GeoPoint):
            out["location_information"] = {"latitude": media.geo.lat, "longitude": media.geo.long}
    elif isinstance(media, (types.MessageMediaGeo, types.MessageMediaGeoLive)):
        geo = media.geo
        out["location_information"] = (
            {"latitude": geo.lat, "longitude": geo.long} if isinstance(geo, types.GeoPoint) else None
        )
        if isinstance(media, types.MessageMediaGeoLive) and media.period:
            out["live_location_period_seconds"] = media.period
    elif isinstance(media, types.MessageMediaPoll):
        poll, results = media.poll, media.results
        votes = {r.option: r for r in (getattr(results, "results", None) or [])}
        out["poll"] = {
            "question": _str(poll.question),
            "closed": bool(poll.closed),
            "total_voters": getattr(results, "total_voters", None) or 0,
            "answers": [
                {
                    "text": _str(a.text),
                    "voters": getattr(votes.get(a.option), "voters", None) or 0,
                    "chosen": bool(getattr(votes.get(a.option), "chosen", False)),
                }
                for a in poll.answers
            ],
        }
    elif isinstance(media, types.MessageMediaGame):
        out["game_title"], out["game_description"] = media.game.title, media.game.description
    elif isinstance(media, types.MessageMediaInvoice):
        out["invoice_information"] = {
            "title": media.title, "description": media.description,
            "amount": media.total_amount, "currency": media.currency,
        }
        if media.receipt_msg_id:
            out["invoice_information"]["receipt_message_id"] = media.receipt_msg_id
    # web page previews, dice, stories, giveaways...: the Desktop exporter writes no media keys either
    return True


@dataclass
class Context:
    chat: ChatInfo
    me: Any                       # your User
    names: dict = field(default_factory=dict)   # "user123" -> display name


def _sender(m, ctx: Context) -> tuple[str | None, str | None]:
    """(display name, `user123`) of who sent m."""
    me_ref = f"user{ctx.me.id}"
    if m.out:
        return ctx.names.get(me_ref), me_ref
    ref = _peer_ref(m.from_id) or _marked_ref(getattr(m, "sender_id", None))
    if ref is None and ctx.chat.type == "personal_chat":
        ref = f"user{ctx.chat.id}"
    sender = getattr(m, "sender", None)
    if ref is not None and ref not in ctx.names and sender is not None:
        ctx.names[ref] = _display_name(sender)
    return ctx.names.get(ref), ref


def export_message(m, ctx: Context) -> dict:
    """A Telethon Message / MessageService -> one message of the Desktop export (same keys, same ids)."""
    from telethon.tl import types

    ts = int(m.date.timestamp())
    out: dict[str, Any] = {"id": m.id}
    if isinstance(getattr(m, "media", None), types.MessageMediaUnsupported):
        return {"id": m.id, "type": "unsupported"}
    action = getattr(m, "action", None)
    out["type"] = "service" if action is not None else "message"
    out["date"] = _date(ts)
    out["date_unixtime"] = str(ts)
    if getattr(m, "edit_date", None) and action is None:
        edited = int(m.edit_date.timestamp())
        out["edited"], out["edited_unixtime"] = _date(edited), str(edited)
    name, ref = _sender(m, ctx)
    reply_to = m.reply_to.reply_to_msg_id if isinstance(m.reply_to, types.MessageReplyHeader) else None

    if action is not None:
        kind = type(action).__name__.removeprefix("MessageAction")
        if kind not in NO_ACTOR and ref is not None:
            out["actor"], out["actor_id"] = name, ref
        if kind == "CustomAction":
            out["information_text"] = action.message
        else:
            out["action"] = ACTIONS.get(kind) or re.sub(r"(?<!^)(?=[A-Z])", "_", kind).lower()
        if kind in ("ChatCreate", "ChatEditTitle", "ChannelCreate", "ChannelMigrateFrom", "TopicCreate"):
            out["title"] = action.title
        if kind in ("PinMessage", "SetSameChatWallPaper") and reply_to:
            out["message_id"] = reply_to
        if kind == "PhoneCall":
            if action.duration:
                out["duration_seconds"] = action.duration
            if action.reason is not None:
                out["discard_reason"] = DISCARD_REASONS.get(type(action.reason).__name__, "")
        if kind == "GroupCall" and action.duration:
            out["duration"] = action.duration
        if kind == "SetMessagesTTL":
            out["period"] = action.period
        out["text"], out["text_entities"] = "", []
        return out

    if ref is not None:
        out["from"], out["from_id"] = name, ref
    fwd = getattr(m, "fwd_from", None)
    if fwd is not None:
        forward = getattr(m, "forward", None)
        source = forward and (getattr(forward, "sender", None) or getattr(forward, "chat", None))
        out["forwarded_from"] = fwd.from_name or _display_name(source) or "unknown"
    if reply_to:
        out["reply_to_message_id"] = reply_to
        peer = _peer_ref(getattr(m.reply_to, "reply_to_peer_id", None))
        if peer:
            out["reply_to_peer_id"] = peer
    via = getattr(m, "via_bot", None)
    if via is not None and getattr(via, "username", None):
        out["via_bot"] = "@" + via.username
    if not _media(getattr(m, "media", None), out):
        return {"id": m.id, "type": "unsupported"}
    text = m.message or ""
    out["text"] = _clean(text)
    out["text_entities"] = text_parts(text, m.entities)
    return out


# --------------------------------------------------------------------------- the chat files


def _dumps(obj) -> bytes:
    return orjson.dumps(obj) + b"\n"


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _rfind_newline(f, end: int) -> int:
    """Index of the last b"\\n" before `end`, or -1."""
    pos = end
    while pos > 0:
        start = max(0, pos - (1 << 16))
        f.seek(start)
        i = f.read(pos - start).rfind(b"\n")
        if i >= 0:
            return start + i
        pos = start
    return -1


def _line_ok(line: bytes, first: bool) -> dict | None:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(obj, dict):
        return None
    if first:
        return obj if isinstance(obj.get("chat"), dict) else None
    return obj if isinstance(obj.get("id"), int) else None


class ChatFile:
    """`OUT/chat_<key>.jsonl` and its checkpoint."""

    def __init__(self, out_dir: Path, key: int):
        self.path = out_dir / f"chat_{key}.jsonl"
        self.checkpoint = out_dir / CHECKPOINTS / f"chat_{key}.json"
        self.last_id = 0
        self.count = 0
        self.size = 0
        self.notes: list[str] = []

    def recover(self) -> bool:
        """Read where the file stands: cut a partial (or unreadable) tail, take the last id in the file.
        False when there is no file (or not even a whole header line)."""
        if not self.path.exists():
            return False
        with open(self.path, "r+b") as f:
            size = f.seek(0, os.SEEK_END)
            end = size
            if size:
                f.seek(size - 1)
                if f.read(1) != b"\n":
                    end = _rfind_newline(f, size) + 1
            obj, start = None, 0
            while end > 0:
                start = _rfind_newline(f, end - 1) + 1
                f.seek(start)
                obj = _line_ok(f.read(end - start), first=start == 0)
                if obj is not None:
                    break
                end = start
            if end < size:
                f.truncate(end)
                f.flush()
                os.fsync(f.fileno())
                self.notes.append(f"cut {size - end} bytes of an unfinished write")
        if end == 0:
            self.path.unlink()
            return False
        self.size = end
        self.last_id = 0 if start == 0 else obj["id"]
        ck = self._read_checkpoint()
        if ck.get("last_id") == self.last_id and ck.get("bytes") == self.size and isinstance(ck.get("messages"), int):
            self.count = ck["messages"]
        else:
            if ck.get("last_id", 0) > self.last_id:
                self.notes.append("checkpoint was ahead of the file; the file wins")
            self._scan()
            self._write_checkpoint()
        return True

    def _scan(self) -> None:
        count, top = 0, 0
        with open(self.path, "rb") as f:
            f.readline()
            for line in f:
                obj = _line_ok(line, first=False)
                if obj is not None:
                    count += 1
                    top = max(top, obj["id"])
        self.count, self.last_id = count, max(top, self.last_id)

    def _read_checkpoint(self) -> dict:
        try:
            obj = orjson.loads(self.checkpoint.read_bytes())
            return obj if isinstance(obj, dict) else {}
        except (OSError, orjson.JSONDecodeError):
            return {}

    def _write_checkpoint(self) -> None:
        self.checkpoint.parent.mkdir(mode=0o700, exist_ok=True)
        _write_atomic(self.checkpoint, orjson.dumps(
            {"chat": self.path.name, "last_id": self.last_id, "messages": self.count, "bytes": self.size}))

    def create(self, header: dict) -> None:
        _write_atomic(self.path, _dumps(header))
        self.size, self.last_id, self.count = self.path.stat().st_size, 0, 0
        self._write_checkpoint()

    def append(self, messages: list[dict]) -> None:
        """Append (one write, flushed and fsynced), then move the checkpoint: never ahead of the file."""
        if not messages:
            return
        data = b"".join(map(_dumps, messages))
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        self.size += len(data)
        self.count += len(messages)
        self.last_id = messages[-1]["id"]
        self._write_checkpoint()


# --------------------------------------------------------------------------- the run


class Stop(Exception):
    """Stop the run with a one-line message (exit 2); what was fetched is kept."""


@dataclass
class Summary:
    chats: int = 0
    messages: int = 0
    new: int = 0
    skipped: Counter = field(default_factory=Counter)
    files: list = field(default_factory=list)

    def text(self, out_dir: Path) -> str:
        lines = [f"fetch: {self.chats} chat(s), {self.messages:,} messages in {out_dir} "
                 f"({self.new:,} new since the last run)"]
        if self.skipped:
            lines.append(f"  skipped {sum(self.skipped.values())} chat(s): "
                         + ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items())))
        return "\n".join(lines)


def _fmt_wait(seconds: int) -> str:
    h, rest = divmod(int(seconds), 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


async def countdown(seconds: int, sleep, log=sys.stderr) -> None:
    """Wait out a FloodWait, one visible tick per second."""
    tty = getattr(log, "isatty", lambda: False)()
    for left in range(int(seconds), 0, -1):
        if tty:
            print(f"\r  Telegram asks to slow down (FloodWait): resuming in {_fmt_wait(left)} ", end="",
                  file=log, flush=True)
        elif left == seconds or left % 60 == 0:
            print(f"  Telegram asks to slow down (FloodWait): resuming in {_fmt_wait(left)}", file=log, flush=True)
        await sleep(1)
    print(("\r" if tty else "") + "  FloodWait over, resuming" + " " * 30, file=log, flush=True)


class Fetcher:
    def __init__(self, client, out_dir: Path, p: dict, *, sleep=None, log=sys.stderr):
        self.client = client
        self.out_dir = out_dir
        self.p = p
        self.sleep = sleep or asyncio.sleep
        self.log = log
        self.summary = Summary()

    async def flood_wait(self, err) -> None:
        seconds = int(getattr(err, "seconds", 0) or 0)
        if seconds > int(self.p["max_flood_wait_s"]):
            raise Stop(f"Telegram asks to wait {_fmt_wait(seconds)} before more requests; everything fetched "
                       f"so far is saved, rerun `doppel fetch` after that (or raise fetch.max_flood_wait_s)")
        await countdown(seconds + 1, self.sleep, self.log)

    async def dialogs(self, takeout) -> list:
        from telethon import errors

        while True:
            try:
                return [d async for d in takeout.iter_dialogs()]
            except (errors.FloodWaitError, errors.FloodPremiumWaitError) as err:
                await self.flood_wait(err)

    async def run(self) -> Summary:
        me = await self.client.get_me()
        if me is None:
            raise Stop("not logged in to Telegram")
        async with self.client.takeout(users=True, chats=self.p["include_groups"],
                                       megagroups=self.p["include_groups"], channels=False,
                                       contacts=False, files=False) as takeout:
            await self.fetch_all(takeout, me)
        return self.summary

    async def fetch_all(self, takeout, me) -> None:
        skip = {int(c) for c in self.p["skip_chats"] or []}
        limit = self.p["limit_chats"]
        for dialog in await self.dialogs(takeout):
            chat, why = classify(dialog, me.id, bool(self.p["include_groups"]))
            if chat is not None and (chat.key in skip or chat.id in skip):
                chat, why = None, "--skip"
            if chat is not None and limit is not None and self.summary.chats >= int(limit):
                chat, why = None, "over --limit-chats"
            if chat is None:
                self.summary.skipped[why] += 1
                continue
            self.summary.chats += 1
            await self.fetch_chat(takeout, chat, me)

    async def fetch_chat(self, takeout, chat: ChatInfo, me) -> None:
        from telethon import errors

        cf = ChatFile(self.out_dir, chat.key)
        label = f"{chat.name or '(no name)'} [{chat.key}]"
        if not cf.recover():
            cf.create({"chat": {"id": chat.id, "type": chat.type, "name": chat.name}, "owner_id": f"user{me.id}"})
        for note in cf.notes:
            print(f"  {label}: {note}", file=self.log)
        ctx = Context(chat, me, {f"user{me.id}": _display_name(me)})
        if chat.type == "personal_chat":
            ctx.names[f"user{chat.id}"] = chat.name
        before = cf.count
        batch_size = max(1, int(self.p["batch_size"]))
        buf: list[dict] = []

        def flush() -> None:
            if buf:
                cf.append(buf)
                print(f"  {label}: +{len(buf):,} ({cf.count:,} in file, up to id {cf.last_id})", file=self.log)
                buf.clear()

        while True:
            try:
                async for m in takeout.iter_messages(chat.entity, reverse=True, min_id=cf.last_id, wait_time=0):
                    last = buf[-1]["id"] if buf else cf.last_id
                    if m is None or getattr(m, "date", None) is None or m.id <= last:
                        continue  # MessageEmpty, or a repeat: ids only grow
                    buf.append(export_message(m, ctx))
                    if len(buf) >= batch_size:
                        flush()
                flush()
                break
            except (errors.FloodWaitError, errors.FloodPremiumWaitError) as err:
                flush()  # what came before the wait is whole and in order: keep it
                await self.flood_wait(err)
            except BaseException:
                flush()  # a crash or Ctrl-C keeps what was already downloaded
                raise
        new = cf.count - before
        self.summary.new += new
        self.summary.messages += cf.count
        self.summary.files.append(cf.path)
        if not new:
            print(f"  {label}: up to date ({cf.count:,} messages)", file=self.log)


async def fetch(client, out_dir: Path, p: dict, *, sleep=None, log=sys.stderr) -> Summary:
    """Download into out_dir through an already started, logged-in client (or a test's fake of it)."""
    from telethon import errors

    out_dir.mkdir(parents=True, exist_ok=True)
    fetcher = Fetcher(client, out_dir, p, sleep=sleep, log=log)
    if getattr(client.session, "takeout_id", None) is not None:
        # a run killed without closing its takeout: close it, or Telethon refuses to open a new one
        try:
            await client.end_takeout(success=False)
        except errors.RPCError:
            pass
        client.session.takeout_id = None
    try:
        return await fetcher.run()
    except errors.TakeoutInitDelayError as err:
        raise Stop(
            "Telegram wants the data export confirmed: open Telegram on another device, allow the export "
            "request in the chat from 'Telegram', then rerun `doppel fetch`"
            + (f" (or wait {_fmt_wait(err.seconds)})" if err.seconds else "")
        ) from None
    except (errors.TakeoutInvalidError, errors.TakeoutRequiredError):
        raise Stop("the export session was cancelled (another data export, or it was declined in "
                   "another app); everything fetched so far is saved, rerun `doppel fetch`") from None
    except ConnectionError as err:
        raise Stop(f"lost the connection to Telegram ({err}); everything fetched so far is saved, "
                   "rerun `doppel fetch` to resume") from None


def make_client(session: Path, api_id: int, api_hash: str, p: dict):
    from telethon import TelegramClient

    return TelegramClient(str(session), api_id, api_hash,
                          flood_sleep_threshold=int(p["flood_sleep_threshold"]))


async def _run(session: Path, api_id: int, api_hash: str, out_dir: Path, p: dict) -> Summary:
    client = make_client(session, api_id, api_hash, p)
    secure_session(session)
    try:
        await client.start()  # the first run asks for the phone number, the login code, the 2FA password
        secure_session(session)
        return await fetch(client, out_dir, p, sleep=SLEEP)
    finally:
        await client.disconnect()
        secure_session(session)


SLEEP = asyncio.sleep  # tests replace it to shorten FloodWait countdowns


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="doppel fetch", description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, help="output folder (default: fetch.out in params.yaml, data/raw/telethon)")
    ap.add_argument("--include-groups", action="store_true", default=None,
                    help="also private groups and supergroups (channels never)")
    ap.add_argument("--skip", type=int, nargs="+", action="extend", default=[], metavar="CHAT_ID",
                    help="chat ids to leave out")
    ap.add_argument("--limit-chats", type=int, metavar="N", help="fetch at most N chats this run")
    ap.add_argument("--session", help="the login session file (outside the repository; "
                    "default $XDG_CONFIG_HOME/doppel/telethon.session)")
    ap.add_argument("--params", type=Path, default=params_mod.PARAMS_FILE)
    args = ap.parse_args(argv)

    p = {**PARAM_DEFAULTS, **params_mod.load("fetch", args.params)}
    if args.out is not None:
        p["out"] = str(args.out)
    if args.include_groups:
        p["include_groups"] = True
    p["skip_chats"] = list(p["skip_chats"] or []) + args.skip
    if args.limit_chats is not None:
        p["limit_chats"] = args.limit_chats
    if args.session:
        p["session"] = args.session
    out_dir = Path(p["out"])

    session = resolve_session(p["session"], out_dir)
    api_id, api_hash = load_credentials()
    prepare_session(session)
    if not out_dir.exists():
        out_dir.mkdir(parents=True)
        os.chmod(out_dir, 0o700)
    start = time.perf_counter()
    try:
        summary = asyncio.run(_run(session, api_id, api_hash, out_dir, p))
    except Stop as err:
        print(f"doppel fetch: error: {err}", file=sys.stderr)
        return 2
    except ConnectionError as err:
        print(f"doppel fetch: error: cannot reach Telegram ({err}); rerun when online", file=sys.stderr)
        return 2
    except EOFError:
        print("doppel fetch: error: not logged in yet: run `doppel fetch` once in a terminal to log in "
              "(phone number, login code, 2FA password)", file=sys.stderr)
        return 2
    for path in summary.files:
        os.chmod(path, 0o600)
    print(summary.text(out_dir) + f" in {time.perf_counter() - start:.0f}s")
    return 0


if __name__ == "__main__":
    from doppel.cli import module_main

    module_main("fetch")
