"""The bot's memory: in-process the twin recalls from the chat it answers (scope chat); through an endpoint the
chat goes in the request's `user` field, where `doppel serve` reads it (tests/serve/test_engine_memory.py)."""
from __future__ import annotations

import json

import httpx
import openai
import pytest

from conftest import cfg
from doppel.bot.backend import EndpointBackend, TwinBackend
from doppel.memory.store import Memory
from memory.test_store import A, B, table
from support import twin as F

FACT = "my cat bublik ate my sock"
TURNS = [(False, "hey"), (True, "hi"), (False, "what's your cat called again?")]


class Spy:
    """The real twin; the prompts it is asked to continue are recorded."""

    def __init__(self, twin):
        self.twin, self.prompts = twin, []

    def __getattr__(self, name):
        return getattr(self.twin, name)

    def stream(self, prompt, sampling):
        self.prompts.append(prompt)
        return self.twin.stream(prompt, sampling)


@pytest.fixture(scope="module")
def twin(tiny_twin):
    from doppel.model.load import load

    ck, ad = tiny_twin
    return load(ck, ad, device="cpu")


@pytest.mark.parametrize("scope, chat, recalled", [("chat", A, True), ("chat", B, False), ("chat", A + 1, False),
                                                   ("chat", None, False), ("all", B, True), ("all", None, True)])
def test_the_in_process_twin_recalls_from_the_chat_it_answers(twin, scope, chat, recalled):
    spy = Spy(twin)
    memory = Memory(table([(A, 10, "", FACT), (B, 20, "", "i drive an old skoda")]))
    backend = TwinBackend(spy, F.SYSTEM, F.sampling(max_new_tokens=4), 300, memory, cfg("memory", scope=scope))
    backend.reply(TURNS, chat)
    (prompt,) = spy.prompts
    assert (f"{F.SYSTEM}\nThings Me said before:\n- Me: {FACT}\nThem: hey" in prompt) is recalled
    assert "bublik" in prompt if recalled else "bublik" not in prompt


def test_no_memory_is_the_prompt_of_doppel_chat(twin):
    spy = Spy(twin)
    TwinBackend(spy, F.SYSTEM, F.sampling(max_new_tokens=4), 300).reply(TURNS, A)
    assert spy.prompts == [f"{F.SYSTEM}\nThem: hey\nMe: hi\nThem: what's your cat called again?\nMe:"]


def test_the_endpoint_is_told_the_chat_in_user():
    """The HTTP transport is the one fake (no server): the request body the endpoint would get is checked."""
    bodies = []

    def handle(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json={"id": "x", "object": "chat.completion", "created": 0, "model": "twin",
                                         "choices": [{"index": 0, "finish_reason": "stop",
                                                      "message": {"role": "assistant", "content": "bublik"}}]})

    api = EndpointBackend("http://127.0.0.1:9/v1", "twin", F.SYSTEM, F.sampling(), api_key="k")
    api.client = openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="k",
                               http_client=httpx.Client(transport=httpx.MockTransport(handle)))
    assert api.reply(TURNS, -1001234) == "bublik"
    assert api.reply(TURNS) == "bublik"
    assert bodies[0]["user"] == "-1001234" and "user" not in bodies[1]
