"""Checkpoints: the one place that says where the base is and whether a folder is a usable checkpoint.

`resolve_checkpoint` gives the base dir to load (models/base for `base.checkpoint_dir: tiny`, else the user's
litgpt checkpoint, used in place); `find_base` is that, checked, for every command; `validate_checkpoint` and
`validate_adapter` turn an incomplete folder into one InputError line.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from doppel.config import BaseConfig
from doppel.errors import InputError

OUT_DIR = Path("models/base")
REQUIRED_FILES = ("lit_model.pth", "model_config.yaml", "tokenizer_config.json")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model")
ADAPTER_FILES = ("adapter.pth", "model_config.yaml")
# `dvc checkout` first: after a failed, refused or interrupted run the output is usually still in the DVC cache
# (seconds), where `dvc repro` could mean hours of GPU
HINT = "run `dvc checkout` first (restores it from the DVC cache), else `dvc pull` or `dvc repro`"


def resolve_checkpoint(cfg: BaseConfig, out_dir: str | Path = OUT_DIR) -> Path:
    """Absolute path of the base checkpoint dir to load: `out_dir` for `tiny`, the user's litgpt checkpoint, or
    the converted copy of an HF folder or GGUF file in `base.cache_dir` (doppel.base.convert)."""
    if cfg.is_tiny:
        return Path(out_dir).resolve()
    from doppel.base.convert import converted_dir
    from doppel.base.source import inspect

    src = inspect(cfg.checkpoint_dir, check=False)   # the base stage checked it: locating it reads no weights
    return src.path if src.kind == "litgpt" else converted_dir(src, cfg.cache_dir)


def find_base(params_file: str | Path, override: str | Path | None = None) -> Path:
    """The base checkpoint every command loads: `override` (a --base flag) if given, else the base stage's
    (params' base section); checked, so a missing or half-built base is one InputError line."""
    if override is not None:
        return validate_checkpoint(Path(override).expanduser().resolve(), "base checkpoint", hint=HINT)
    from doppel import config

    cfg = config.load("base", params_file)
    path = resolve_checkpoint(cfg)
    if not cfg.is_tiny and not (path / "lit_model.pth").exists() \
            and path != Path(os.path.expanduser(cfg.checkpoint_dir)).resolve():  # an HF / GGUF base not converted
        raise InputError(cfg.checkpoint_dir, "not converted yet: run `doppel base` (or `dvc repro base`) first")
    if cfg.is_tiny and not (path / "model_config.yaml").exists():
        raise InputError(path, "no base model here: run `dvc checkout models/base` first (restores it from the DVC "
                               "cache after a failed or interrupted run), else `doppel base` (or `dvc repro base`)")
    return validate_checkpoint(path, "base checkpoint", hint=None if not cfg.is_tiny else HINT)


def validate_checkpoint(path: str | Path, what: str = "base.checkpoint_dir", hint: str | None = None) -> Path:
    """`path`, unless it is not a litgpt checkpoint dir (weights, config, tokenizer): then one InputError.
    `what` names the setting the path came from; `hint` replaces the advice on how to get a checkpoint."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(path, f"{what}: not a directory (" + (hint or "expected a litgpt checkpoint, e.g. from "
                               "`litgpt download <repo>`, or `tiny`") + ")")
    missing = [f for f in REQUIRED_FILES if not (path / f).is_file()]
    if not any((path / f).is_file() for f in TOKENIZER_FILES):
        missing.append(" or ".join(TOKENIZER_FILES))
    if missing:
        raise InputError(path, f"{what}: not a complete litgpt checkpoint, missing {', '.join(missing)} (" + (
            hint or "run `litgpt download <repo>`; a HF download needs `litgpt convert_to_litgpt`") + ")")
    return path


def validate_adapter(path: str | Path) -> Path:
    """The absolute adapter dir (what the train stage writes), or an InputError naming what is missing."""
    path = Path(path).expanduser().resolve()
    if not path.is_dir():
        raise InputError(path, f"adapter not found; {HINT}")
    for name in ADAPTER_FILES:
        if not (path / name).is_file():
            raise InputError(path / name, f"adapter file missing; {HINT}")
    return path


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fingerprint(path: str | Path) -> dict[str, Any]:
    """What identifies a (large) checkpoint without hashing gigabytes: small files hashed, weights by size."""
    files = {}
    for f in sorted(Path(path).iterdir()):
        if not f.is_file():
            continue
        size = f.stat().st_size
        files[f.name] = {"size": size, "sha256": sha256_file(f)} if size <= 16 << 20 else {"size": size}
    return files


def read_weights(path: Path) -> dict:
    """A litgpt weights file (memory-mapped), or one InputError line for a truncated or foreign file."""
    import torch

    try:
        sd = torch.load(path, map_location="cpu", mmap=True, weights_only=True)
    except Exception as err:  # noqa: BLE001 - a truncated or foreign file: one line for the user
        raise InputError(path, f"cannot read weights ({type(err).__name__}: {err})") from err
    return sd.get("model", sd) if isinstance(sd, dict) else sd
