"""The run: dialogs -> chats -> messages, a batch at a time into the chat files; FloodWaits waited out visibly
(or the run stopped, progress kept); Telegram's takeout errors as one-line messages."""
from __future__ import annotations

import asyncio
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from doppel.config import FetchConfig
from doppel.telegram.fetch.chatfile import ChatFile
from doppel.telegram.fetch.dialogs import ChatInfo, classify, display_name
from doppel.telegram.fetch.export import Context, export_message
from doppel.telegram.flood import FloodGuard, Stop, flood_errors, format_wait  # noqa: F401  (Stop: fetcher.Stop)


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


class Fetcher:
    def __init__(self, client, out_dir: Path, cfg: FetchConfig, *, sleep=None, log=sys.stderr):
        self.client = client
        self.out_dir = out_dir
        self.cfg = cfg
        self.sleep = sleep or asyncio.sleep
        self.log = log
        self.summary = Summary()

        self.flood = FloodGuard(cfg.max_flood_wait_s, self.sleep, log, lambda wait: (
            f"Telegram asks to wait {wait} before more requests; everything fetched so far is saved, rerun "
            f"`doppel fetch` after that (or raise fetch.max_flood_wait_s)"))

    async def dialogs(self, takeout) -> list:
        async def every() -> list:
            return [d async for d in takeout.iter_dialogs()]

        return await self.flood.call(every)

    async def run(self) -> Summary:
        me = await self.client.get_me()
        if me is None:
            raise Stop("not logged in to Telegram")
        async with self.client.takeout(users=True, chats=self.cfg.include_groups,
                                       megagroups=self.cfg.include_groups, channels=False,
                                       contacts=False, files=False) as takeout:
            await self.fetch_all(takeout, me)
        return self.summary

    async def fetch_all(self, takeout, me) -> None:
        skip = set(self.cfg.skip_chats)
        limit = self.cfg.limit_chats
        for dialog in await self.dialogs(takeout):
            chat, why = classify(dialog, me.id, self.cfg.include_groups)
            if chat is not None and (chat.key in skip or chat.id in skip):
                chat, why = None, "--skip"
            if chat is not None and limit is not None and self.summary.chats >= limit:
                chat, why = None, "over --limit-chats"
            if chat is None:
                self.summary.skipped[why] += 1
                continue
            self.summary.chats += 1
            await self.fetch_chat(takeout, chat, me)

    async def fetch_chat(self, takeout, chat: ChatInfo, me) -> None:
        cf = ChatFile(self.out_dir, chat.key)
        label = f"{chat.name or '(no name)'} [{chat.key}]"
        if not cf.recover():
            cf.create({"chat": {"id": chat.id, "type": chat.type, "name": chat.name}, "owner_id": f"user{me.id}"})
        for note in cf.notes:
            print(f"  {label}: {note}", file=self.log)
        ctx = Context(chat, me, {f"user{me.id}": display_name(me)})
        if chat.type == "personal_chat":
            ctx.names[f"user{chat.id}"] = chat.name
        before = cf.count
        batch_size = self.cfg.batch_size
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
            except flood_errors() as err:
                flush()  # what came before the wait is whole and in order: keep it
                await self.flood.wait(err)
            except BaseException:
                flush()  # a crash or Ctrl-C keeps what was already downloaded
                raise
        new = cf.count - before
        self.summary.new += new
        self.summary.messages += cf.count
        self.summary.files.append(cf.path)
        if not new:
            print(f"  {label}: up to date ({cf.count:,} messages)", file=self.log)


async def fetch(client, out_dir: Path, cfg: FetchConfig, *, sleep=None, log=sys.stderr) -> Summary:
    """Download into out_dir through an already started, logged-in client (or a test's fake of it)."""
    from telethon import errors

    out_dir.mkdir(parents=True, exist_ok=True)
    fetcher = Fetcher(client, out_dir, cfg, sleep=sleep, log=log)
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
            + (f" (or wait {format_wait(err.seconds)})" if err.seconds else "")
        ) from None
    except (errors.TakeoutInvalidError, errors.TakeoutRequiredError):
        raise Stop("the export session was cancelled (another data export, or it was declined in "
                   "another app); everything fetched so far is saved, rerun `doppel fetch`") from None
    except ConnectionError as err:
        raise Stop(f"lost the connection to Telegram ({err}); everything fetched so far is saved, "
                   "rerun `doppel fetch` to resume") from None
