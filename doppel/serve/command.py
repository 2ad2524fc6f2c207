"""`doppel serve`: the twin behind an OpenAI-compatible API (chat completions, streaming too) on 127.0.0.1.

    doppel serve                                   # params serve: (127.0.0.1:8321, models/adapter)
    doppel serve --port 0                          # any free port; the URL is printed at start
    DOPPEL_API_KEY=... doppel serve --host 0.0.0.0 # beyond loopback only with an API key (Bearer token)

Then point any OpenAI client at http://127.0.0.1:8321/v1 with model "twin" (serve.name). The reply to a
conversation is the one `doppel chat` gives for it (`--seed` and a request's `seed` alike), memory included: under
`memory.scope: chat` a request names its chat in `user` ("4242"), under `all` every request recalls from every
chat (README, Privacy). For heavy use,
serve the exported PEFT adapter with vLLM instead (see the README).
"""
from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path

from doppel import config
from doppel.memory.recall import TABLE as MEMORY_TABLE
from doppel.errors import InputError
from doppel.serve.network import bind, is_loopback, weak_key_warning
from doppel.shell import ArgumentParser, add_twin_flags, twin_flags

ENV_KEY = "DOPPEL_API_KEY"


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = ArgumentParser(prog="doppel serve", description=__doc__.split("\n\n")[0])
    p.add_argument("--host", help="address to bind (default: serve.host, 127.0.0.1); "
                                  "any non-loopback address needs an API key")
    p.add_argument("--port", type=int, help="port to bind, 0 for any free one (default: serve.port)")
    add_twin_flags(p, "serve")
    p.add_argument("--api-key", help=f"require `Authorization: Bearer KEY` (default: ${ENV_KEY}, else none)")
    p.add_argument("--memory-table", type=Path, default=MEMORY_TABLE,
                   help=f"the memory stage's table (default: {MEMORY_TABLE})")
    p.add_argument("--params", type=Path, default=config.PARAMS_FILE,
                   help="params file: sections serve, build, memory and base (default: params.yaml)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    flags = {k: getattr(args, k) for k in ("host", "port") if getattr(args, k) is not None}
    cfg = config.load("serve", args.params, overrides={**flags, **twin_flags(args)})
    build = config.load("build", args.params)
    memory = config.load("memory", args.params)
    api_key = args.api_key or os.environ.get(ENV_KEY) or None
    if not is_loopback(cfg.host) and not api_key:
        where = f"--host {cfg.host}" if args.host else f"{cfg.source}: serve.host {cfg.host}"
        raise InputError(where, f"serving beyond loopback needs an API key: pass --api-key or set {ENV_KEY}")
    if warning := weak_key_warning(api_key):
        print(warning, file=sys.stderr)
    sock = bind(cfg.host, cfg.port)
    try:
        return _serve(sock, args, cfg, build, memory, api_key)
    finally:
        sock.close()


def _serve(sock: socket.socket, args: argparse.Namespace, cfg: config.ServeConfig, build, memory_cfg,
           api_key: str | None) -> int:
    import torch
    import uvicorn

    from doppel.memory.recall import open_memory
    from doppel.model.load import load_twin
    from doppel.serve.app import Settings, create_app
    from doppel.serve.engine import Engine
    from doppel.serve.protocol import now

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    twin = load_twin(args.params, args.base, None if args.no_adapter else cfg.adapter, cfg.device, cfg.precision)
    base, adapter = twin.checkpoint_dir, twin.adapter_dir
    memory = open_memory(memory_cfg, args.memory_table, cfg.context_tokens, str(args.params))
    engine = Engine(twin, cfg, build.system_prompt, cfg.context_tokens, memory, memory_cfg)
    app = create_app(engine, Settings(cfg.name, api_key, cfg.max_body_bytes, now()))
    host, port = sock.getsockname()[:2]
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/v1"
    who = f"{base.name} + adapter {adapter}" if adapter else f"{base.name} (base alone, no adapter)"
    print(f"doppel serve: {who} as model '{cfg.name}' on {url} "
          f"({'API key required' if api_key else 'no API key'}; {_memory_note(memory, memory_cfg)}); Ctrl-C stops",
          file=sys.stderr, flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                                           timeout_graceful_shutdown=3))
    try:
        server.run(sockets=[sock])
    finally:
        engine.close()
    print("doppel serve: stopped", file=sys.stderr)
    return 0


def _memory_note(memory, cfg) -> str:
    if memory is None:
        return "no memory"
    return (f"memory of {len(memory):,} messages, scope {cfg.scope}"
            + (": a request's `user` names its chat" if cfg.scope == "chat" else ": every chat, for every request"))
