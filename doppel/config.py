"""params.yaml, read through one typed, validated model per section.

Values live only in params.yaml: the models below say what each knob may be (type, range, choices), never
what it is, so every key must be present. A bad value, a missing or unknown key, or a misspelt section is
one line naming the file that was read and the key, e.g.

    params.yaml: build.val_share: must be less than 1 (got 1.5)

    cfg = config.load("build")                    # BuildConfig, attribute access: cfg.val_share
    cfg = config.load("chat", overrides={"temperature": 0.2})   # flags on top of the file, validated too
"""
from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from doppel.errors import InputError

PARAMS_FILE = Path("params.yaml")

PositiveInt = Annotated[int, Field(ge=1)]
NonNegInt = Annotated[int, Field(ge=0)]
PositiveFloat = Annotated[float, Field(gt=0)]
Share = Annotated[float, Field(ge=0, le=1)]
ChatId = Annotated[int, Field(strict=False)]
Precision = Optional[Literal["32-true", "bf16-true", "16-true", "bf16-mixed", "16-mixed"]]


class Section(BaseModel):
    # frozen: a config is a value; strict on bool so that `yes`/1 are not silently taken for true
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class SampleConfig(Section):
    messages: PositiveInt
    seed: int


CHAT_TYPES = (
    "personal_chat", "bot_chat", "saved_messages", "replies", "verification_codes", "private_group",
    "private_supergroup", "public_supergroup", "private_channel", "public_channel",
)


class IngestConfig(Section):
    input: str = Field(min_length=1)
    chat_types: list[Literal[CHAT_TYPES]] = Field(min_length=1)  # type: ignore[valid-type]
    skip_chats: list[ChatId]
    keep_forwarded: bool
    keep_media_captions: bool
    owner_id: Optional[str]

    @field_validator("owner_id", mode="before")
    @classmethod
    def _owner_as_from_id(cls, value: Any) -> Any:
        """`123` and `"123"` mean `user123`, as the export writes from_id."""
        if value is None:
            return None
        text = str(value).strip()
        return f"user{text}" if text.isdigit() else text


class ScrubConfig(Section):
    use_export_entities: bool


class SegmentConfig(Section):
    session_gap_hours: PositiveFloat
    drop_sessions_without_owner: bool


class BuildConfig(Section):
    system_prompt: str
    context_tokens: PositiveInt
    max_output_tokens: PositiveInt
    min_context_turns: NonNegInt
    val_share: Annotated[float, Field(gt=0, lt=1)]

    @model_validator(mode="after")
    def _room_for_context(self):
        # the system prompt's line in build's token estimate (doppel.prompt.approx_tokens: UTF-8 bytes / 4)
        system = (len(self.system_prompt.encode()) + 3) // 4 + 1 if self.system_prompt else 0
        if self.context_tokens <= system:
            raise _error("context_tokens", "leaves no room after the system prompt", self.context_tokens)
        return self


class FetchConfig(Section):
    out: str = Field(min_length=1)
    include_groups: bool
    skip_chats: list[ChatId]
    limit_chats: Optional[PositiveInt]
    session: Optional[str]
    batch_size: PositiveInt
    flood_sleep_threshold: NonNegInt
    max_flood_wait_s: NonNegInt


class SamplingConfig(Section):
    """What every command that generates replies shares."""
    max_new_tokens: PositiveInt
    temperature: Annotated[float, Field(ge=0)]
    top_k: Optional[NonNegInt]
    top_p: Annotated[float, Field(gt=0, le=1)]
    device: str = Field(min_length=1)
    precision: Precision


class EvaluateConfig(SamplingConfig):
    adapter: str = Field(min_length=1)
    loss_rows: NonNegInt
    generate_rows: NonNegInt
    seed: int
    batch_size: PositiveInt
    catchphrases: NonNegInt
    catchphrase_min_share: Share
    authorship_max_lines: PositiveInt
    samples: NonNegInt
    threads: NonNegInt


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


class TinyConfig(Section):
    seed: int
    vocab_size: Annotated[int, Field(ge=300)]   # the 256 bytes, the special tokens and some merges
    n_layer: PositiveInt
    n_embd: PositiveInt
    n_head: PositiveInt
    intermediate_size: PositiveInt
    block_size: Annotated[int, Field(ge=16)]
    pretrain_steps: NonNegInt
    pretrain_seq: Annotated[int, Field(ge=2)]
    pretrain_batch: PositiveInt
    pretrain_lr: PositiveFloat
    pretrain_warmup: NonNegInt

    @model_validator(mode="after")
    def _heads_divide(self):
        if self.n_embd % self.n_head:
            raise _error("n_embd", f"must be a multiple of n_head ({self.n_head})", self.n_embd)
        return self


class BaseConfig(Section):
    checkpoint_dir: str = Field(min_length=1)
    tiny: TinyConfig

    @property
    def is_tiny(self) -> bool:
        return self.checkpoint_dir.strip().lower() == "tiny"


LORA_TARGETS = ("query", "key", "value", "projection", "mlp", "head")


class TrainConfig(Section):
    lora_r: PositiveInt
    lora_alpha: PositiveInt | PositiveFloat  # an int stays an int: model_config.yaml writes it as given
    lora_dropout: Annotated[float, Field(ge=0, lt=1)]
    lora_targets: list[Literal[LORA_TARGETS]] = Field(min_length=1)  # type: ignore[valid-type]
    lr: PositiveFloat
    min_lr_ratio: Share
    warmup_steps: NonNegInt
    schedule: Literal["cosine", "linear", "constant"]
    weight_decay: Annotated[float, Field(ge=0)]
    grad_clip: Annotated[float, Field(ge=0)]
    batch_size: PositiveInt
    micro_batch_size: PositiveInt
    epochs: NonNegInt
    max_steps: NonNegInt
    max_seq_length: Annotated[int, Field(ge=8)]
    packing: bool
    precision: Literal["auto", "32-true", "bf16-mixed", "bf16-true", "16-mixed", "16-true"]
    quantize: Optional[Literal["bnb.nf4", "bnb.nf4-dq", "bnb.fp4", "bnb.fp4-dq"]]
    devices: PositiveInt
    seed: NonNegInt
    eval_interval: NonNegInt
    eval_max_rows: NonNegInt
    checkpoint_interval: NonNegInt
    log_interval: NonNegInt
    peak_tflops: Literal["auto"] | PositiveFloat
    compile: bool

    @field_validator("lora_targets", mode="before")
    @classmethod
    def _targets(cls, value: Any) -> Any:
        if isinstance(value, str):  # `-S train.lora_targets=query,value`
            value = [t.strip() for t in value.split(",") if t.strip()]
        return value

    @field_validator("lora_targets")
    @classmethod
    def _targets_in_order(cls, value: list[str]) -> list[str]:
        return sorted(set(value), key=LORA_TARGETS.index)

    @model_validator(mode="after")
    def _consistent(self):
        if self.batch_size % self.micro_batch_size:
            raise _error("batch_size", f"must be a multiple of micro_batch_size ({self.micro_batch_size})",
                         self.batch_size)
        if self.max_steps == 0 and self.epochs == 0:
            raise _error("max_steps", "set epochs or max_steps (both are 0)", 0)
        return self


class ExportConfig(Section):
    to: Literal["litgpt", "hf", "peft"]
    out: Optional[str] = Field(min_length=1)
    adapter: str = Field(min_length=1)
    dtype: Literal["auto", "float32", "bfloat16", "float16"]
    base_name: Optional[str] = Field(min_length=1)


class _KeyError(ValueError):
    """A check across keys that names the key at fault (pydantic would name only the section)."""

    def __init__(self, key: str, message: str, value: Any):
        super().__init__(message)
        self.key, self.value = key, value


def _error(key: str, message: str, value: Any) -> _KeyError:
    return _KeyError(key, message, value)


SECTIONS: dict[str, type[Section]] = {
    "sample": SampleConfig, "ingest": IngestConfig, "scrub": ScrubConfig, "segment": SegmentConfig,
    "build": BuildConfig, "fetch": FetchConfig, "evaluate": EvaluateConfig, "chat": ChatConfig,
    "base": BaseConfig, "train": TrainConfig, "serve": ServeConfig, "export": ExportConfig,
}
S = TypeVar("S", bound=Section)


def read(path: str | Path = PARAMS_FILE) -> dict[str, Any]:
    """The params file as a mapping of sections; unknown sections refused. Not yet validated per section."""
    path = Path(path)
    if not path.is_file():
        hint = "run doppel from the project root, or pass --params" if path.name == "params.yaml" else "no such file"
        raise InputError(path, f"params file not found ({hint})")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        where = getattr(err, "problem_mark", None)
        raise InputError(path, "not valid YAML" + (f" (line {where.line + 1})" if where else "")) from None
    if not isinstance(data, dict):
        raise InputError(path, "expected a mapping of sections (ingest:, scrub:, ...)")
    for name in data:
        if name not in SECTIONS:
            raise InputError(path, f"{name}: unknown section{_did_you_mean(name, SECTIONS)}")
    return data


def load(section: str, path: str | Path = PARAMS_FILE, overrides: dict[str, Any] | None = None) -> Any:
    """One section of the params file, validated; `overrides` (e.g. command-line flags) replace keys first."""
    data = read(path)
    if section not in data:
        raise InputError(path, f"{section}: section missing")
    return validate(section, data[section], path, overrides)


def validate(section: str, values: Any, path: str | Path = PARAMS_FILE, overrides: dict[str, Any] | None = None):
    model = SECTIONS[section]
    if not isinstance(values, dict):
        raise InputError(path, f"{section}: should be a mapping of keys, got {type(values).__name__}")
    values = _merged(values, overrides or {})
    try:
        return model.model_validate(values)
    except ValidationError as err:
        raise InputError(path, problem(section, model, err)) from None


def _merged(values: dict, overrides: dict) -> dict:
    out = dict(values)
    for key, value in overrides.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def problem(section: str, model: type[BaseModel], err: ValidationError) -> str:
    """The first problem of a validation error, as `section.key: what is wrong (got value)`."""
    errors = err.errors()
    # a misspelt key shows up as both unknown and missing: the unknown one says more
    e = min(errors, key=lambda e: e["type"] != "extra_forbidden")
    ctx_error = (e.get("ctx") or {}).get("error")
    if isinstance(ctx_error, _KeyError):
        prefix = ".".join([section, *[str(p) for p in e["loc"]], ctx_error.key])
        return f"{prefix}: {ctx_error} (got {ctx_error.value!r})"
    loc = [str(p) for p in e["loc"] if not isinstance(p, int) and not str(p).startswith(("literal[", "function-"))]
    key = ".".join([section, *loc])
    kind = e["type"]
    if kind == "extra_forbidden":
        fields = _fields(model, loc[:-1])
        return f"{key}: unknown key{_did_you_mean(loc[-1], fields)}"
    if kind == "missing":
        return f"{key}: missing (every knob has its value in params.yaml)"
    message = e["msg"].removeprefix("Value error, ")
    message = message[0].lower() + message[1:] if message else message
    return f"{key}: {message} (got {e.get('input')!r})"


def _fields(model: type[BaseModel], loc: list[str]) -> list[str]:
    for name in loc:
        annotation = model.model_fields[name].annotation if name in model.model_fields else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def _did_you_mean(name: str, known) -> str:
    close = difflib.get_close_matches(str(name), list(known), n=1)
    return f" (did you mean {close[0]}?)" if close else f" (known: {', '.join(known)})"
