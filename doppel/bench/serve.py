"""`doppel bench serve`: requests/s and latency of a running `doppel serve`, at 1, 4 and 16 concurrent clients.

    doppel serve --port 8321 &                 # the server under test (any twin: the sample's, your own)
    doppel bench serve                         # the URL from params serve: (host, port)
    doppel bench serve --url http://127.0.0.1:9000/v1 --clients 1,8 --requests 32 --max-tokens 32

Each level sends `--requests` chat completions (short chat-like messages, no seed, so that the server may
batch them) from that many concurrent clients, and stops early after `--seconds`. Loopback addresses only:
this is a load test. The table goes to stdout: requests/s, p50/p95 latency, completion tokens/s, errors.
"""
from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from doppel import config
from doppel.errors import InputError
from doppel.shell import ArgumentParser

MESSAGES = ["hi, are you free tonight?", "did you see the game?", "ok, coffee tomorrow at 10?",
            "what are you up to", "send me the address pls", "haha that's great", "how was the trip?",
            "can you call me later"]


@dataclass
class Level:
    clients: int
    latencies: list[float] = field(default_factory=list)
    tokens: int = 0
    errors: int = 0
    wall: float = 0.0
    first_error: str = ""


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = ArgumentParser(prog="doppel bench serve", description=__doc__.split("\n\n")[0])
    p.add_argument("--url", help="the server's /v1 base URL (default: from params serve.host and serve.port)")
    p.add_argument("--api-key", help="Bearer key, if the server wants one (default: $DOPPEL_API_KEY)")
    p.add_argument("--clients", default="1,4,16", help="concurrency levels, comma-separated (default: 1,4,16)")
    p.add_argument("--requests", type=int, default=32, help="requests per level, at most 1000 (default: 32)")
    p.add_argument("--max-tokens", type=int, default=16, help="max_tokens of each request (default: 16)")
    p.add_argument("--seconds", type=float, default=60.0,
                   help="per level: no new request after this long, at most 600 (default: 60)")
    p.add_argument("--params", type=Path, default=config.PARAMS_FILE, help="params file (default: params.yaml)")
    return p.parse_args(argv)


def base_url(args: argparse.Namespace) -> str:
    if args.url:
        url = args.url.rstrip("/")
    else:
        cfg = config.load("serve", args.params)
        host = f"[{cfg.host}]" if ":" in cfg.host else cfg.host
        url = f"http://{host}:{cfg.port}/v1"
    from doppel.serve.network import is_loopback

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"--url {url}", "expected http://HOST:PORT/v1")
    if not is_loopback(parts.hostname):
        raise InputError(f"--url {url}", "the bench only targets a server on this machine (127.0.0.1, localhost, ::1)")
    return url


def levels(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or any(v < 1 or v > 64 for v in values):
        raise InputError(f"--clients {text}", "expected comma-separated counts from 1 to 64, e.g. 1,4,16")
    return values


async def run_level(client, url: str, model: str, clients: int, requests: int, max_tokens: int,
                    seconds: float) -> Level:
    level, sent = Level(clients), 0
    deadline = time.perf_counter() + seconds

    async def worker(index: int) -> None:
        nonlocal sent
        while sent < requests and time.perf_counter() < deadline:
            n, sent = sent, sent + 1
            body = {"model": model, "max_tokens": max_tokens,
                    "messages": [{"role": "user", "content": MESSAGES[(n + index) % len(MESSAGES)]}]}
            start = time.perf_counter()
            try:
                resp = await client.post(f"{url}/chat/completions", json=body)
                ok = resp.status_code == 200
            except Exception as err:  # noqa: BLE001 - a failed request is counted, the bench goes on
                ok, resp = False, err
            if ok:
                level.latencies.append(time.perf_counter() - start)
                level.tokens += int(resp.json()["usage"]["completion_tokens"])
            else:
                level.errors += 1
                level.first_error = level.first_error or _describe(resp)

    start = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(clients)))
    level.wall = time.perf_counter() - start
    return level


def _describe(resp) -> str:
    if isinstance(resp, Exception):
        return f"{type(resp).__name__}: {resp}"
    return f"HTTP {resp.status_code}: {resp.text[:200]}"


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)] if ordered else math.nan


def table(results: list[Level]) -> str:
    head = (f"{'clients':>7}  {'requests':>8}  {'errors':>6}  {'req/s':>7}  {'p50 ms':>8}  {'p95 ms':>8}  "
            f"{'tokens/s':>8}")
    lines = [head, "-" * len(head)]
    for r in results:
        done = len(r.latencies)
        lines.append(f"{r.clients:>7}  {done:>8}  {r.errors:>6}  {done / r.wall if r.wall else 0:>7.2f}  "
                     f"{percentile(r.latencies, 0.5) * 1000:>8.0f}  {percentile(r.latencies, 0.95) * 1000:>8.0f}  "
                     f"{r.tokens / r.wall if r.wall else 0:>8.1f}")
    return "\n".join(lines)


async def bench(url: str, key: str | None, counts: list[int], args: argparse.Namespace) -> list[Level]:
    import httpx

    headers = {"Authorization": f"Bearer {key}"} if key else {}
    limits = httpx.Limits(max_connections=max(counts), max_keepalive_connections=max(counts))
    async with httpx.AsyncClient(headers=headers, timeout=120.0, limits=limits, trust_env=False) as client:
        try:
            resp = await client.get(f"{url}/models")
        except httpx.HTTPError as err:
            raise InputError(url, f"no server answers ({type(err).__name__}); start `doppel serve` first") from None
        if resp.status_code != 200:
            raise InputError(url, f"GET /models: HTTP {resp.status_code} (wrong --api-key?)")
        model = resp.json()["data"][0]["id"]
        await run_level(client, url, model, 1, 1, args.max_tokens, args.seconds)  # warm-up, not counted
        results = []
        for clients in counts:
            print(f"bench serve: {clients} client(s), {args.requests} requests ...", file=sys.stderr, flush=True)
            results.append(await run_level(client, url, model, clients, args.requests, args.max_tokens, args.seconds))
        return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    url, counts = base_url(args), levels(args.clients)
    if not 1 <= args.requests <= 1000:
        raise InputError(f"--requests {args.requests}", "expected 1 to 1000")
    if not 0 < args.seconds <= 600:
        raise InputError(f"--seconds {args.seconds}", "expected more than 0 and at most 600")
    if args.max_tokens < 1:
        raise InputError(f"--max-tokens {args.max_tokens}", "expected at least 1")
    results = asyncio.run(bench(url, args.api_key or os.environ.get("DOPPEL_API_KEY"), counts, args))
    print(f"bench serve: {url}, max_tokens {args.max_tokens}, up to {args.requests} requests per level")
    print(table(results))
    for r in results:
        if r.errors:
            print(f"bench serve: {r.clients} client(s): {r.errors} failed, e.g. {r.first_error}", file=sys.stderr)
    return 1 if any(r.errors for r in results) else 0
