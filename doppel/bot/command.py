"""`doppel bot`: the twin inside Telegram, on your own login (the session file of `doppel fetch`).

    doppel bot                                    # draft mode: each reply waits in the chat's input box for you
    doppel bot --mode auto --allow @ann           # sends in @ann's chat (disclosure added), drafts elsewhere
    doppel bot --api-base http://127.0.0.1:8321/v1   # replies from `doppel serve` (or vLLM) instead of in-process

Send /doppel off, /doppel on or /doppel status to your Saved Messages from any device. Ctrl-C stops.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from doppel import config
from doppel.memory.recall import TABLE as MEMORY_TABLE
from doppel.bot.backend import EndpointBackend, TwinBackend
from doppel.bot.log import EventLog
from doppel.bot.responder import Responder
from doppel.config import BotConfig
from doppel.shell import ArgumentParser, add_twin_flags, twin_flags
from doppel.telegram.fetch.dialogs import display_name
from doppel.telegram.fetch.login import log_in
from doppel.telegram.flood import Stop
from doppel.telegram.fetch.session import (CREDENTIALS_EPILOG, load_credentials, make_client, prepare_session,
                                           resolve_session, secure_session)

SLEEP = asyncio.sleep  # tests replace it: FloodWait countdowns, typing delays, reconnect pauses
RECONNECT_S = (5, 300)  # first and longest pause before reconnecting


def parser() -> argparse.ArgumentParser:
    ap = ArgumentParser(prog="doppel bot", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n\n".join([*__doc__.split("\n\n")[1:], CREDENTIALS_EPILOG]))
    ap.add_argument("--mode", choices=["draft", "auto"], help="draft: suggestions you send yourself; auto: it "
                    "sends in the --allow chats (default: bot.mode)")
    ap.add_argument("--allow", nargs="+", action="extend", default=[], metavar="CHAT",
                    help="chat ids or @usernames auto mode may send in (added to bot.allow)")
    ap.add_argument("--deny", nargs="+", action="extend", default=[], metavar="CHAT",
                    help="chat ids or @usernames never touched (added to bot.deny)")
    ap.add_argument("--api-base", help="an OpenAI-compatible endpoint, e.g. http://127.0.0.1:8321/v1 from "
                    "`doppel serve` (default: bot.api_base; none: the twin in-process). Key: $DOPPEL_API_KEY")
    ap.add_argument("--api-model", help="the model name asked of the endpoint (default: bot.api_model)")
    add_twin_flags(ap, "bot")
    ap.add_argument("--seed", type=int, help="reproducible suggestions (default: bot.seed)")
    ap.add_argument("--session", help="the login session file, as for `doppel fetch` (default: fetch.session, "
                    "else $XDG_CONFIG_HOME/doppel/telethon.session)")
    ap.add_argument("--log", help="the local JSONL log of suggestions and actions (default: bot.log)")
    ap.add_argument("--params", type=Path, default=config.PARAMS_FILE,
                    help="params file: sections bot, build, ingest, scrub, segment, fetch, base (default: params.yaml)")
    return ap


def load_config(args: argparse.Namespace) -> BotConfig:
    """The bot section, the flags on top (validated alike: auto mode with no allowed chat is refused here)."""
    flags = {k: getattr(args, k) for k in ("mode", "api_base", "api_model", "log") if getattr(args, k) is not None}
    flags.update(twin_flags(args))
    if args.allow or args.deny:
        # read without the flags first: `--mode auto --allow @ann` must not fail on the file's empty list
        raw = config.read(args.params).get("bot") or {}
        for key in ("allow", "deny"):
            if getattr(args, key):
                flags[key] = [*(raw.get(key) or []), *getattr(args, key)]
    return config.load("bot", args.params, overrides=flags)


def make_backend(args: argparse.Namespace, cfg: BotConfig, system: str):
    """The endpoint (checked now, in one line if it is not there) or the twin, loaded in this process."""
    if cfg.api_base:
        backend = EndpointBackend(cfg.api_base, cfg.api_model, system, cfg.sampling)
        backend.check()
        return backend
    from doppel.model.load import load_twin

    from doppel.memory.recall import open_memory

    memory_cfg = config.load("memory", args.params)
    memory = open_memory(memory_cfg, MEMORY_TABLE, cfg.context_tokens, str(args.params))
    twin = load_twin(args.params, args.base, None if args.no_adapter else cfg.adapter, cfg.device, cfg.precision)
    backend = TwinBackend(twin, system, cfg.sampling, cfg.context_tokens, memory, memory_cfg)
    backend.name = f"{twin.checkpoint_dir.name} + {twin.adapter_dir or 'no adapter'}"
    return backend


async def keep_connected(client, stopped: list, err=None) -> None:
    """Until stopped: wait on the connection, reconnect (with a growing pause) when Telegram drops it."""
    err = err or sys.stderr
    pause = RECONNECT_S[0]
    while True:
        why = ""
        try:
            await client.run_until_disconnected()
        except (ConnectionError, OSError, EOFError) as error:  # dropped with an error (IncompleteReadError: EOF)
            why = f" ({type(error).__name__})"
        if stopped:
            return
        print(f"doppel bot: lost the connection to Telegram{why}; reconnecting in {pause}s", file=err, flush=True)
        await SLEEP(pause)
        try:
            await client.connect()
        except (OSError, ConnectionError) as error:
            print(f"doppel bot: cannot reconnect yet ({error})", file=err, flush=True)
            pause = min(pause * 2, RECONNECT_S[1])
            continue
        pause = RECONNECT_S[0]
        print("doppel bot: reconnected", file=err, flush=True)


async def run(client, build_responder, err=None) -> Responder:
    """Log in (asking on the terminal the first time, as `doppel fetch`), handle private messages until
    Ctrl-C; a Stop raised by a handler (a long FloodWait) ends the run with that line."""
    from telethon import events

    err = err or sys.stderr
    await log_in(client, interactive=sys.stdin.isatty())  # each failure named, as in `doppel fetch`
    me = await client.get_me()
    if me is None:
        raise Stop("not logged in to Telegram")
    responder = build_responder(client, me)
    stopped: list = []

    async def on_new(event) -> None:
        try:
            await responder.on_message(event.message, await event.get_chat())
        except Stop as stop:
            stopped.append(stop)
            await client.disconnect()
        except Exception as error:  # noqa: BLE001 - one bad event must not end the bot
            responder.log.write("error", error=f"{type(error).__name__}: {error}")
            print(f"doppel bot: error on a message ({type(error).__name__}: {error}); carrying on", file=err)

    client.add_event_handler(on_new, events.NewMessage(func=lambda e: e.is_private))
    print(f"doppel bot: on as {display_name(me)}, {describe(responder)}; Ctrl-C stops", file=err, flush=True)
    await keep_connected(client, stopped, err)
    if stopped:
        raise stopped[0]
    return responder


def describe(r: Responder) -> str:
    cfg = r.cfg
    mode = (f"mode auto (sends in {', '.join(map(str, cfg.allow))}; drafts elsewhere)" if cfg.mode == "auto"
            else "mode draft (suggestions in each chat's input box)")
    off = "; SWITCHED OFF since the last run (/doppel on in Saved Messages)" if not r.state.enabled else ""
    return f"{mode}, replies from {r.backend.name}, log {r.log.path}{off}"


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    cfg = load_config(args)
    fetch, build = config.load("fetch", args.params), config.load("build", args.params)
    ingest, scrub = config.load("ingest", args.params), config.load("scrub", args.params)
    gap = config.load("segment", args.params).session_gap_hours
    session = resolve_session(args.session or fetch.session, Path(fetch.out))
    api_id, api_hash = load_credentials()
    log = EventLog(Path(cfg.log))
    try:
        backend = make_backend(args, cfg, build.system_prompt)
    except BaseException:
        log.close()
        raise
    prepare_session(session)
    held: list[Responder] = []

    def build_responder(client, me) -> Responder:
        held.append(Responder(client, me, cfg, backend, log, ingest=ingest, scrub=scrub, gap_hours=gap, sleep=SLEEP))
        return held[-1]

    client = make_client(session, api_id, api_hash, fetch)
    secure_session(session)
    code = 0
    try:
        asyncio.run(_until_done(client, build_responder))
    except KeyboardInterrupt:
        pass
    except Stop as err:
        print(f"doppel bot: error: {err}", file=sys.stderr)
        code = 2
    except ConnectionError as err:
        print(f"doppel bot: error: cannot reach Telegram ({err}); start it again when online", file=sys.stderr)
        code = 2
    finally:
        secure_session(session)
        log.close()
    c = held[0].state.counts if held else {}
    print(f"doppel bot: stopped ({c.get('drafted', 0)} drafted, {c.get('sent', 0)} sent, "
          f"{c.get('suppressed', 0)} suppressed)", file=sys.stderr)
    return code


async def _until_done(client, build_responder) -> None:
    try:
        await run(client, build_responder)
    finally:
        await client.disconnect()
