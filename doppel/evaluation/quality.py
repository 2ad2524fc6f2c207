"""Twin-quality figures that compare across tokenizers (pure arithmetic over summed losses and reply bytes).

- loss per byte: the summed negative log-likelihood (nats) of the reply tokens (EOS included) divided by the
  reply texts' UTF-8 bytes. Per-token loss depends on the tokenizer; per byte it does not.
- context lift: loss per byte of the owner's real replies under another session's context minus under their
  true context. A model that reads the context scores > 0; one that ignores it about 0.
- fluency: the base model's loss per byte on the twin's sampled replies divided by its loss per byte on the
  owner's real replies. About 1: the twin writes text the base finds as likely as the owner's; far above 1:
  babble.
"""
from __future__ import annotations

import math


def loss_per_byte(total_nll: float, replies: list[str]) -> float:
    """Summed reply loss (nats) / UTF-8 bytes of the replies; nan when there are no bytes."""
    n = sum(len(r.encode()) for r in replies)
    return total_nll / n if n else math.nan


def context_lift(true_context_bpb: float, other_context_bpb: float) -> float:
    """Loss per byte under another session's context minus under the true one (> 0: the context helps)."""
    return other_context_bpb - true_context_bpb


def fluency(base_bpb_on_twin: float, base_bpb_on_owner: float) -> float:
    """Base model's loss per byte on the twin's replies / on the owner's real replies."""
    return base_bpb_on_twin / base_bpb_on_owner if base_bpb_on_owner else math.nan


def shifted_contexts(rows: list[dict], session_key: str = "session") -> list[dict]:
    """Each row's reply under the context of the next row from another session (cyclic), for context lift.
    A row with no row of another session is left out."""
    out = []
    for i, row in enumerate(rows):
        for j in range(1, len(rows)):
            other = rows[(i + j) % len(rows)]
            if other.get(session_key) != row.get(session_key):
                out.append({**row, "instruction": other["instruction"]})
                break
    return out
