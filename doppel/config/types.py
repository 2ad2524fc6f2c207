"""What every params section is built from: the frozen, strict Section model, the value types, and a way
for a check across keys to name the key at fault."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

PositiveInt = Annotated[int, Field(ge=1)]
NonNegInt = Annotated[int, Field(ge=0)]
PositiveFloat = Annotated[float, Field(gt=0)]
Share = Annotated[float, Field(ge=0, le=1)]
ChatId = Annotated[int, Field(strict=False)]
Precision = Optional[Literal["32-true", "bf16-true", "16-true", "bf16-mixed", "16-mixed"]]


class Section(BaseModel):
    """A params section: frozen (a config is a value), no unknown keys."""
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
    _source: Path = PrivateAttr(default=Path("params.yaml"))

    @property
    def source(self) -> Path:
        """The params file this section was read from (for errors found after loading)."""
        return self._source


class Sampling(BaseModel):
    """How a reply is sampled: what chat, serve, bot, evaluate and quiz pass to the twin (values from their
    params section; see SamplingConfig.sampling). `seed` None: unseeded; temperature 0: greedy."""
    model_config = ConfigDict(extra="forbid", frozen=True)
    max_new_tokens: PositiveInt
    temperature: Annotated[float, Field(ge=0)]
    top_k: Optional[NonNegInt]
    top_p: Annotated[float, Field(gt=0, le=1)]
    seed: Optional[int] = None

    def seeded(self, offset: int) -> "Sampling":
        """The settings of the reply `offset` replies later: seed + offset (unseeded stays unseeded)."""
        return self if self.seed is None else self.model_copy(update={"seed": self.seed + offset})


class _KeyError(ValueError):
    """A check across keys that names the key at fault (pydantic would name only the section)."""

    def __init__(self, key: str, message: str, value: Any):
        super().__init__(message)
        self.key, self.value = key, value


def _error(key: str, message: str, value: Any) -> _KeyError:
    return _KeyError(key, message, value)
