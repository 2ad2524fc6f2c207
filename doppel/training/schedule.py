"""The learning-rate schedule: a linear warmup, then cosine, linear or constant down to min_lr_ratio."""
from __future__ import annotations

import math

from doppel.config import TrainConfig


def lr_lambda(cfg: TrainConfig, total_steps: int):
    """The multiplier of train.lr at each step (for torch's LambdaLR)."""
    warm, floor = cfg.warmup_steps, float(cfg.min_lr_ratio)

    def f(step: int) -> float:
        if step < warm:
            return (step + 1) / (warm + 1)
        if cfg.schedule == "constant":
            return 1.0
        frac = min(1.0, (step - warm) / max(1, total_steps - warm))
        shape = 0.5 * (1 + math.cos(math.pi * frac)) if cfg.schedule == "cosine" else 1 - frac
        return floor + (1 - floor) * shape

    return f
