"""Which dialogs are fetched: private chats (and, when asked, groups); never bots, channels, service chats."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Telegram's own accounts: notifications and login codes (777000), the legacy service account, support,
# the "Replies" chat.
SERVICE_USER_IDS = {777000, 42777, 333000, 1271266957}


@dataclass
class ChatInfo:
    key: int        # Telethon's marked id (unique across users, groups and channels): the file name
    id: int         # the bare id, as the Desktop export writes it
    type: str       # the Desktop export's chat type
    name: str | None
    entity: Any


def display_name(entity) -> str | None:
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
        return ChatInfo(key, ent.id, "personal_chat", display_name(ent), ent), None
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
    return ChatInfo(key, ent.id, kind, display_name(ent), ent), None
