"""The resume checkpoint (models/train_state/): LoRA weights, optimizer, scheduler, step and RNG, written
atomically and valid only for the params, data and base it was made with."""
from __future__ import annotations

import hashlib
import json
import os
import random
from pathlib import Path

import numpy as np
import torch

from doppel.config import TrainConfig
from doppel.model.checkpoint import fingerprint, sha256_file

# These change what is logged, not what is learned: a run resumes across changes to them.
COSMETIC = {"eval_interval", "eval_max_rows", "checkpoint_interval", "log_interval", "peak_tflops"}


def run_key(cfg: TrainConfig, train_file: Path, base_dir: Path) -> str:
    """What a resume checkpoint is valid for: learning params + training data + base model."""
    payload = {
        "train": {k: v for k, v in sorted(cfg.model_dump().items()) if k not in COSMETIC},
        "data": sha256_file(train_file),
        "base": fingerprint(base_dir),
        "version": 1,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def save_state(state_dir: Path, state: dict) -> None:
    """Atomic: a kill at any moment leaves the previous complete checkpoint."""
    state_dir.mkdir(parents=True, exist_ok=True)
    tmp = state_dir / "state.pt.tmp"
    with open(tmp, "wb") as fh:
        torch.save(state, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, state_dir / "state.pt")
    info = {"key": state["key"], "step": state["step"], "total_steps": state["total_steps"]}
    tmpj = state_dir / "state.json.tmp"
    tmpj.write_text(json.dumps(info, indent=2) + "\n")
    os.replace(tmpj, state_dir / "state.json")


def load_state(state_dir: Path, key: str, log=print) -> dict | None:
    """The checkpoint to resume from, or None (none, unreadable, or made for other params/data/base)."""
    path = state_dir / "state.pt"
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # a corrupt file cannot be resumed from; start over
        log(f"doppel train: ignoring unreadable checkpoint {path} ({err.__class__.__name__})")
        return None
    if state.get("key") != key:
        log("doppel train: params, data or base changed since the last checkpoint: starting fresh")
        return None
    return state


def mark_finished(state_dir: Path, key: str, total_steps: int) -> None:
    """A finished run leaves nothing to resume, only a note of what it finished."""
    (state_dir / "state.pt").unlink(missing_ok=True)
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "state.json").write_text(json.dumps(
        {"key": key, "step": total_steps, "total_steps": total_steps, "finished": True}, indent=2) + "\n")


def rng_state() -> dict:
    out = {"torch": torch.get_rng_state(), "python": random.getstate(), "numpy": np.random.get_state()}
    if torch.cuda.is_available():
        out["cuda"] = torch.cuda.get_rng_state_all()
    return out


def set_rng_state(s: dict) -> None:
    torch.set_rng_state(s["torch"])
    random.setstate(s["python"])
    np.random.set_state(s["numpy"])
    if "cuda" in s and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(s["cuda"])
