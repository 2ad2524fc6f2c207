"""params.yaml, read through one typed, validated model per section.

Values live only in params.yaml: the models say what each knob may be (type, range, choices), never what it
is, so every key must be present. A bad value, a missing or unknown key, or a misspelt section is one line
naming the file that was read (or the flag that gave the value) and the key, e.g.

    params.yaml: build.val_share: input should be less than 1 (got 1.5)

    cfg = config.load("build")                    # BuildConfig, attribute access: cfg.val_share
    cfg = config.load("chat", overrides={"temperature": 0.2})   # flags on top of the file, validated too
    cfg.source                                    # the file it came from, for errors found later

A command's `context_tokens: null` (chat, serve, bot) is resolved here, once, to build.context_tokens.

The stages' sections live in config/pipeline.py, the other commands' in config/commands.py (imported only
when one is loaded, so a command's knobs are not part of what the DVC stages depend on).
"""
from __future__ import annotations

import difflib
import importlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from doppel.config import pipeline
from doppel.config.pipeline import (LORA_TARGETS, BaseConfig, BuildConfig, EvaluateConfig, IngestConfig,  # noqa: F401
                                    MemoryConfig, SamplingConfig, ScrubConfig, SegmentConfig, TinyConfig, TrainConfig)
from doppel.config.types import Section, _KeyError
from doppel.errors import InputError

PARAMS_FILE = Path("params.yaml")
PIPELINE = {"ingest": "IngestConfig", "scrub": "ScrubConfig", "segment": "SegmentConfig", "memory": "MemoryConfig",
            "build": "BuildConfig", "evaluate": "EvaluateConfig", "base": "BaseConfig", "train": "TrainConfig"}
COMMANDS = {"sample": "SampleConfig", "fetch": "FetchConfig", "chat": "ChatConfig", "serve": "ServeConfig",
            "export": "ExportConfig", "bot": "BotConfig", "quiz": "QuizConfig"}
SECTIONS = {**PIPELINE, **COMMANDS}


def __getattr__(name: str):
    if name in COMMANDS.values():
        return getattr(importlib.import_module("doppel.config.commands"), name)
    raise AttributeError(f"module 'doppel.config' has no attribute {name!r}")


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
    cfg = validate(section, data[section], path, overrides)
    if getattr(cfg, "context_tokens", 0) is None:  # null: the budget the dataset was built with
        build = load("build", path)
        cfg = cfg.model_copy(update={"context_tokens": build.context_tokens})
        cfg._source = Path(path)
    return cfg


def validate(section: str, values: Any, path: str | Path = PARAMS_FILE, overrides: dict[str, Any] | None = None):
    model = section_model(section)
    if not isinstance(values, dict):
        raise InputError(path, f"{section}: should be a mapping of keys, got {type(values).__name__}")
    overrides = overrides or {}
    try:
        cfg = model.model_validate(_merged(values, overrides))
    except ValidationError as err:
        key, message = problem(section, model, err)
        # a value given as a flag is the flag's fault, not the file's
        where = f"--{key.replace('_', '-')}" if key in overrides else path
        raise InputError(where, message) from None
    cfg._source = Path(path)
    return cfg


def check(path: str | Path = PARAMS_FILE) -> dict[str, Any]:
    """Every section of the params file validated at once (what the `check` stage does before any other stage
    runs, so that DVC removes no output for a value that would be refused later): the first problem as one
    InputError naming the file and the key; a missing section is one too. Returns the report: constant while the
    file is valid, so a passing check never makes a later stage rerun."""
    data = read(path)
    for section in SECTIONS:
        if section not in data:
            raise InputError(path, f"{section}: section missing (every knob has its value in params.yaml)")
        validate(section, data[section], path)
    # no section names here: a new section in a later version must not make every stage rerun
    return {"params": Path(path).name, "valid": True}


def section_model(section: str) -> type[Section]:
    module = pipeline if section in PIPELINE else importlib.import_module("doppel.config.commands")
    return getattr(module, SECTIONS[section])


def _merged(values: dict, overrides: dict) -> dict:
    out = dict(values)
    for key, value in overrides.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def problem(section: str, model: type[BaseModel], err: ValidationError) -> tuple[str, str]:
    """The top-level key at fault and the first problem, as `section.key: what is wrong (got value)`."""
    errors = err.errors()
    # a misspelt key shows up as both unknown and missing: the unknown one says more
    e = min(errors, key=lambda e: e["type"] != "extra_forbidden")
    ctx_error = (e.get("ctx") or {}).get("error")
    if isinstance(ctx_error, _KeyError):
        loc = [str(p) for p in e["loc"]] + [ctx_error.key]
        return loc[0], f"{'.'.join([section, *loc])}: {ctx_error} (got {ctx_error.value!r})"
    # pydantic's names of a union's members ("constrained-int", "literal['auto']") are not keys: dropped
    loc = [str(p) for p in e["loc"]
           if not isinstance(p, int) and not str(p).startswith(("literal[", "function-", "constrained-"))]
    key = ".".join([section, *loc])
    kind = e["type"]
    if kind == "extra_forbidden":
        fields = _fields(model, loc[:-1])
        return loc[0], f"{key}: unknown key{_did_you_mean(loc[-1], fields)}"
    if kind == "missing":
        return loc[0], f"{key}: missing (every knob has its value in params.yaml)"
    message = e["msg"].removeprefix("Value error, ")
    message = message[0].lower() + message[1:] if message else message
    return (loc[0] if loc else ""), f"{key}: {message} (got {e.get('input')!r})"


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
