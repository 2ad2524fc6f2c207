"""doppel serve's app and engine in this process (no subprocess, no socket): the real FastAPI app over the real
Engine and the tiny twin, driven by Starlette's TestClient. The key check with near misses, each cap exactly
at its limit and one past it, the response bodies field by field, and the queue's limits (decoding held on an
event, never on the clock)."""
from __future__ import annotations

import json
import threading

import pytest
from starlette.requests import Request
from starlette.testclient import TestClient

from support import twin as F
from doppel.serve import protocol as P

KEY = "k3y-Secret-0123456789"
CAP, BODY_CAP = 40, 2048
SAFETY_S = 60  # only turns a hang into a failure; bounds no speed


@pytest.fixture(scope="module")
def engine_of(tiny_twin, tmp_path_factory, one_thread):
    """A function making an Engine over the tiny twin (loaded once) with the test's serve section."""
    from doppel import config
    from doppel.model.load import load_twin
    from doppel.serve.engine import Engine

    ck, ad = tiny_twin
    params = F.write_params(tmp_path_factory.mktemp("app") / "params.yaml",
                            serve={"adapter": str(ad), "device": "cpu", "max_new_tokens": 5, "max_tokens_cap": CAP,
                                   "temperature": 0.7, "top_k": 0, "top_p": 0.9, "max_queue": 1, "max_batch": 2,
                                   "max_body_bytes": BODY_CAP, "context_tokens": 60})
    cfg = config.load("serve", params)
    twin = load_twin(params, ck, ad, "cpu", cfg.precision)
    engines = []

    def make():
        engines.append(Engine(twin, cfg, F.SYSTEM, cfg.context_tokens))
        return engines[-1], cfg
    yield make
    for engine in engines:
        engine.close()


@pytest.fixture
def served(engine_of):
    """(client, engine, cfg): the app built in each test (mutmut credits create_app's routes to the test that
    built it), over its own engine; the app's lifespan is left to test_shutdown_closes_the_engine."""
    from doppel.serve.app import Settings, create_app

    engine, cfg = engine_of()
    client = TestClient(create_app(engine, Settings("twin", KEY, BODY_CAP, 1234)), raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {KEY}"
    return client, engine, cfg


def test_shutdown_closes_the_engine(engine_of):
    from doppel.serve.app import Settings, create_app

    engine, _ = engine_of()
    with TestClient(create_app(engine, Settings("twin", None, BODY_CAP, 0))) as client:
        assert client.get("/v1/models").status_code == 200  # no key set: open
    with pytest.raises(P.APIError) as err:
        engine.submit(engine.job(P.parse_request(json.dumps(body()).encode()), print))
    assert (err.value.status, err.value.kind, err.value.message) == (503, "server_error", "The server is shutting down.")


def body(**fields) -> dict:
    return {"model": "twin", "messages": [{"role": "user", "content": "привет"}], "seed": 5, **fields}


def check_key(header: bytes | None, key: str | None = KEY) -> int:
    """The status `_check_key` gives a request with this raw Authorization header (200: let through)."""
    from doppel.serve.app import Settings, _check_key

    headers = [] if header is None else [(b"authorization", header)]
    try:
        _check_key(Request({"type": "http", "headers": headers}), Settings("twin", key, BODY_CAP, 0))
    except P.APIError as err:
        assert err.code == "invalid_api_key" and err.kind == "invalid_request_error"
        return err.status
    return 200


def test_api_key_exactly_and_its_near_misses():
    assert check_key(f"Bearer {KEY}".encode()) == 200 and check_key(f"bEaReR {KEY}".encode()) == 200
    misses = [KEY[:-1] + "8", "K" + KEY[1:], KEY[:-1], KEY[1:], KEY + "9", "x" + KEY, KEY.upper(), KEY.lower(),
              f" {KEY}", f"{KEY} ", f"{KEY}\t", f"{KEY}\n", f"{KEY} {KEY}", KEY.replace("-", " ", 1), "", " "]
    for key in misses:
        assert check_key(f"Bearer {key}".encode()) == 401, repr(key)
    for header in (f"Basic {KEY}", KEY, f"Bearer{KEY}", f"Token {KEY}", "Bearer", "", f"Bearer  {KEY}"):
        assert check_key(header.encode()) == 401, header
    assert check_key(None) == 401
    assert check_key(None, key=None) == 200 and check_key(b"Bearer wrong", key=None) == 200  # no key set: open


def test_key_messages_tell_missing_from_wrong(served):
    client, _, _ = served
    r = client.get("/v1/models", headers={"Authorization": ""})
    assert r.status_code == 401 and r.json() == {"error": {
        "message": "You didn't provide an API key: send it as `Authorization: Bearer KEY`.",
        "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}}
    r = client.get("/v1/models", headers={"Authorization": f"Bearer {KEY}x"})
    assert r.status_code == 401 and r.json()["error"]["message"] == "Incorrect API key provided."
    for path in ("/v1/models/twin", "/v1/chat/completions"):
        r = client.request("GET" if "models" in path else "POST", path, headers={"Authorization": "Bearer no"})
        assert r.status_code == 401, path
    assert client.get("/health", headers={"Authorization": ""}).status_code == 200  # health needs no key


def test_health_and_models(served):
    client, _, _ = served
    assert client.get("/health").json() == {"status": "ok", "model": "twin", "waiting": 0, "running": 0}
    assert client.get("/v1/models").json() == {
        "object": "list", "data": [{"id": "twin", "object": "model", "created": 1234, "owned_by": "doppel"}]}
    assert client.get("/v1/models/twin").json() == {"id": "twin", "object": "model", "created": 1234,
                                                    "owned_by": "doppel"}
    r = client.get("/v1/models/twin2")
    assert r.status_code == 404 and r.json()["error"] == {
        "message": "The model 'twin2' does not exist; this server has 'twin'.", "type": "invalid_request_error",
        "param": None, "code": "model_not_found"}
    r = client.post("/v1/chat/completions", json=body(model="Twin"))
    assert r.status_code == 404 and r.json()["error"]["param"] == "model"
    assert r.json()["error"]["code"] == "model_not_found"


def test_unknown_url_wrong_method_and_bad_json(served):
    client, _, _ = served
    r = client.get("/nowhere")
    assert r.status_code == 404 and r.json()["error"] == {"message": "Unknown request URL: GET /nowhere.",
                                                          "type": "invalid_request_error", "param": None,
                                                          "code": None}
    assert client.get("/openapi.json").status_code == 404 and client.get("/docs").status_code == 404
    r = client.get("/v1/chat/completions")
    assert r.status_code == 405 and r.json()["error"]["message"] == "Method Not Allowed"
    assert r.headers["allow"] == "POST"
    r = client.post("/v1/chat/completions", content=b"{nope")
    assert r.status_code == 400 and r.json()["error"]["message"].startswith("We could not parse the JSON body")


def test_a_completion_field_by_field(served):
    client, engine, _ = served
    r = client.post("/v1/chat/completions", json=body(max_tokens=3))
    assert r.status_code == 200
    out = r.json()
    assert out["id"].startswith("chatcmpl-") and out["object"] == "chat.completion" and out["model"] == "twin"
    assert isinstance(out["created"], int)
    (choice,) = out["choices"]
    assert choice["index"] == 0 and choice["message"]["role"] == "assistant" and choice["logprobs"] is None
    usage = out["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["prompt_tokens"] == len(engine.job(P.parse_request(json.dumps(body()).encode()), print).ids)
    if choice["finish_reason"] == "length":
        assert usage["completion_tokens"] == 3
    else:
        assert choice["finish_reason"] == "stop" and usage["completion_tokens"] <= 3
    again = client.post("/v1/chat/completions", json=body(max_tokens=3)).json()  # the same seed: the same reply
    assert again["choices"][0]["message"]["content"] == choice["message"]["content"] and again["id"] != out["id"]


def events(r) -> list:
    lines = [line for line in r.text.split("\n\n") if line]
    assert all(line.startswith("data: ") for line in lines) and lines[-1] == "data: [DONE]"
    return [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]


def test_a_stream_equals_the_completion(served):
    client, _, _ = served
    whole = client.post("/v1/chat/completions", json=body(max_tokens=6)).json()
    r = client.post("/v1/chat/completions", json=body(max_tokens=6, stream=True))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["cache-control"] == "no-cache" and r.headers["x-accel-buffering"] == "no"
    chunks = events(r)
    assert chunks[0]["choices"] == [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                     "finish_reason": None, "logprobs": None}]
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == "twin" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1 and all(c["usage"] is None for c in chunks)
    assert chunks[-1]["choices"][0]["delta"] == {}
    assert chunks[-1]["choices"][0]["finish_reason"] == whole["choices"][0]["finish_reason"]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == whole["choices"][0]["message"]["content"]
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])

    with_usage = events(client.post("/v1/chat/completions",
                                    json=body(max_tokens=6, stream=True, stream_options={"include_usage": True})))
    assert with_usage[-1]["choices"] == [] and with_usage[-1]["usage"] == whole["usage"]
    assert with_usage[:-1] == [{**c, "id": with_usage[0]["id"], "created": with_usage[0]["created"]}
                               for c in chunks]
    no_usage = events(client.post("/v1/chat/completions",
                                  json=body(max_tokens=6, stream=True, stream_options={"include_usage": False})))
    assert len(no_usage) == len(chunks) and no_usage[-1]["choices"]


def sized(size: int) -> bytes:
    def raw(text: str) -> bytes:
        return json.dumps(body(max_tokens=1, messages=[{"role": "user", "content": text}])).encode()
    return raw("x" * (size - len(raw(""))))


def test_body_cap_exactly_at_and_one_past(served):
    client, _, _ = served
    for chunked in (False, True):
        for size, status in ((BODY_CAP, 200), (BODY_CAP + 1, 413)):
            raw = sized(size)
            assert len(raw) == size
            r = client.post("/v1/chat/completions", content=iter([raw[:100], raw[100:]]) if chunked else raw)
            assert r.status_code == status, (size, chunked)
            if status == 413:
                assert r.json()["error"] == {
                    "message": f"The request body is too large: this server takes at most {BODY_CAP} bytes.",
                    "type": "invalid_request_error", "param": None, "code": "request_too_large"}
    small = sized(100)  # a Content-Length that claims more than the cap is refused before reading
    r = client.post("/v1/chat/completions", content=small, headers={"Content-Length": str(BODY_CAP + 1)})
    assert r.status_code == 413


def test_max_tokens_cap_exactly_at_and_one_past(served):
    _, engine, cfg = served
    for param in ("max_tokens", "max_completion_tokens"):
        job = engine.job(P.parse_request(json.dumps(body(**{param: CAP})).encode()), print)
        assert job.max_new == CAP
        with pytest.raises(P.APIError) as err:
            engine.job(P.parse_request(json.dumps(body(**{param: CAP + 1})).encode()), print)
        assert err.value.status == 400 and err.value.param == param
        assert err.value.message == (f"{param} is too large: {CAP + 1}. This server allows at most {CAP} "
                                     "completion tokens.")


def test_a_job_takes_the_request_settings_else_the_configured_ones(served):
    _, engine, cfg = served
    job = engine.job(P.parse_request(json.dumps(body(seed=None)).encode()), print)
    assert (job.max_new, job.temperature, job.top_k, job.top_p, job.seed, job.stops) == (5, 0.7, None, 0.9, None, [])
    assert job.batch_key() == (0.7, None, 0.9)
    job = engine.job(P.parse_request(json.dumps(body(temperature=0, top_p=0.5, stop=["a", "b"])).encode()), print)
    assert (job.temperature, job.top_p, job.seed, job.stops) == (0.0, 0.5, 5, ["a", "b"])
    assert job.batch_key() is None and type(job.temperature) is float
    engine.cfg = cfg.model_copy(update={"top_k": 7})
    try:
        assert engine.job(P.parse_request(json.dumps(body()).encode()), print).top_k == 7
    finally:
        engine.cfg = cfg
    assert engine._thread.name == "doppel-serve-engine" and engine._thread.daemon
    assert not job.cancelled.is_set()
    job.cancel()
    assert job.cancelled.is_set()


def test_roles_make_the_system_line_and_the_turns(served):
    _, engine, _ = served
    req = P.parse_request(json.dumps({"model": "twin", "messages": [
        {"role": "system", "content": "S1"}, {"role": "user", "content": "u1"},
        {"role": "developer", "content": "S2"}, {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "u2"}]}).encode())
    assert engine.conversation(req) == ("S1\nS2", [(False, "u1"), (True, "a1"), (False, "u2")])
    req = P.parse_request(json.dumps(body()).encode())
    assert engine.conversation(req) == (F.SYSTEM, [(False, "привет")])


class Held:
    """The twin's decoding held at its first step until `go` is set (the engine thread waits on it)."""

    def __init__(self, twin):
        self.twin, self.real, self.go, self.started = twin, twin.decode_steps, threading.Event(), threading.Event()
        self.batches: list[tuple[int, int]] = []  # (rows, max new tokens) of each batch decoded

    def __enter__(self):
        def decode_steps(*args, **kwargs):
            self.batches.append((len(args[0]), args[1]))
            for step in self.real(*args, **kwargs):
                self.started.set()
                assert self.go.wait(SAFETY_S)
                yield step
        self.twin.decode_steps = decode_steps
        return self

    def __exit__(self, *exc):
        self.go.set()
        del self.twin.decode_steps


def test_the_queue_is_bounded_and_a_cancelled_job_is_dropped(served):
    _, engine, _ = served
    got: dict[str, list] = {"a": [], "b": [], "c": []}
    ended = {k: threading.Event() for k in got}

    def emit(name):
        def f(event):
            got[name].append(event)
            if event[0] in ("end", "error"):
                ended[name].set()
        return f

    def job(name, **fields):
        return engine.job(P.parse_request(json.dumps(body(max_tokens=2, **fields)).encode()), emit(name))

    with Held(engine.twin) as held:
        a = job("a")
        engine.submit(a)
        assert held.started.wait(SAFETY_S)
        assert engine.running == 1 and engine.waiting == 0
        b = job("b")
        engine.submit(b)
        assert engine.waiting == 1
        with pytest.raises(P.APIError) as err:
            engine.submit(job("c"))
        assert (err.value.status, err.value.code, err.value.kind) == (503, "queue_full", "server_error")
        assert err.value.message == "The server is busy (1 requests waiting); retry shortly."
        b.cancel()
        held.go.set()
        assert ended["a"].wait(SAFETY_S)
    assert got["a"][-1][0] == "end" and got["a"][-1][3] <= 2
    for _ in range(SAFETY_S * 100):  # the worker drops the cancelled b when it looks for the next job
        if not engine.waiting:
            break
        threading.Event().wait(0.01)
    assert engine.waiting == 0
    c = job("c")
    engine.submit(c)  # b was dropped unanswered: c is decoded next
    assert ended["c"].wait(SAFETY_S)
    assert got["b"] == [] and got["c"][-1][0] == "end"


def test_unseeded_jobs_with_equal_settings_share_a_batch(served):
    _, engine, cfg = served
    ended = [threading.Event() for _ in range(5)]

    def job(i, **fields):
        return engine.job(P.parse_request(json.dumps(body(**{"seed": None, "max_tokens": i + 1, **fields})).encode()),
                          lambda e, i=i: e[0] in ("end", "error") and ended[i].set())
    engine.cfg = cfg.model_copy(update={"max_queue": 4})
    try:
        with Held(engine.twin) as held:
            engine.submit(job(0))
            assert held.started.wait(SAFETY_S)
            for j in (job(1), job(2, temperature=0.1), job(3), job(4)):  # 2: other settings, its own batch
                engine.submit(j)
            held.go.set()
            assert all(e.wait(SAFETY_S) for e in ended)
    finally:
        engine.cfg = cfg
    # max_batch 2: jobs 1 and 3 share a batch, 4 (same settings) waits for the next one
    assert held.batches == [(1, 1), (2, 4), (1, 3), (1, 5)]



def test_a_crash_while_decoding_is_a_500_and_a_stream_error_event(served, capsys):
    client, engine, _ = served

    def broken(*args, **kwargs):
        raise RuntimeError("boom")
        yield  # a generator, as decode_steps is
    engine.twin.decode_steps = broken
    try:
        r = client.post("/v1/chat/completions", json=body(max_tokens=2))
        assert r.status_code == 500 and r.json() == {"error": {
            "message": "The server had an error while generating the reply.", "type": "server_error", "param": None,
            "code": None}}
        r = client.post("/v1/chat/completions", json=body(max_tokens=2, stream=True))
        lines = [line for line in r.text.split("\n\n") if line]
        assert lines[-1] == "data: [DONE]" and json.loads(lines[-2].removeprefix("data: ")) == {"error": {
            "message": "The server had an error while generating the reply.", "type": "server_error", "param": None,
            "code": None}}
        assert json.loads(lines[0].removeprefix("data: "))["choices"][0]["delta"] == {"role": "assistant",
                                                                                      "content": ""}
        assert len(lines) == 3
    finally:
        del engine.twin.decode_steps
    assert "RuntimeError: boom" in capsys.readouterr().err  # the traceback is the server's log, not the reply


def scripted(engine, text: str):
    """decode_steps that writes `text` (its tokens, one a step) whatever the prompt: the reply's end is the
    engine's doing (turn marker, stop sequence, token cap), not the model's."""
    ids = engine.twin.tokenizer.encode(text, bos=False).tolist()

    def decode_steps(prompts, max_new, *args):
        for token in ids[:max_new]:
            yield [token] * len(prompts)
    return decode_steps


def test_a_turn_marker_or_a_stop_sequence_ends_the_reply_with_stop(served):
    client, engine, _ = served
    engine.twin.decode_steps = scripted(engine, "yes sure\nThem: and then more")
    try:
        out = client.post("/v1/chat/completions", json=body(max_tokens=30)).json()
        assert out["choices"][0]["message"]["content"] == "yes sure" and out["choices"][0]["finish_reason"] == "stop"
        out = client.post("/v1/chat/completions", json=body(max_tokens=30, stop=["ure"])).json()
        assert out["choices"][0]["message"]["content"] == "yes s" and out["choices"][0]["finish_reason"] == "stop"
    finally:
        del engine.twin.decode_steps


def test_a_key_with_a_space_is_taken_exactly():
    from doppel.serve.app import Settings, _check_key

    req = Request({"type": "http", "headers": [(b"authorization", b"Bearer two words")]})
    _check_key(req, Settings("twin", "two words", BODY_CAP, 0))  # exactly the key, spaces and all


def test_the_system_line_reaches_the_prompt(served):
    _, engine, _ = served

    def ids(system: str) -> list[int]:
        raw = json.dumps(body(messages=[{"role": "system", "content": system}, {"role": "user", "content": "hi"}]))
        return engine.job(P.parse_request(raw.encode()), print).ids
    assert ids("first system line") != ids("another system line")
    assert engine.twin.tokenizer.decode(__import__("torch").tensor(ids("first system line"))).find(
        "first system line") >= 0
