"""`doppel quiz`: "which reply is really mine?", a blind test the owner and friends play in a browser.

Each round shows a real context from the val split (redacted, as in the dataset) and two replies in random
order, the owner's real one and the twin's (chat's sampling, seeded per round); the player picks the real
one, or "can't tell". Picks go to quiz.results (JSON lines, appended; no text of the rounds).

    doppel quiz                                    # http://127.0.0.1:8322/ (quiz: in params.yaml)
    doppel quiz --report                           # the result so far: printed, and written to quiz.report
    doppel quiz --host 0.0.0.0 --players ann,bob   # other devices: one private link per player (printed)
    DOPPEL_QUIZ_KEY=... doppel quiz --host 0.0.0.0 # ... or one shared link; players type their name
"""
from __future__ import annotations

import argparse
import os
import re
import secrets
import sys
from pathlib import Path

from doppel import config, io
from doppel.errors import InputError
from doppel.quiz.report import summarise, text
from doppel.quiz.server import Access
from doppel.quiz.store import player_problem, read
from doppel.serve.network import MIN_KEY_CHARS, bind, is_loopback
from doppel.shell import ArgumentParser, add_twin_flags, twin_flags

ENV_KEY = "DOPPEL_QUIZ_KEY"
KEY = re.compile(r"^[A-Za-z0-9_-]+$")   # it is a path segment of the link
LINK_BYTES = 16       # random bytes of a per-player link's token (22 URL-safe characters)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = ArgumentParser(prog="doppel quiz", description=__doc__.split("\n\n")[0])
    p.add_argument("--report", action="store_true", help="print the result so far and write it to quiz.report")
    p.add_argument("--host", help="address to bind (default: quiz.host, 127.0.0.1); any other address needs "
                                  "--key or --players")
    p.add_argument("--port", type=int, help="port to bind, 0 for any free one (default: quiz.port)")
    p.add_argument("--key", help=f"a shared link /p/KEY/ (at least {MIN_KEY_CHARS} letters, digits, - or _; "
                                 f"default: ${ENV_KEY}, else none)")
    p.add_argument("--players", help="comma-separated names: one private link each (printed at start)")
    p.add_argument("--rounds", type=int, help="val rows played (default: quiz.rounds)")
    p.add_argument("--seed", type=int, help="rows, sides and the twin's replies (default: quiz.seed)")
    p.add_argument("--val", help="val split (default: quiz.val)")
    add_twin_flags(p, "quiz")
    p.add_argument("--params", type=Path, default=config.PARAMS_FILE,
                   help="params file: sections quiz, chat, build and base (default: params.yaml)")
    return p.parse_args(argv)


def access(host: str, key: str | None, players: str | None, from_flag: bool) -> Access:
    """The links that may play; an open quiz (no links) only on loopback."""
    tokens: dict[str, str | None] = {}
    if key is not None:
        if len(key) < MIN_KEY_CHARS or not KEY.match(key):
            raise InputError("--key" if from_flag else ENV_KEY,
                             f"a key is at least {MIN_KEY_CHARS} letters, digits, - or _ (it is part of the link)")
        tokens[key] = None
    names = [n.strip() for n in (players or "").split(",") if n.strip()]
    if players is not None and not names:  # `--players ""` or `--players ,`: no link would be printed
        raise InputError("--players", f"no name in {players!r}: give comma-separated names, e.g. ann,bob")
    for name in names:
        if why := player_problem(name):
            raise InputError("--players", f"{name!r}: {why}")
    if len(set(names)) != len(names):
        raise InputError("--players", "a name is given twice")
    tokens.update({secrets.token_urlsafe(LINK_BYTES): name for name in names})
    result = Access(tokens)
    if result.open and not is_loopback(host):
        raise InputError(f"--host {host}", f"other devices need a link: pass --players NAMES, --key KEY or set "
                                           f"{ENV_KEY}")
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    flags = {k: getattr(args, k) for k in ("host", "port", "rounds", "seed", "val") if getattr(args, k) is not None}
    cfg = config.load("quiz", args.params, overrides={**flags, **twin_flags(args)})
    if args.report:
        return report(cfg)
    env_key = os.environ.get(ENV_KEY) or None
    links = access(cfg.host, args.key if args.key is not None else env_key, args.players, args.key is not None)
    sock = bind(cfg.host, cfg.port)
    try:
        return _serve(sock, args, cfg, links)
    finally:
        sock.close()


def report(cfg) -> int:
    summary = summarise(read(cfg.results))
    io.write_json(Path(cfg.report), summary)
    print(text(summary))
    print(f"doppel quiz: wrote {cfg.report}", file=sys.stderr)
    return 0


def _serve(sock, args: argparse.Namespace, cfg, links: Access) -> int:
    from doppel.model.load import load_twin
    from doppel.quiz import rounds as R
    from doppel.quiz import twin as T
    from doppel.quiz.server import Game, make_server
    from doppel.quiz.store import Store

    # a path typed in --val is not the pipeline's: no dvc command makes it
    hint = "the file given by --val: check the path" if args.val is not None else io.ROWS_FIRST
    rows = io.read_rows(Path(cfg.val), hint=hint)
    picked, skipped = R.candidates(rows, cfg.rounds, cfg.seed)
    if not picked:
        raise InputError(cfg.val, f"no val row can make a fair round ({dict(skipped) or 'the split is empty'})")
    sampling = config.load("chat", args.params).sampling.model_copy(update={"seed": cfg.seed})
    twin = load_twin(args.params, args.base, None if args.no_adapter else cfg.adapter, cfg.device, cfg.precision)
    replies = T.replies(twin, picked, sampling, T.printer())
    rounds, dropped = R.make_rounds(picked, replies, cfg.seed, cfg.context_turns)
    skipped.update(dropped)
    if not rounds:
        raise InputError(cfg.val, f"no round is left to play ({dict(skipped)})")
    server = make_server(sock, Game(rounds, Store(cfg.results)), links)
    host, port = sock.getsockname()[:2]
    root = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    left = f" (skipped: {', '.join(f'{n} {why}' for why, n in sorted(skipped.items()))})" if skipped else ""
    print(f"doppel quiz: {len(rounds)} rounds from {len(rows)} val rows{left}, the twin: {twin.checkpoint_dir.name}"
          f"{' + adapter' if twin.adapter_dir else ' (base alone)'}; picks go to {cfg.results}; Ctrl-C stops",
          file=sys.stderr)
    if links.open:
        print(f"  play: {root}/", file=sys.stderr, flush=True)
    for token, name in links.tokens.items():
        print(f"  {name or 'shared link'}: {root}/p/{token}/", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    print("doppel quiz: stopped (doppel quiz --report shows the result)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    from doppel.cli import main as doppel_main

    sys.exit(doppel_main(["quiz", *sys.argv[1:]]))
