"""One row -> token ids: how training and the twin's loss both turn (instruction, output) into tokens.

encode(prompt, bos) + encode(" " + reply, eos); an over-long row loses its oldest prompt tokens (those right
after BOS), never the reply. A reply that does not fit by itself is dropped (training) or, with
`long_reply="truncate"` (evaluation's loss, which must score every val row), cut to its first tokens.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from doppel.prompt import prompt_and_response


@dataclass
class Example:
    ids: list[int]   # prompt + reply tokens (after the left cut)
    n_prompt: int    # how many of `ids` are prompt (no loss there)

    @property
    def n_inputs(self) -> int:  # positions fed to the model: the last token is only a target
        return len(self.ids) - 1

    @property
    def labels(self) -> list[int]:
        """Next-token targets aligned with `ids`: -100 (ignored) on the prompt, the reply's ids after it."""
        return [-100] * self.n_prompt + self.ids[self.n_prompt:]


def encode_row(tokenizer, instruction: str, output: str, max_seq_length: int,
               long_reply: Literal["drop", "truncate"] = "drop") -> tuple[Example | None, bool]:
    """(example, was_cut); a reply that does not fit `max_seq_length` with two prompt tokens gives
    (None, False) with `long_reply="drop"`; with "truncate" it keeps its first max_seq_length - 1 tokens
    after the prompt's last token (the reply's loss is scored on what the model can see)."""
    prompt, target = prompt_and_response(instruction, output)
    # BOS/EOS whenever the tokenizer has them (some, e.g. Qwen's, have no BOS)
    p = tokenizer.encode(prompt, bos=tokenizer.bos_id is not None).tolist()
    t = tokenizer.encode(target, bos=False, eos=tokenizer.eos_id is not None).tolist()
    if len(t) + 2 > max_seq_length:
        if long_reply == "drop":
            return None, False
        cut = len(p) > 1 or len(t) > max_seq_length - 1
        p, t = p[-1:], t[: max_seq_length - 1]
        return Example(p + t, len(p)), cut
    excess = len(p) + len(t) - max_seq_length
    if excess > 0:
        has_bos = tokenizer.bos_id is not None and p and p[0] == tokenizer.bos_id
        p = p[:1] + p[1 + excess:] if has_bos else p[excess:]
    return Example(p + t, len(p)), excess > 0
