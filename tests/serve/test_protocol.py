"""doppel.serve.protocol on its own (no server): each refusal's exact status, message and param; each cap
exactly at its limit and one past it; the response shapes as OpenAI's clients read them."""
from __future__ import annotations

import json

import pytest

from doppel.serve import protocol as P


def body(**fields) -> bytes:
    return json.dumps({"model": "twin", "messages": [{"role": "user", "content": "hi"}], **fields}).encode()


def refusal(raw: bytes) -> dict:
    with pytest.raises(P.APIError) as err:
        P.parse_request(raw)
    assert err.value.status == 400 and err.value.kind == "invalid_request_error" and err.value.code is None
    return err.value.body()["error"]


def test_a_plain_request_and_its_defaults():
    req = P.parse_request(body())
    assert (req.model, req.temperature, req.top_p, req.max_tokens, req.max_completion_tokens) == \
        ("twin", None, None, None, None)
    assert (req.stop, req.seed, req.n, req.stream, req.stream_options, req.logprobs, req.tools) == \
        (None, None, None, False, None, None, None)
    assert req.new_tokens() is None and req.new_tokens_param() == "max_tokens"
    assert [(m.role, m.text, m.name) for m in req.messages] == [("user", "hi", None)]


def test_every_role_and_content_as_text_parts():
    msgs = [{"role": r, "content": r} for r in ("system", "developer", "user", "assistant")]
    msgs.append({"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
                 "name": "x", "user_field": 1})
    req = P.parse_request(json.dumps({"model": "twin", "messages": msgs, "user": "u", "presence_penalty": 1}).encode())
    assert [m.text for m in req.messages] == ["system", "developer", "user", "assistant", "ab"]
    assert req.messages[-1].name == "x"
    assert P.ROLES == ("system", "developer", "user", "assistant")


def test_new_tokens_prefers_the_current_name():
    assert P.parse_request(body(max_tokens=7)).new_tokens() == 7
    req = P.parse_request(body(max_tokens=7, max_completion_tokens=9))
    assert req.new_tokens() == 9 and req.new_tokens_param() == "max_completion_tokens"
    req = P.parse_request(body(max_completion_tokens=1))
    assert req.new_tokens() == 1 and req.new_tokens_param() == "max_completion_tokens"


@pytest.mark.parametrize("field, ok, bad", [
    ("temperature", [0.0, 2.0], [-0.01, 2.01]), ("top_p", [0.0, 1.0], [-0.01, 1.01]),
    ("max_tokens", [1], [0]), ("max_completion_tokens", [1], [0]),
])
def test_number_bounds_exactly_at_and_one_past(field, ok, bad):
    for value in ok:
        assert getattr(P.parse_request(body(**{field: value})), field) == value
    for value in bad:
        err = refusal(body(**{field: value}))
        assert err["param"] == field and err["message"].startswith(f"Invalid value for '{field}': ")
        assert err["message"].endswith(f"(got {value!r}).")


def test_stop_sequences_up_to_the_cap():
    assert P.MAX_STOPS == 4
    assert P.parse_request(body(stop="x")).stop == ["x"]
    assert P.parse_request(body(stop=["a", "b", "c", "d"])).stop == ["a", "b", "c", "d"]
    assert P.parse_request(body(stop=None)).stop == []
    err = refusal(body(stop=["a", "b", "c", "d", "e"]))
    assert err["message"] == "Invalid value for 'stop': at most 4 stop sequences (got ['a', 'b', 'c', 'd', 'e'])."
    assert err["param"] == "stop"
    assert refusal(body(stop=["a", ""]))["message"] == \
        "Invalid value for 'stop': a stop sequence must not be empty (got ['a', ''])."
    assert refusal(body(stop=""))["message"] == "Invalid value for 'stop': a stop sequence must not be empty (got '')."
    assert refusal(body(stop=5))["message"] == \
        "Invalid value for 'stop': expected a string or a list of strings (got 5)."


def test_what_the_twin_cannot_honour_is_refused():
    assert P.parse_request(body(n=1)).n == 1 and P.parse_request(body(n=None)).n is None
    assert refusal(body(n=2))["message"] == "Invalid value for 'n': only n=1 is supported (got 2)."
    assert refusal(body(n=0))["param"] == "n"
    assert P.parse_request(body(logprobs=False)).logprobs is False
    assert refusal(body(logprobs=True))["message"] == "Invalid value for 'logprobs': logprobs are not supported (got True)."
    assert P.parse_request(body(tools=[])).tools == []
    assert refusal(body(tools=[{"x": 1}]))["message"] == \
        "Invalid value for 'tools': tools are not supported (got [{'x': 1}])."


def test_errors_name_the_field_and_what_was_sent():
    assert refusal(b"{not json") == {"message": "We could not parse the JSON body of your request: it is not valid "
                                                "JSON.", "type": "invalid_request_error", "param": None, "code": None}
    assert refusal(b"[1, 2]")["message"] == "The request body must be a JSON object."
    assert refusal(b"[1, 2]")["param"] is None
    assert refusal(b"{}") == {"message": "Missing required parameter: 'model'.", "type": "invalid_request_error",
                              "param": "model", "code": None}
    assert refusal(json.dumps({"model": "twin"}).encode())["param"] == "messages"
    assert refusal(body(model=""))["param"] == "model"
    assert refusal(json.dumps({"model": "twin", "messages": []}).encode())["param"] == "messages"
    raw = json.dumps({"model": "twin", "messages": [{"role": "user", "content": "a"}, {"role": "bot", "content": "x"}]})
    assert refusal(raw.encode()) == {
        "message": "Invalid value for 'messages[1].role': Input should be 'system', 'developer', 'user' or "
                   "'assistant' (got 'bot').", "type": "invalid_request_error", "param": "messages[1].role",
        "code": None}
    for content in (5, [{"type": "text"}], [{"type": "image", "text": "x"}]):
        err = refusal(json.dumps({"model": "twin", "messages": [{"role": "user", "content": content}]}).encode())
        assert err["param"] == "messages[0].content"
        assert err["message"] == ("Invalid value for 'messages[0].content': expected a string or a list of text "
                                  f'parts ({{"type": "text", "text": ...}}) (got {content!r}).')
    err = refusal(json.dumps({"model": "twin", "messages": [{"role": "user"}]}).encode())
    assert err["message"] == "Missing required parameter: 'messages[0].content'."
    assert refusal(body(temperature="1"))["message"] == \
        "Invalid value for 'temperature': Input should be a valid number (got '1')."  # strict: no coercion
    assert refusal(body(stream="yes"))["param"] == "stream"
    assert refusal(body(stream_options={"include_usage": 1}))["param"] == "stream_options.include_usage"
    assert refusal(body(seed=1.5))["param"] == "seed"


def test_what_was_sent_is_shortened_past_60_characters():
    assert P._short("x" * 58) == repr("x" * 58)  # 60 characters with its quotes
    assert P._short("x" * 59) == repr("x" * 59)[:57] + "..."
    assert len(P._short("x" * 59)) == 60
    err = refusal(body(model=5))
    assert err["message"] == "Invalid value for 'model': Input should be a valid string (got 5)."


def test_response_shapes_and_server_sent_events(monkeypatch):
    assert P.usage(3, 4).model_dump() == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
    chunk = P.ChatCompletionChunk(id="c", created=1, model="m", choices=[P.ChunkChoice(delta=P.Delta(content="x"))])
    assert json.loads(P.sse(chunk).decode().removeprefix("data: ")) == {
        "id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
        "choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": None, "logprobs": None}], "usage": None}
    assert P.sse(chunk).endswith(b"\n\n") and P.sse(chunk).startswith(b"data: {")
    assert P.Delta(role="assistant", content="").model_dump() == {"role": "assistant", "content": ""}
    assert P.Delta().model_dump() == {}
    assert P.sse("[DONE]") == b"data: [DONE]\n\n"
    assert P.sse({"a": "ё"}) == 'data: {"a": "ё"}\n\n'.encode()
    done = P.ChatCompletion(id="c", created=2, model="m", usage=P.usage(1, 2),
                            choices=[P.Choice(message=P.ReplyMessage(content="hi"), finish_reason="length")])
    assert done.model_dump() == {
        "id": "c", "object": "chat.completion", "created": 2, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "length",
                     "logprobs": None}], "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}}
    assert P.ModelList(data=[P.ModelCard(id="m", created=5)]).model_dump() == {
        "object": "list", "data": [{"id": "m", "object": "model", "created": 5, "owned_by": "doppel"}]}
    assert P.APIError(503, "busy", kind="server_error", code="queue_full").body() == {
        "error": {"message": "busy", "type": "server_error", "param": None, "code": "queue_full"}}
    err = P.APIError(400, "m", param="p")
    assert (err.status, err.message, err.param, err.code, err.kind, str(err)) == \
        (400, "m", "p", None, "invalid_request_error", "m")
    cid = P.completion_id()
    assert cid.startswith("chatcmpl-") and len(cid) == 33 and cid != P.completion_id()
    monkeypatch.setattr(P.time, "time", lambda: 1_700_000_123.9)  # the clock is the test's: whole seconds, floored
    assert P.now() == 1_700_000_123 and isinstance(P.now(), int)
