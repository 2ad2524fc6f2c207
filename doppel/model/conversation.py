"""A running conversation with the twin: the turns so far, cut to the context budget, and the next reply.

`doppel chat` and `doppel serve` both ask the twin through it, so a conversation gets the same prompt and
the same seeded reply in the terminal and over the API.
"""
from __future__ import annotations

from typing import Callable

from doppel.config.types import Sampling
from doppel.prompt import render_context, render_line


class Conversation:
    """The running chat: turns (is_owner, text), oldest first, and how to ask the twin for the next reply."""

    def __init__(self, twin, system: str, sampling: Sampling, context_tokens: int,
                 recall: Callable[[list[tuple[bool, str]]], str] | None = None):
        self.twin = twin
        # turns -> the memory block (doppel.memory.recall.Recall): it follows the system line and its tokens
        # come out of the context budget; None: no memory
        self.recall = recall
        self.system = system
        self.context_tokens = context_tokens
        self.sampling = sampling
        self.turns: list[tuple[bool, str]] = []
        self.replies = 0

    def reset(self) -> None:
        self.turns.clear()
        self.replies = 0

    def prompt(self, max_new_tokens: int | None = None) -> str:
        """The prompt for the next reply (room left for `max_new_tokens`, else the sampling's); the oldest turns
        are dropped (for good) until it fits."""
        _, keep = self.twin.budget(max_new_tokens or self.sampling.max_new_tokens)
        keep = min(keep, int(self.context_tokens))
        memory = self.recall(self.turns) if self.recall is not None else ""
        cost = self.twin.count_tokens(memory) if memory and self.turns else 0
        # the memory never crowds out the message being answered: no block when both do not fit
        if cost and cost + self.twin.count_tokens(render_line(*self.turns[-1])) > keep:
            memory, cost = "", 0
        system = "\n".join(part for part in (self.system, memory) if part)
        self._drop_what_cannot_fit(keep - cost)  # the block's tokens come out of what the turns may take
        while True:
            prompt = self.twin.prompt_for(render_context(self.turns, system))
            if len(self.turns) <= 1 or self.twin.count_tokens(prompt) <= keep:
                return prompt  # a single over-long message is cut from the left by the twin itself
            self.turns.pop(0)

    def _drop_what_cannot_fit(self, keep: int) -> None:
        """Drop at once the oldest turns that cannot fit `keep` tokens (the last one always stays), sparing the
        loop in `prompt` a re-tokenization of a long history per dropped turn. A line counts its tokens alone
        less 2 (BOS, a merge at an edge): a lower bound of what it adds, so the prompt is the same as without."""
        total = 0
        for start in range(len(self.turns) - 1, -1, -1):
            total += max(0, self.twin.count_tokens(render_line(*self.turns[start])) - 2)
            if total > keep:
                del self.turns[:min(start + 1, len(self.turns) - 1)]
                return

    def say(self, text: str, write: Callable[[str], object] = lambda s: None) -> str:
        """Add the other person's message, stream the twin's reply through `write`, return it."""
        self.turns.append((False, text))
        pieces: list[str] = []
        try:
            for piece in self.twin.stream(self.prompt(), self.sampling.seeded(self.replies)):
                pieces.append(piece)
                write(piece)
        finally:  # Ctrl-C mid-reply keeps what was said so far
            reply = "".join(pieces)
            self.replies += 1
            if reply:
                self.turns.append((True, reply))
        return reply
