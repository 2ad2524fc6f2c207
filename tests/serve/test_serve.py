"""doppel serve: the real server (a subprocess on a free loopback port, the tiny twin) driven by the official
`openai` client; replies equal `doppel chat --message` with the same seed; bad requests are 4xx JSON errors."""
from __future__ import annotations

import concurrent.futures
import io
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import openai
import pytest
import yaml

from support import twin as F
from doppel.chat import command as chat
from doppel.model.conversation import Conversation

REPO = Path(__file__).resolve().parents[2]
KEY = "test-key-123"
SAMPLING = {"max_new_tokens": 12, "temperature": 0.9, "top_k": 40, "top_p": 0.95}
START_TIMEOUT_S = 90


def env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", **extra}


@pytest.fixture(scope="module")
def twin_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve")
    ck = F.make_checkpoint(root / "base", block_size=1024)  # room for a long reply to abandon
    ad = F.make_adapter(ck, root / "adapter")
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["build"]["system_prompt"] = F.SYSTEM
    params["chat"].update(SAMPLING, adapter=str(ad), seed=3, device="cpu")
    params["serve"].update(SAMPLING, adapter=str(ad), port=0, threads=1, device="cpu", max_body_bytes=65536,
                           max_tokens_cap=1000, context_tokens=80)
    params["memory"]["enabled"] = False   # a context of 80 leaves no room for a memory block: test_engine_memory.py
    path = root / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False, allow_unicode=True))
    return ck, ad, path


class Server:
    def __init__(self, proc: subprocess.Popen, url: str, lines: list[str]):
        self.proc, self.url, self.lines = proc, url, lines

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture(scope="module")
def server(twin_files):
    ck, _, params = twin_files
    proc = subprocess.Popen([sys.executable, "-m", "doppel.cli", "serve", "--base", str(ck), "--params", str(params)],
                            cwd=REPO, env=env(DOPPEL_API_KEY=KEY), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    lines: list[str] = []
    found: queue.Queue = queue.Queue()

    def read() -> None:  # keeps draining stderr for the server's whole life
        for line in proc.stderr:
            lines.append(line)
            if m := re.search(r"http://127\.0\.0\.1:\d+/v1", line):
                found.put(m.group(0))
        found.put(None)

    threading.Thread(target=read, daemon=True).start()
    srv = Server(proc, "", lines)
    try:
        url = found.get(timeout=START_TIMEOUT_S)
        assert url, f"server did not start:\n{''.join(lines)}"
        srv.url = url
        yield srv
    finally:
        srv.stop()
    assert srv.proc.returncode is not None


def client(server: Server, key: str = KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url, api_key=key, max_retries=0, timeout=60)


@pytest.fixture(scope="module")
def chat_reply(twin_files):
    """`doppel chat --message` with chat.seed 3 (its first reply uses seed 3), in process."""
    ck, _, params = twin_files

    def reply(message: str) -> str:
        out = io.StringIO()
        assert chat.main(["--base", str(ck), "--params", str(params), "--message", message], stdout=out,
                         stderr=io.StringIO()) == 0
        return out.getvalue().removesuffix("\n")
    return reply


def ask(c: openai.OpenAI, messages, **kwargs):
    kwargs = {"temperature": SAMPLING["temperature"], "top_p": SAMPLING["top_p"], **kwargs}
    return c.chat.completions.create(model="twin", messages=messages, **kwargs)


def test_plain_and_streaming_replies_equal_doppel_chat(server, chat_reply):
    c = client(server)
    assert [m.id for m in c.models.list().data] == ["twin"]
    expected = chat_reply("hi")
    done = ask(c, [{"role": "user", "content": "hi"}], seed=3, max_tokens=12)
    assert done.choices[0].message.content == expected and done.choices[0].message.role == "assistant"
    assert done.choices[0].finish_reason in ("stop", "length") and len(done.choices) == 1
    u = done.usage
    assert u.prompt_tokens > 0 and 0 < u.completion_tokens <= 12
    assert u.total_tokens == u.prompt_tokens + u.completion_tokens
    if done.choices[0].finish_reason == "length":
        assert u.completion_tokens == 12

    chunks = list(ask(c, [{"role": "user", "content": "hi"}], seed=3, max_completion_tokens=12, stream=True,
                      stream_options={"include_usage": True}))
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == expected
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [ch.choices[0].finish_reason for ch in chunks if ch.choices][-1] == done.choices[0].finish_reason
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == u.total_tokens

    raw = httpx.post(f"{server.url}/chat/completions", headers={"Authorization": f"Bearer {KEY}"}, timeout=60,
                     json={"model": "twin", "messages": [{"role": "user", "content": "hi"}], "stream": True})
    assert raw.headers["content-type"].startswith("text/event-stream")
    assert raw.text.rstrip("\n").endswith("data: [DONE]")


def test_roles_context_budget_stop_and_seed(server, twin_files):
    from doppel.model.load import load

    ck, ad, _ = twin_files
    twin = load(ck, ad, device="cpu")
    turns = [(i % 2 == 1, f"message {i} about coffee and movies tonight") for i in range(41)]
    messages = [{"role": "assistant" if mine else "user", "content": text} for mine, text in turns]
    conv = Conversation(twin, F.SYSTEM, F.sampling(max_new_tokens=10), context_tokens=80)
    conv.turns = list(turns)
    prompt = conv.prompt()
    assert "message 40" in prompt and "message 0 " not in prompt
    sampling = {k: SAMPLING[k] for k in ("temperature", "top_k", "top_p")}
    want = twin.generate(prompt, F.sampling(max_new_tokens=10, seed=7, **sampling))

    c = client(server)
    got = ask(c, messages, seed=7, max_tokens=10)
    assert got.choices[0].message.content == want
    assert got.usage.prompt_tokens == twin.count_tokens(prompt) <= 80  # serve.context_tokens

    # a system message replaces the system line; a developer message is the same thing; text parts are joined
    other = ask(c, [{"role": "developer", "content": "Two old friends."},
                    {"role": "user", "content": [{"type": "text", "text": "h"}, {"type": "text", "text": "i"}]}],
                seed=3, max_tokens=10)
    alone = twin.generate(twin.prompt_for(F.render_context([(False, "hi")], "Two old friends.")),
                          F.sampling(max_new_tokens=10, seed=3, **sampling))
    assert other.choices[0].message.content == alone

    if len(want) > 4:  # a stop sequence ends the reply before it
        stop = want[2:4]
        cut = ask(c, messages, seed=7, max_tokens=10, stop=[stop, "\u2603never"])
        assert cut.choices[0].message.content == want[: want.find(stop)] and cut.choices[0].finish_reason == "stop"


def test_bad_requests_get_openai_errors(server):
    c = client(server)
    cases = [
        (dict(messages=[]), "messages"),
        (dict(messages=[{"role": "user", "content": 5}]), "messages[0].content"),
        (dict(messages=[{"role": "robot", "content": "hi"}]), "messages[0].role"),
        (dict(messages=[{"role": "user", "content": "hi"}], temperature="hot"), "temperature"),
        (dict(messages=[{"role": "user", "content": "hi"}], max_tokens=10**6), "max_tokens"),
        (dict(messages=[{"role": "user", "content": "hi"}], n=2), "n"),
    ]
    for kwargs, param in cases:
        with pytest.raises(openai.BadRequestError) as err:
            c.chat.completions.create(model="twin", **kwargs)
        assert err.value.status_code == 400 and err.value.body["param"] == param, kwargs
        assert err.value.body["type"] == "invalid_request_error" and "Traceback" not in err.value.body["message"]
    with pytest.raises(openai.NotFoundError):
        c.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.AuthenticationError) as err:
        client(server, "wrong").models.list()
    assert err.value.status_code == 401 and err.value.body["code"] == "invalid_api_key"
    assert httpx.get(f"{server.url}/models", timeout=30).status_code == 401  # no key at all

    auth = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    with httpx.Client(base_url=server.url, headers=auth, timeout=30) as h:
        for body, status in [(b"{not json", 400), (b"[1, 2]", 400), (b"x" * 70_000, 413)]:
            r = h.post("/chat/completions", content=body)
            assert r.status_code == status and set(r.json()["error"]) == {"message", "type", "param", "code"}
        r = h.get("/nowhere")
        assert r.status_code == 404 and "error" in r.json()
        assert h.get(server.url.removesuffix("/v1") + "/health").json()["status"] == "ok"


def test_api_key_near_misses_are_refused(server):
    """Only the exact key passes: one character off, a prefix, a suffix, another case, inner whitespace, an
    empty key or another scheme are each a 401 (HTTP trims the header value's outer whitespace: clients
    refuse to send it)."""
    def status(header: str | None) -> int:
        headers = {} if header is None else {"Authorization": header}
        return httpx.get(f"{server.url}/models", headers=headers, timeout=30).status_code

    assert status(f"Bearer {KEY}") == 200 and status(f"bearer {KEY}") == 200
    misses = [KEY[:-1] + "4", "x" + KEY[1:], KEY[:-1], KEY[1:], KEY + "4", "0" + KEY, KEY.upper(),
              KEY.replace("-", " "), f" {KEY}", f"{KEY}\t4", f"{KEY} {KEY}"]
    for key in misses:
        assert status(f"Bearer {key}") == 401, repr(key)
    assert status(f"Basic {KEY}") == 401 and status(KEY) == 401 and status(f"Bearer{KEY}") == 401
    assert status("Bearer") == 401  # "Bearer " with no key: the trailing space never reaches the server
    assert status(None) == 401


def _body_of(size: int, **fields) -> bytes:
    """A valid request of exactly `size` bytes (the message padded with x)."""
    def body(text: str) -> bytes:
        return json.dumps({"model": "twin", "messages": [{"role": "user", "content": text}], **fields}).encode()
    return body("x" * (size - len(body(""))))


def test_body_size_cap_exactly_at_and_one_past(server):
    auth = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    cap = 65536  # serve.max_body_bytes in twin_files
    with httpx.Client(base_url=server.url, headers=auth, timeout=60) as h:
        for chunked in (False, True):  # with a Content-Length, and without one (chunked)
            for size, code in ((cap, 200), (cap + 1, 413)):
                body = _body_of(size, max_tokens=1)
                assert len(body) == size
                r = h.post("/chat/completions", content=iter([body]) if chunked else body)
                assert r.status_code == code, (size, chunked, r.text[:200])
                if code == 413:
                    assert r.json()["error"]["code"] == "request_too_large"


def test_max_tokens_cap_exactly_at_and_one_past(gated_server):
    """serve.max_tokens_cap (1000 here): a request for exactly the cap is taken, one past it is a 400 naming
    the parameter it came in (checked where the job is made, so nothing is decoded)."""
    from doppel.serve.protocol import APIError, parse_request

    _, engine, _, _, _ = gated_server
    for param in ("max_tokens", "max_completion_tokens"):
        job = engine.job(parse_request(_body_of(200, **{param: 1000})), lambda event: None)
        assert job.max_new <= 1000
        with pytest.raises(APIError) as err:
            engine.job(parse_request(_body_of(200, **{param: 1001})), lambda event: None)
        assert err.value.status == 400 and err.value.body()["error"]["param"] == param
        assert "at most 1000" in err.value.body()["error"]["message"]


def test_sixteen_concurrent_clients(server, chat_reply):
    expected = chat_reply("hi")

    def one(i: int):
        c = client(server)
        if i % 4 == 0:  # seeded ones run alone and must still be exactly chat's reply
            return ask(c, [{"role": "user", "content": "hi"}], seed=3, max_tokens=12)
        return ask(c, [{"role": "user", "content": f"number {i}, coffee?"}], max_tokens=8)

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        results = list(pool.map(one, range(16)))
    for i, r in enumerate(results):
        assert r.choices[0].finish_reason in ("stop", "length") and r.usage.completion_tokens <= 12
        if i % 4 == 0:
            assert r.choices[0].message.content == expected


class Gate:
    """The narrowest boundary: the engine's twin decodes only while `go` is set (each step waits for it), and
    counts the steps it let through. The client gives up while decoding provably still runs, on a machine of
    any speed; no reply can finish before the test says so."""

    def __init__(self, twin):
        self.go, self.steps, real = threading.Event(), 0, twin.decode_steps

        def decode_steps(*args, **kwargs):
            for ids in real(*args, **kwargs):
                self.go.wait()
                self.steps += 1
                yield ids
        twin.decode_steps = decode_steps


@pytest.fixture
def gated_server(twin_files):
    """The real app and engine in this process (uvicorn in a thread, a free loopback port), decode gated."""
    import uvicorn

    from doppel import config
    from doppel.model.load import load_twin
    from doppel.serve.app import Settings, create_app
    from doppel.serve.engine import Engine
    from doppel.serve.network import bind

    ck, ad, params = twin_files
    cfg = config.load("serve", params)
    twin = load_twin(params, ck, ad, "cpu", cfg.precision)
    gate = Gate(twin)
    engine = Engine(twin, cfg, F.SYSTEM, cfg.context_tokens)
    jobs: list = []
    submitted, submit = threading.Event(), engine.submit

    def record(job) -> None:
        jobs.append(job)
        submit(job)
        submitted.set()
    engine.submit = record
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(create_app(engine, Settings("twin", KEY, 65536, 0)),
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        time.sleep(0.01)  # start-up only: nothing is asserted on how long it takes
    port = sock.getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/v1", engine, gate, jobs, submitted
    finally:
        gate.go.set()
        server.should_exit = True
        thread.join(30)
        sock.close()


def _wait_idle(engine, gate, jobs) -> None:
    """Once the job is cancelled (the server saw the client leave), let decoding go and wait for the engine to
    be idle; SAFETY_S only turns a hang into a failure, it bounds no speed."""
    assert jobs[-1].cancelled.wait(SAFETY_S), "the server never noticed the client leaving"
    before = gate.steps
    gate.go.set()
    while engine.running or engine.waiting:
        assert gate.steps - before < 900, "the abandoned reply kept running"
        time.sleep(0.01)
    assert gate.steps - before <= 1  # dropped while waiting, or stopped at the very next token
    gate.go.clear()


SAFETY_S = 60


def test_client_leaving_mid_stream_frees_its_slot(gated_server):
    url, engine, gate, jobs, submitted = gated_server
    c = openai.OpenAI(base_url=url, api_key=KEY, max_retries=0, timeout=60)
    msg = [{"role": "user", "content": "tell me everything"}]
    stream = ask(c, msg, temperature=0, max_tokens=900, stream=True)
    first = next(iter(stream))  # the role chunk; no token has been decoded (the gate is shut)
    assert first.choices[0].delta.role == "assistant" and gate.steps == 0
    stream.close()
    _wait_idle(engine, gate, jobs)
    submitted.clear()

    # a plain request whose client gives up once the server has its job (decoding is held): it hangs up
    body = json.dumps({"model": "twin", "messages": msg, "temperature": 0, "max_tokens": 900}).encode()
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    with socket.create_connection(("127.0.0.1", port), timeout=SAFETY_S) as raw:
        raw.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    b"Authorization: Bearer " + KEY.encode() + b"\r\nContent-Type: application/json\r\n"
                    b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        assert submitted.wait(SAFETY_S) and len(jobs) == 2
    _wait_idle(engine, gate, jobs)
    assert len(jobs) == 2

    gate.go.set()  # the slot is free: the next request gets its full reply
    done = ask(c, [{"role": "user", "content": "hi"}], temperature=0, max_tokens=5)
    assert 0 < done.usage.completion_tokens <= 5


def test_bench_serve_prints_its_table(server, capsys):
    from doppel.bench import serve as bench

    code = bench.main(["--url", server.url, "--api-key", KEY, "--clients", "1,4", "--requests", "4",
                       "--max-tokens", "4", "--seconds", "600"])  # the most it allows: all 4 go on any machine
    out = capsys.readouterr().out
    assert code == 0, out
    rows = [line.split() for line in out.splitlines() if re.match(r"\s+\d+\s+\d+", line)]
    assert [r[0] for r in rows] == ["1", "4"] and all(r[1] == "4" and r[2] == "0" for r in rows)
    assert "p95 ms" in out


def test_second_server_on_a_busy_port_and_open_host_without_key(server, twin_files):
    ck, _, params = twin_files
    port = server.url.rsplit(":", 1)[1].split("/")[0]
    base = [sys.executable, "-m", "doppel.cli", "serve", "--base", str(ck), "--params", str(params)]
    busy = subprocess.run([*base, "--port", port], cwd=REPO, env=env(), capture_output=True, text=True, timeout=60)
    open_ = subprocess.run([*base, "--host", "0.0.0.0"], cwd=REPO, env={**env(), "DOPPEL_API_KEY": ""},
                           capture_output=True, text=True, timeout=60)
    for proc, words in ((busy, "already in use"), (open_, "API key")):
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith("doppel serve: error:"), proc.stderr
        assert words in lines[0]
    with socket.create_connection(("127.0.0.1", int(port)), timeout=5):
        pass  # the first server still listens


def test_stop_sequences_cut_across_pieces():
    from doppel.serve.engine import StopCut

    cut = StopCut(["END", "xyz"])
    out = [cut.push(p) for p in ["hello E", "N", "D and more"]]
    assert out == ["hello ", "", ""] and cut.stopped and cut.finish() == ""
    cut = StopCut(["END"])
    assert [cut.push("a E"), cut.push("Nd")] == ["a ", "ENd"] and cut.finish() == "" and not cut.stopped
    cut = StopCut(["END"])
    assert cut.push("tail EN") == "tail " and cut.finish() == "EN"  # a held prefix that never completed
    assert StopCut([]).push("as is") == "as is"


def test_serve_params_are_checked():
    from conftest import cfg
    from doppel.errors import InputError

    assert cfg("serve").host == "127.0.0.1"
    with pytest.raises(InputError, match=r"serve\.port"):
        cfg("serve", port=70000)
    with pytest.raises(InputError, match=r"serve\.max_new_tokens: must be at most max_tokens_cap"):
        cfg("serve", max_new_tokens=600, max_tokens_cap=512)
