"""`doppel fetch`: params (fetch section) with flags on top, credentials, the session, the Telethon client, the run."""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

from doppel import config
from doppel.config import FetchConfig
from doppel.telegram.fetch.fetcher import Stop, Summary, fetch
from doppel.telegram.fetch.login import log_in
from doppel.telegram.fetch.session import (CREDENTIALS_EPILOG, load_credentials, make_client, prepare_session,
                                           remove_session, resolve_session, secure_session)
from doppel.shell import ArgumentParser


async def _run(session: Path, api_id: int, api_hash: str, out_dir: Path, cfg: FetchConfig, fresh: bool) -> Summary:
    """Log in and fetch. A `fresh` session file (no login in it yet) is removed when the run fails before the
    login is done: no session file without a login is left behind."""
    logged_in = False
    try:
        client = make_client(session, api_id, api_hash, cfg)
        secure_session(session)
        try:
            await log_in(client, interactive=sys.stdin.isatty())  # a first run asks for phone, code, 2FA password
            logged_in = True
            secure_session(session)
            return await fetch(client, out_dir, cfg, sleep=SLEEP)
        finally:
            await client.disconnect()
            secure_session(session)
    finally:
        if fresh and not logged_in:
            remove_session(session)


SLEEP = asyncio.sleep  # tests replace it to shorten FloodWait countdowns


def parser() -> argparse.ArgumentParser:
    ap = ArgumentParser(
        prog="doppel fetch",
        description="Download your Telegram chats with Telethon into data/raw/telethon (incremental, resumable).",
        epilog=CREDENTIALS_EPILOG)
    ap.add_argument("--output", "--out", dest="out", type=Path, help="output folder (default: fetch.out in params.yaml)")
    ap.add_argument("--include-groups", action="store_true", default=None,
                    help="also private groups and supergroups (channels never)")
    ap.add_argument("--skip", type=int, nargs="+", action="extend", default=[], metavar="CHAT_ID",
                    help="chat ids to leave out (added to fetch.skip_chats)")
    ap.add_argument("--limit-chats", type=int, metavar="N", help="fetch at most N chats this run")
    ap.add_argument("--session", help="the login session file (outside the repository; "
                    "default $XDG_CONFIG_HOME/doppel/telethon.session)")
    ap.add_argument("--params", type=Path, default=config.PARAMS_FILE, help="params file (default: params.yaml)")
    return ap


def load_config(args: argparse.Namespace) -> FetchConfig:
    """The fetch section of the params file, the flags on top (validated alike)."""
    flags: dict = {"out": str(args.out) if args.out is not None else None, "include_groups": args.include_groups,
                   "limit_chats": args.limit_chats, "session": args.session}
    flags = {k: v for k, v in flags.items() if v is not None}
    if args.skip:
        flags["skip_chats"] = [*config.load("fetch", args.params).skip_chats, *args.skip]
    return config.load("fetch", args.params, overrides=flags)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    cfg = load_config(args)
    out_dir = Path(cfg.out)
    session = resolve_session(cfg.session, out_dir)
    api_id, api_hash = load_credentials()
    fresh = not session.exists() or session.stat().st_size == 0  # no login in it yet
    prepare_session(session)
    if not out_dir.exists():
        out_dir.mkdir(parents=True)
        os.chmod(out_dir, 0o700)
    start = time.perf_counter()
    try:
        summary = asyncio.run(_run(session, api_id, api_hash, out_dir, cfg, fresh))
    except (Stop, ConnectionError) as err:
        message = str(err) if isinstance(err, Stop) else f"cannot reach Telegram ({err}); rerun when online"
        print(f"doppel fetch: error: {message}", file=sys.stderr)
        return 2
    for path in summary.files:
        os.chmod(path, 0o600)
    print(summary.text(out_dir) + f" in {time.perf_counter() - start:.0f}s", file=sys.stderr)
    return 0
