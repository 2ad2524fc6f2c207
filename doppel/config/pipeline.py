"""The params sections of the pipeline stages (ingest ... evaluate): what dvc.yaml's stages read."""
from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from pydantic import Field, field_validator, model_validator

from doppel.config.types import (ChatId, NonNegInt, PositiveFloat, PositiveInt, Precision, Sampling, Section, Share,
                                 _error)


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
    names: bool  # person names -> <NAME> (doppel.redact.names); off: names in texts are kept


class SegmentConfig(Section):
    session_gap_hours: PositiveFloat
    drop_sessions_without_owner: bool
    time_zone: str   # the activity plots' hours and weekdays (an IANA zone)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(v)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"not a time zone: {v!r} (an IANA name such as Europe/Moscow, or UTC)") from None
        return v


class BuildConfig(Section):
    system_prompt: str
    context_tokens: PositiveInt
    max_output_tokens: PositiveInt
    min_context_turns: NonNegInt
    val_share: Annotated[float, Field(gt=0, lt=1)]
    min_train_rows_warning: NonNegInt

    @model_validator(mode="after")
    def _room_for_context(self):
        # the system prompt's line in build's token estimate (doppel.prompt.approx_tokens: UTF-8 bytes / 4)
        system = (len(self.system_prompt.encode()) + 3) // 4 + 1 if self.system_prompt else 0
        if self.context_tokens <= system:
            raise _error("context_tokens", "leaves no room after the system prompt", self.context_tokens)
        return self


class MemoryConfig(Section):
    """The twin's memory (doppel/memory): the owner's past messages retrieved into the prompt at reply time."""
    enabled: bool
    k: PositiveInt               # memories retrieved per reply (at most)
    tokens: PositiveInt          # the memory block's budget (approx tokens, bytes/4), taken from the context budget
    scope: Literal["chat", "all"]   # chat: only memories from the chat being answered; all: every chat


class SamplingConfig(Section):
    """What every command that generates replies shares."""
    max_new_tokens: PositiveInt
    temperature: Annotated[float, Field(ge=0)]
    top_k: Optional[NonNegInt]
    top_p: Annotated[float, Field(gt=0, le=1)]
    device: str = Field(min_length=1)
    precision: Precision

    @property
    def sampling(self) -> Sampling:
        return Sampling(max_new_tokens=self.max_new_tokens, temperature=self.temperature, top_k=self.top_k,
                        top_p=self.top_p, seed=getattr(self, "seed", None))


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
    pretrain_min_lr_ratio: Share
    pretrain_grad_clip: Annotated[float, Field(ge=0)]

    @model_validator(mode="after")
    def _heads_divide(self):
        if self.n_embd % self.n_head:
            raise _error("n_embd", f"must be a multiple of n_head ({self.n_head})", self.n_embd)
        return self


class BaseConfig(Section):
    checkpoint_dir: str = Field(min_length=1)
    cache_dir: str = Field(min_length=1)      # converted HF / GGUF bases, keyed by content (outside the repo)
    litgpt_name: Optional[str]                # a litgpt config name for an HF base doppel cannot map itself
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
