"""serve's memory: a request names its chat in `user`; under scope chat a fact said in chat A never reaches a
prompt for chat B (nor for a `user` that is almost A's id); under scope all every request recalls every chat."""
from __future__ import annotations

import json

import pytest

from conftest import cfg
from doppel.memory.recall import chat_of
from doppel.memory.store import Memory
from doppel.serve.engine import Engine
from doppel.serve.protocol import APIError, parse_request
from memory.test_store import A, B, table

FACT = "my cat bublik ate my sock"
OTHER = "i drive an old skoda"
QUESTION = "what's your cat called again?"


@pytest.fixture(scope="module")
def twin(tiny_twin):
    from doppel.model.load import load

    ck, ad = tiny_twin
    return load(ck, ad, device="cpu")


def prompts(twin, scope: str, users: list) -> list[str]:
    """The prompt each request gets (the engine's own _prompt, recorded) for these `user` values."""
    memory = Memory(table([(A, 10, "", FACT), (B, 20, "", OTHER)]))
    serve = cfg("serve", device="cpu", threads=1)
    engine = Engine(twin, serve, "SYS", 300, memory, cfg("memory", scope=scope, k=4, tokens=96))
    seen: list[str] = []
    real = engine._prompt
    engine._prompt = lambda *a: seen.append(real(*a)) or seen[-1]
    try:
        for user in users:
            body = {"model": "twin", "messages": [{"role": "user", "content": QUESTION}]}
            engine.job(parse_request(json.dumps(body if user is None else {**body, "user": user}).encode()),
                       lambda e: None)
    finally:
        engine.close()
    return seen


def test_scope_chat_recalls_only_from_the_chat_the_request_names(twin):
    near_misses = [str(B), "0" + str(A), f" {A}", f"{A} ", f"+{A}", f"-{A}", f"{A}.0", f"chat{A}", "", None]
    got = prompts(twin, "chat", [str(A), *near_misses])
    assert "Things Me said before:\n- Me: " + FACT in got[0] and got[0].startswith("SYS\nThings Me said before:")
    for user, prompt in zip(near_misses, got[1:]):
        assert "bublik" not in prompt and "Things Me said" not in prompt, user


def test_scope_all_recalls_every_chat_for_every_request(twin):
    for prompt in prompts(twin, "all", [None, str(B), "someone"]):
        assert "- Me: " + FACT in prompt and "skoda" not in prompt   # what matches the question, from any chat


def test_chat_of_takes_only_a_plain_chat_id():
    assert (chat_of("4242"), chat_of("-1001234"), chat_of("9" * 19)) == (4242, -1001234, int("9" * 19))
    for bad in ("04242", "4242 ", " 4242", "+4242", "4242.0", "42a", "", "-", "9" * 20, None, 4242):
        assert chat_of(bad) is None, bad


def test_a_user_that_is_not_a_string_is_refused_naming_it():
    with pytest.raises(APIError, match="'user'") as err:
        parse_request(json.dumps({"model": "twin", "messages": [{"role": "user", "content": "hi"}],
                                  "user": 4242}).encode())
    assert err.value.status == 400
