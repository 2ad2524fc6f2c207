"""A chat's recent Telegram messages -> the turns the twin sees, through the training pipeline's own code:
fetch's export format, ingest's drop rules (service, forwarded, media without caption, empty), scrub's
redaction, segment's sessions (only the last one is context) and turns (one sender's consecutive messages
merged with "\\n"). The budget cut is the Conversation's, as in `doppel chat`."""
from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from doppel.config import IngestConfig, ScrubConfig
from doppel.redact import scrub
from doppel.segment import sessions, turns
from doppel.telegram.fetch.dialogs import ChatInfo, display_name
from doppel.telegram.fetch.export import Context, export_message
from doppel.telegram.messages import Chat, Tally, finish_batch, frame_from_dicts


@dataclass
class ChatContext:
    turns: list[tuple[bool, str]]   # (is_owner, text), oldest first: the last session
    last_id: int | None             # the newest message kept (None: nothing kept)


def context_turns(messages: list, me, chat, ingest: IngestConfig, scrub_cfg: ScrubConfig, gap_hours: float,
                  disclosure: str = "") -> ChatContext:
    """`messages` (Telethon Messages of one private chat, any order) -> the chat's current session as turns.
    The disclosure the bot adds to what it sends is cut off the owner's messages: the twin never wrote it."""
    messages = sorted((m for m in messages if m is not None and getattr(m, "date", None)), key=lambda m: m.id)
    info = ChatInfo(chat.id, chat.id, "personal_chat", display_name(chat), chat)
    dicts = [export_message(m, Context(info, me, {})) for m in messages]
    owner = f"user{me.id}"
    raw = frame_from_dicts(Chat(chat.id, "personal_chat", info.name, owner), dicts, Tally())
    # which chats is the bot's business (handlers.skip_reason), not ingest's chat_types/skip_chats
    rules = ingest.model_copy(update={"chat_types": ["personal_chat"], "skip_chats": []})
    msgs = finish_batch(raw, rules).with_columns(is_owner=pl.col("sender_id") == owner)
    if disclosure.strip():
        signed = pl.col("is_owner") & pl.col("text").str.ends_with(disclosure)
        msgs = msgs.with_columns(text=pl.when(signed).then(pl.col("text").str.strip_suffix(disclosure))
                                 .otherwise("text"))
    kept, _ = scrub.run(scrub_cfg, msgs)
    if kept.is_empty():
        return ChatContext([], None)
    last = sessions(kept, gap_hours)
    last = last.filter(pl.col("session_id") == pl.col("session_id").max())
    t = turns(last)
    return ChatContext(list(zip(t["is_owner"].to_list(), t["text"].to_list())), int(last["message_id"].max()))
