"""The wire format: OpenAI's chat-completions request and response shapes, as pydantic models.

Requests are checked strictly (a string where a number belongs is refused, not coerced); fields the twin has
no use for (`presence_penalty`, ...) are accepted and ignored (`user`, a string, names the chat for the memory:
doppel.serve.engine), fields it cannot honour (`n` > 1,
`logprobs`, `tools`) are refused. Every refusal is an `APIError`, sent as OpenAI's error object:

    {"error": {"message": "...", "type": "invalid_request_error", "param": "max_tokens", "code": null}}
"""
from __future__ import annotations

import time
import uuid
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ROLES = ("system", "developer", "user", "assistant")
_TYPE_TAGS = {"str", "int", "float", "bool", "list", "dict", "none"}  # pydantic's names of union members in `loc`
_UNIONS = {"content": 'a string or a list of text parts ({"type": "text", "text": ...})',
           "stop": "a string or a list of strings"}
MAX_STOPS = 4


class APIError(Exception):
    """A request the server refuses: HTTP status plus OpenAI's error fields."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None,
                 kind: str = "invalid_request_error"):
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.kind = status, message, param, code, kind

    def body(self) -> dict[str, Any]:
        return ErrorResponse(error=ErrorBody(message=self.message, type=self.kind, param=self.param,
                                             code=self.code)).model_dump()


# ------------------------------------------------------------------------------------------- requests

class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)


class TextPart(_In):
    type: Literal["text"]
    text: str


class Message(_In):
    role: Literal[ROLES]  # type: ignore[valid-type]
    content: str | list[TextPart]
    name: Optional[str] = None

    @property
    def text(self) -> str:
        return self.content if isinstance(self.content, str) else "".join(p.text for p in self.content)


class StreamOptions(_In):
    include_usage: bool = False


class ChatRequest(_In):
    model: str = Field(min_length=1)
    messages: list[Message] = Field(min_length=1)
    temperature: Optional[float] = Field(None, ge=0, le=2)
    top_p: Optional[float] = Field(None, ge=0, le=1)
    max_tokens: Optional[int] = Field(None, ge=1)
    max_completion_tokens: Optional[int] = Field(None, ge=1)
    stop: Optional[str | list[str]] = None
    seed: Optional[int] = None
    n: Optional[int] = None
    stream: Optional[bool] = False
    stream_options: Optional[StreamOptions] = None
    logprobs: Optional[bool] = None
    tools: Optional[list[Any]] = None
    user: Optional[str] = None   # the chat id, for the memory under memory.scope chat (doppel.memory.recall.chat_of)

    @field_validator("stop")
    @classmethod
    def _stops(cls, value):
        stops = [value] if isinstance(value, str) else list(value or [])
        if len(stops) > MAX_STOPS:
            raise ValueError(f"at most {MAX_STOPS} stop sequences")
        if any(not s for s in stops):
            raise ValueError("a stop sequence must not be empty")
        return stops

    @field_validator("n")
    @classmethod
    def _one_choice(cls, value):
        if value not in (None, 1):
            raise ValueError("only n=1 is supported")
        return value

    @field_validator("logprobs")
    @classmethod
    def _no_logprobs(cls, value):
        if value:
            raise ValueError("logprobs are not supported")
        return value

    @field_validator("tools")
    @classmethod
    def _no_tools(cls, value):
        if value:
            raise ValueError("tools are not supported")
        return value

    def new_tokens(self) -> int | None:
        """`max_completion_tokens` (the current name) or `max_tokens` (the old one), if either is set."""
        return self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens

    def new_tokens_param(self) -> str:
        return "max_completion_tokens" if self.max_completion_tokens is not None else "max_tokens"


def parse_request(body: bytes) -> ChatRequest:
    """The request from raw JSON bytes, or an APIError (400) naming the first bad field."""
    try:
        return ChatRequest.model_validate_json(body)
    except ValidationError as err:
        e = err.errors()[0]
        if e["type"] == "json_invalid":
            raise APIError(400, "We could not parse the JSON body of your request: it is not valid JSON.") from None
        loc = [p for p in e["loc"] if not (isinstance(p, str) and ("[" in p or p in _TYPE_TAGS))]
        param = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".") or None
        if e["type"] == "model_type" and not loc:
            raise APIError(400, "The request body must be a JSON object.") from None
        if e["type"] == "missing":
            raise APIError(400, f"Missing required parameter: '{param}'.", param=param) from None
        message = e["msg"].removeprefix("Value error, ")
        if len(loc) < len(e["loc"]) and loc and loc[-1] in _UNIONS:  # a union: name what it may be
            message = f"expected {_UNIONS[loc[-1]]}"
        raise APIError(400, f"Invalid value for '{param}': {message} (got {_short(e.get('input'))}).",
                       param=param) from None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ------------------------------------------------------------------------------------------ responses

class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ReplyMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: ReplyMessage
    finish_reason: Literal["stop", "length"]
    logprobs: None = None


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage


def _absent_if_none(value) -> bool:
    return value is None


class Delta(BaseModel):
    """What a chunk adds: the role in the first one, then text; an empty delta with the finish reason."""
    role: Optional[Literal["assistant"]] = Field(None, exclude_if=_absent_if_none)
    content: Optional[str] = Field(None, exclude_if=_absent_if_none)


class ChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    finish_reason: Optional[Literal["stop", "length"]] = None
    logprobs: None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    usage: Optional[Usage] = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "doppel"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class ErrorBody(BaseModel):
    message: str
    type: str
    param: Optional[str] = None
    code: Optional[str] = None


class ErrorResponse(BaseModel):
    error: ErrorBody


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def now() -> int:
    return int(time.time())


def usage(prompt_tokens: int, completion_tokens: int) -> Usage:
    return Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                 total_tokens=prompt_tokens + completion_tokens)


def sse(payload: BaseModel | dict | str) -> bytes:
    """One server-sent event: `data: <json>` and a blank line (`data: [DONE]` ends the stream)."""
    if isinstance(payload, BaseModel):
        payload = payload.model_dump_json(exclude_none=False)
    elif isinstance(payload, dict):
        import json

        payload = json.dumps(payload, ensure_ascii=False)
    return f"data: {payload}\n\n".encode()
