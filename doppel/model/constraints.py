"""The decoding-side guard that keeps scrub's placeholders out of every reply (chat, serve, evaluate, bot).

The training text has typed placeholders (<PHONE>, <NAME>, ...) where scrub removed private data, so a tuned
twin learns to write them (a fifth of its replies on the sample). The guard forbids, at every decoding step,
the tokens that would start one: a token with "<" and an upper-case Latin letter in it ("<PH", " <EMAIL>"), and
a token that ends with "<" (what follows it could only be a placeholder's name or a stray "<"), and a token
with a placeholder's name written bare in capitals ("NAME", "PHONE>": a twin can drop the "<" and still write
the name; patterns.BARE_TYPE_RE). Every other token is untouched, "<3", "Name" and "NAMES" included; the
forbidden tokens' probability goes to the rest.
"""
from __future__ import annotations

import re

import torch

from doppel.redact.patterns import BARE_TYPE_RE

PLACEHOLDER_START = re.compile(r"<[A-Z]|<$|" + BARE_TYPE_RE)


class PlaceholderGuard:
    """The forbidden token ids of one tokenizer, found once (one decode per vocabulary entry)."""

    def __init__(self, tokenizer, vocab_size: int):
        banned = []
        for i in range(vocab_size):
            try:
                text = tokenizer.decode(torch.tensor([i]))
            except Exception:  # ids past the tokenizer's vocabulary (a padded embedding table)
                continue
            if PLACEHOLDER_START.search(text):
                banned.append(i)
        self.banned = banned  # token ids
        # the same ids as an index tensor, moved to the logits' device once: apply runs at every decoding step
        self._index = torch.tensor(banned, dtype=torch.long)

    def apply(self, logits: torch.Tensor) -> torch.Tensor:
        """(B, V) logits with the forbidden tokens at -inf (a copy; the input is left as it was)."""
        if not self.banned:
            return logits
        if self._index.device != logits.device:
            self._index = self._index.to(logits.device)
        logits = logits.clone()
        logits[:, self._index] = -torch.inf
        return logits
