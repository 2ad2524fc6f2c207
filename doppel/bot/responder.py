"""The Telegram side of `doppel bot`: a private message in -> the twin's reply as the chat's draft, or (auto
mode, allowed chat, within the limits) sent after a short "typing...". The owner's own draft is never
touched; a newer incoming message makes a pending suggestion stale. Commands in Saved Messages switch it off
and on. Every Telegram call waits out a short FloodWait and stops the bot on a long one (as `doppel fetch`)."""
from __future__ import annotations

import asyncio
import sys
from collections import deque
from datetime import datetime
from typing import Callable

from doppel.bot.context import context_turns
from doppel.bot.handlers import (
    SWITCH_HELP, State, draft_is_ours, parse_switch, send_block, skip_reason, status_text, unusable,
)
from doppel.bot.log import EventLog
from doppel.config import BotConfig, IngestConfig, ScrubConfig
from doppel.telegram.fetch.dialogs import SERVICE_USER_IDS, display_name
from doppel.telegram.flood import FloodGuard, flood_errors


def local_now() -> datetime:
    return datetime.now().astimezone()


class Responder:
    def __init__(self, client, me, cfg: BotConfig, backend, log: EventLog, *, ingest: IngestConfig,
                 scrub: ScrubConfig, gap_hours: float, now: Callable[[], datetime] = local_now, sleep=None,
                 err=None):
        self.client, self.me, self.cfg, self.backend, self.log = client, me, cfg, backend, log
        self.ingest, self.scrub, self.gap_hours = ingest, scrub, gap_hours
        self.now, self.sleep, self.err = now, sleep or asyncio.sleep, err or sys.stderr
        self.state = State()
        self.state.enabled, self.state.suggestions = log.restore()
        self._locks: dict[int, asyncio.Lock] = {}
        self._chats: dict[int, object] = {}  # chat id -> its entity, for clearing the bot's drafts there
        self.flood = FloodGuard(cfg.max_flood_wait_s, self.sleep, self.err, lambda wait: (
            f"Telegram asks to wait {wait} before more requests; the bot stopped (drafts and sends made so far "
            f"stay). Start it again after that, or raise bot.max_flood_wait_s"),
            on_stop=lambda seconds: self.log.write("stopped", reason="flood_wait", seconds=seconds))

    # ------------------------------------------------------------------------------------------- plumbing

    async def call(self, fn, *args, **kwargs):
        """A Telegram call; a FloodWait up to bot.max_flood_wait_s is waited out (visibly), a longer one stops."""
        return await self.flood.call(fn, *args, **kwargs)

    def status(self, chat, line: str) -> None:
        name = display_name(chat) or "(no name)"
        print(f"doppel bot: {self.now():%H:%M:%S} {name} [{chat.id}]: {line}", file=self.err, flush=True)

    def is_person(self, chat) -> bool:
        return not (getattr(chat, "bot", False) or getattr(chat, "deleted", False) or chat.id in SERVICE_USER_IDS
                    or chat.id == self.me.id)

    # ------------------------------------------------------------------------------------------- events

    async def on_message(self, message, chat) -> str:
        """Any new message in a private chat (`chat`: the User on the other side). Returns what was done."""
        if chat.id == self.me.id:
            return await self.on_saved_message(message, chat)
        if message.out:
            if self.state.by_bot(chat.id, message.message):
                return "bot wrote"
            self.state.owner_wrote[chat.id] = message.date.timestamp()
            return "owner wrote"
        newest = self.state.newest(chat.id, message.id)
        why = skip_reason(self.cfg, chat.id, getattr(chat, "username", None), self.is_person(chat))
        if why:
            return self._done(chat, message, "skipped", why)
        if not self.state.enabled:
            return self._done(chat, message, "skipped", "switched off (/doppel on in Saved Messages)")
        if not newest:
            return self._done(chat, message, "stale", "a newer message came in")
        async with self._locks.setdefault(chat.id, asyncio.Lock()):
            return await self.answer(message, chat)

    async def on_saved_message(self, message, chat) -> str:
        """The kill switch: `/doppel off|on|status` sent to Saved Messages from any of the owner's devices."""
        word = parse_switch(getattr(message, "message", None)) if message.out else None
        if word is None:
            return "saved message"
        cleared = 0
        if word in ("on", "off"):
            self.state.enabled = word == "on"
            self.log.write("switch", to=word)
            if word == "off":
                cleared = await self.clear_drafts()
                print(f"doppel bot: switched off from Saved Messages (/doppel on resumes); {cleared} pending "
                      "draft(s) cleared", file=self.err, flush=True)
        reply = SWITCH_HELP if word == "help" else status_text(self.cfg, self.state, self.now())
        if word == "off":
            reply += f"; {cleared} pending draft(s) cleared"
        await self.call(self.client.send_message, chat, reply, parse_mode=None)
        return f"switch {word}"

    async def clear_drafts(self) -> int:
        """Switched off: the bot's suggestions still standing as drafts are cleared (a draft the owner changed is
        theirs and stays). Returns how many were cleared."""
        cleared = 0
        for cid, text in list(self.state.suggestions.items()):
            draft = await self.call(self.client.get_drafts, self._chats.get(cid, cid))
            if (draft.raw_text or "").strip() and draft_is_ours(draft.raw_text, text):
                await self.call(draft.set_message, "", parse_mode=None)
                cleared += 1
            self.state.suggestions.pop(cid, None)
            self.log.write("draft_cleared", chat=cid)
        return cleared

    def _done(self, chat, message, event: str, why: str, **fields) -> str:
        self.state.counts[event] += 1
        self.log.write(event, chat=chat.id, message=message.id, why=why, **fields)
        line = f"{event}: {why}" if why else event
        if event in ("drafted", "sent"):
            text = " ".join(fields["reply"].split())
            line += f" \"{text if len(text) <= 60 else text[:57] + '...'}\""
        self.status(chat, line)
        return event

    # ------------------------------------------------------------------------------------------- the reply

    async def answer(self, message, chat) -> str:
        cid = chat.id
        if self.state.stale(cid, message.id):
            return self._done(chat, message, "stale", "a newer message came in")
        draft = await self.call(self.client.get_drafts, chat)
        if not draft_is_ours(draft.raw_text, self.state.suggestions.get(cid)):
            return self._done(chat, message, "kept", "your draft is there: left alone")
        history = await self.call(self.client.get_messages, chat, limit=self.cfg.history_messages)
        history = list(history)
        ctx = context_turns(history, self.me, chat, self.ingest, self.scrub, self.gap_hours, self.cfg.disclosure)
        if ctx.turns and ctx.turns[-1][0]:
            return self._done(chat, message, "skipped", "you replied already")
        if ctx.last_id is None or ctx.last_id < message.id:
            return self._done(chat, message, "skipped", "nothing to answer (media, service or forwarded message)")
        if ctx.last_id > message.id:
            return self._done(chat, message, "stale", "a newer message came in")
        try:
            reply = await asyncio.to_thread(self.backend.reply, ctx.turns, cid)
        except Exception as err:  # noqa: BLE001 - an endpoint down or a model error: this message only
            return self._done(chat, message, "failed", f"no reply from {self.backend.name} "
                                                       f"({type(err).__name__}: {err})")
        if self.state.stale(cid, message.id):
            return self._done(chat, message, "stale", "a newer message came in while the twin was answering")
        why = unusable(reply)
        if why:
            return self._done(chat, message, "suppressed", why, reply=reply)
        draft = await self.call(self.client.get_drafts, chat)  # the owner may have started typing meanwhile
        if not draft_is_ours(draft.raw_text, self.state.suggestions.get(cid)):
            return self._done(chat, message, "kept", "your draft is there: left alone", reply=reply)
        block = send_block(self.cfg, self.state, cid, getattr(chat, "username", None), self.now(),
                           self.state.owner_last(cid, history))
        if block is None:
            sent = await self.send(chat, message, reply, draft)
            if sent != "refused":
                return sent
        await self.call(draft.set_message, reply, parse_mode=None)
        self.state.suggestions[cid] = reply
        self._chats[cid] = chat
        why = "" if block == "draft mode" else (block or "Telegram refused the send")
        return self._done(chat, message, "drafted", why, reply=reply, turns=len(ctx.turns))

    async def typing(self, chat) -> None:
        """"typing..." for bot.typing_delay_s. A FloodWait on the typing action is waited out (or stops the bot,
        as on any call); the reply goes out after it, without more typing."""
        try:
            async with self.client.action(chat, "typing"):
                await self.sleep(self.cfg.typing_delay_s)
        except flood_errors() as err:
            await self.flood.wait(err)

    async def send(self, chat, message, reply: str, draft) -> str:
        """Auto mode: "typing..." for bot.typing_delay_s, then the reply with the disclosure: `sent`; `stale` when
        a newer message came in meanwhile; `refused` by Telegram (the account is limited: sending stops for
        good, drafts from then on)."""
        from telethon import errors

        text = reply + self.cfg.disclosure
        self.state.sent_texts.setdefault(chat.id, deque(maxlen=50)).append(text.strip())  # before its echo comes
        try:
            await self.typing(chat)
            if self.state.stale(chat.id, message.id):
                return self._done(chat, message, "stale", "a newer message came in while typing")
            ours = bool((draft.raw_text or "").strip())  # the bot's earlier suggestion there: clear it
            await self.call(self.client.send_message, chat, text, parse_mode=None, clear_draft=ours)
        except (errors.PeerFloodError, errors.UserPrivacyRestrictedError, errors.ChatWriteForbiddenError) as err:
            if isinstance(err, errors.PeerFloodError):
                self.state.auto_stopped = "Telegram limited this account for sending (PeerFlood)"
                print(f"doppel bot: {self.state.auto_stopped}: auto sending stopped, drafts only", file=self.err)
            self.log.write("send_refused", chat=chat.id, message=message.id, error=type(err).__name__)
            return "refused"
        self.state.suggestions.pop(chat.id, None)
        self.state.record_send(chat.id, self.now().timestamp(), text)
        return self._done(chat, message, "sent", "", reply=text)
