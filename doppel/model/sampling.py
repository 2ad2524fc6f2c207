"""Decoding helpers shared by every reply: next-token sampling (a batch, an optional seeded generator) and
TextCut, which turns generated ids into the reply text that is certain so far (stop strings held and cut).
"""
from __future__ import annotations

import torch

from doppel.prompt import stop_hold, stop_index

NEG_INF = float("-inf")



class TextCut:
    """Incremental decoding of one reply: feed token ids, get the text that is now certain.

    What comes out, concatenated, is the continuation up to the first stop string, stripped: leading
    whitespace is dropped, whitespace is held until something follows it, an unfinished UTF-8 character
    (decoded as U+FFFD) and a possible start of a stop string are held until the next token decides.
    """

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.ids: list[int] = []
        self.emitted = 0  # chars of the stripped reply already given out
        self.stopped = False

    def _visible(self, final: bool) -> str:
        text = self.tokenizer.decode(torch.tensor(self.ids)) if self.ids else ""
        cut = stop_index(text)
        if cut >= 0:
            self.stopped = True
            text = text[:cut]
        elif not final:
            text = text[: len(text) - stop_hold(text)]
        return text.rstrip("\ufffd").strip()

    def push(self, token_id: int) -> str:
        """Add one generated token; the new certain text (may be "")."""
        self.ids.append(int(token_id))
        return self._take(self._visible(final=False))

    def finish(self) -> str:
        """No more tokens: the rest of the reply."""
        return self._take(self._visible(final=True))

    def text(self) -> str:
        """The whole reply so far, as if finished."""
        return self._visible(final=True)

    def _take(self, visible: str) -> str:
        piece = visible[self.emitted:]
        self.emitted = max(self.emitted, len(visible))
        return piece


def sample_next(
    logits: torch.Tensor, temperature: float, top_k: int | None, top_p: float, generator: torch.Generator | None
) -> torch.Tensor:
    """Next token per row from (B, V) logits: greedy at temperature 0, else top-k / top-p sampling.

    litgpt's `sample` works on one row and the global RNG; this is the same filtering for a batch, with an
    optional seeded generator (so a seeded reply never disturbs the caller's random state).
    """
    logits = logits.float()
    if temperature <= 0 or top_p <= 0:
        return logits.argmax(dim=1)
    logits = logits / temperature
    if top_k is not None and 0 < top_k < logits.size(1):
        kth = torch.topk(logits, top_k, dim=1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, NEG_INF)
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=1, descending=True)
        probs = sorted_logits.softmax(dim=1)
        drop = probs.cumsum(dim=1) - probs >= top_p  # keep the smallest set reaching top_p (always >= 1)
        sorted_logits = sorted_logits.masked_fill(drop, NEG_INF)
        logits = torch.full_like(logits, NEG_INF).scatter(1, order, sorted_logits)
    probs = logits.softmax(dim=1)
    return torch.multinomial(probs, 1, generator=generator)[:, 0]
