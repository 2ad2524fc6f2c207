"""A Telethon Message / MessageService -> one message of the Telegram Desktop export (same ids, keys, media
keys), so ingest reads fetch's files and Desktop exports alike."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from doppel.telegram.fetch.dialogs import ChatInfo, display_name
from doppel.telegram.fetch.media import media_keys

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
        ctx.names[ref] = display_name(sender)
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
        _service(out, action, name, ref, reply_to)
        return out

    if ref is not None:
        out["from"], out["from_id"] = name, ref
    fwd = getattr(m, "fwd_from", None)
    if fwd is not None:
        forward = getattr(m, "forward", None)
        source = forward and (getattr(forward, "sender", None) or getattr(forward, "chat", None))
        out["forwarded_from"] = fwd.from_name or display_name(source) or "unknown"
    if reply_to:
        out["reply_to_message_id"] = reply_to
        peer = _peer_ref(getattr(m.reply_to, "reply_to_peer_id", None))
        if peer:
            out["reply_to_peer_id"] = peer
    via = getattr(m, "via_bot", None)
    if via is not None and getattr(via, "username", None):
        out["via_bot"] = "@" + via.username
    if not media_keys(getattr(m, "media", None), out):
        return {"id": m.id, "type": "unsupported"}
    text = m.message or ""
    out["text"] = _clean(text)
    out["text_entities"] = text_parts(text, m.entities)
    return out


def _service(out: dict, action, name: str | None, ref: str | None, reply_to: int | None) -> None:
    """The keys of a service message (its `action`)."""
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
