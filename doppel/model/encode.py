"""One row -> token ids: how training and the twin's loss both turn (instruction, output) into tokens.

encode(prompt, bos) + encode(" " + reply, eos); an over-long row loses its oldest prompt tokens (those right
after BOS), never the reply.
"""
from __future__ import annotations

from dataclasses import dataclass

from doppel.prompt import prompt_and_response


@dataclass
class Example:
    ids: list[int]   # prompt + reply tokens (after the left cut)
    n_prompt: int    # how many of `ids` are prompt (no loss there)

    @property
    def n_inputs(self) -> int:  # positions fed to the model: the last token is only a target
        return len(self.ids) - 1


def encode_row(tokenizer, instruction: str, output: str, max_seq_length: int) -> tuple[Example | None, bool]:
    """(example, was_cut); (None, False) when the reply alone does not fit `max_seq_length`."""
    prompt, target = prompt_and_response(instruction, output)
    p = tokenizer.encode(prompt, bos=True).tolist()
    t = tokenizer.encode(target, bos=False, eos=True).tolist()
    if len(t) + 2 > max_seq_length:
        return None, False
    excess = len(p) + len(t) - max_seq_length
    if excess > 0:
        has_bos = tokenizer.bos_id is not None and p and p[0] == tokenizer.bos_id
        p = p[:1] + p[1 + excess:] if has_bos else p[excess:]
    return Example(p + t, len(p)), excess > 0
