"""The params sections of the commands that are not DVC stages: sample, fetch, chat, serve, export, bot, quiz.

Kept apart from the stages' sections so that a new command knob does not change the code every stage runs."""
from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from pydantic import Field, field_validator, model_validator

from doppel.config.pipeline import SamplingConfig
from doppel.config.types import ChatId, NonNegInt, PositiveInt, Precision, Section, _error


class SampleConfig(Section):
    messages: PositiveInt
    seed: int
    facts: bool   # plant the owner's facts (doppel/sample/facts.py) for the memory's fact recall
    language: Literal["ru", "en"]   # en: every conversation in English (doppel.sample.skeleton.LANGUAGES)


class FetchConfig(Section):
    out: str = Field(min_length=1)
    include_groups: bool
    skip_chats: list[ChatId]
    limit_chats: Optional[PositiveInt]
    session: Optional[str]
    batch_size: PositiveInt
    flood_sleep_threshold: NonNegInt
    max_flood_wait_s: NonNegInt


class ChatConfig(SamplingConfig):
    adapter: str = Field(min_length=1)
    seed: Optional[int]
    context_tokens: Optional[PositiveInt]


class ServeConfig(SamplingConfig):
    """`doppel serve`: where it listens, which adapter, and the limits every request is held to."""
    adapter: str = Field(min_length=1)
    host: str = Field(min_length=1)
    port: Annotated[int, Field(ge=0, le=65535)]
    name: str = Field(min_length=1)
    context_tokens: Optional[PositiveInt]
    max_tokens_cap: PositiveInt
    max_body_bytes: Annotated[int, Field(ge=1024)]
    max_batch: PositiveInt
    max_queue: PositiveInt
    threads: NonNegInt

    @model_validator(mode="after")
    def _default_within_cap(self):
        if self.max_new_tokens > self.max_tokens_cap:
            raise _error("max_new_tokens", f"must be at most max_tokens_cap ({self.max_tokens_cap})",
                         self.max_new_tokens)
        return self


class ExportConfig(Section):
    to: Literal["litgpt", "hf", "peft"]
    out: Optional[str] = Field(min_length=1)
    adapter: str = Field(min_length=1)
    dtype: Literal["auto", "float32", "bfloat16", "float16"]
    base_name: Optional[str] = Field(min_length=1)


_CHAT_REF = r"^(-?\d+|@\w{1,64})$"
_SHAPES = {"quiet_hours": (r"^(?!(\S+)-\1$)([01]?\d|2[0-3]):[0-5]\d-([01]?\d|2[0-3]):[0-5]\d$",
                           "HH:MM-HH:MM in local time, e.g. 23:00-08:00"),
           "api_base": (r"^https?://\S+$", "an http(s) URL such as http://127.0.0.1:8321/v1")}


class BotConfig(SamplingConfig):
    """`doppel bot`: which chats, draft or auto, auto mode's limits, and where replies come from."""
    mode: Literal["draft", "auto"]
    allow: list[int | str]  # chat ids and @usernames (lowercased)
    deny: list[int | str]
    adapter: str = Field(min_length=1)
    api_base: Optional[str]
    api_model: str = Field(min_length=1)
    seed: Optional[int]
    context_tokens: Optional[PositiveInt]
    history_messages: Annotated[int, Field(ge=1, le=500)]
    typing_delay_s: Annotated[float, Field(ge=0, le=60)]
    per_chat_per_hour: NonNegInt
    global_per_hour: NonNegInt
    owner_pause_minutes: Annotated[float, Field(ge=0)]
    quiet_hours: Optional[str]
    disclosure: str
    log: str = Field(min_length=1)
    max_flood_wait_s: NonNegInt

    @field_validator("allow", "deny", mode="before")
    @classmethod
    def _chat_refs(cls, value: Any) -> Any:
        import re

        items = [value] if isinstance(value, (str, int)) else value  # `-S bot.allow=@ann`
        if not isinstance(items, list):
            return value
        bad = [i for i in items if isinstance(i, bool) or not re.match(_CHAT_REF, str(i).strip())]
        if bad:
            raise ValueError(f"a chat is an id or an @username, such as 123456 or @ann ({bad[0]!r} is neither)")
        return [int(t) if t.lstrip("-").isdigit() else t.lower() for t in (str(i).strip() for i in items)]

    @field_validator("quiet_hours", "api_base")
    @classmethod
    def _shaped(cls, value: Optional[str], info) -> Optional[str]:
        import re

        pattern, shape = _SHAPES[info.field_name]
        if value is not None and not re.match(pattern, value):
            raise ValueError(f"must be {shape} (or null)")
        return value

    @model_validator(mode="after")
    def _auto_needs_allow(self):
        if self.mode == "auto" and not self.allow:
            raise _error("allow", "auto mode sends only to the chats listed here, and the list is empty "
                                  "(add chat ids or @usernames, or use mode draft)", [])
        return self


class QuizConfig(Section):
    """`doppel quiz`: where it listens, which val rows it plays, and where the picks go. The twin replies with
    the chat section's sampling, seeded here (reply n: seed + n)."""
    host: str = Field(min_length=1)
    port: Annotated[int, Field(ge=0, le=65535)]
    val: str = Field(min_length=1)
    rounds: PositiveInt
    context_turns: NonNegInt
    seed: int
    adapter: str = Field(min_length=1)
    device: str = Field(min_length=1)
    precision: Precision
    results: str = Field(min_length=1)
    report: str = Field(min_length=1)
