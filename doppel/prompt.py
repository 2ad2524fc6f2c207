"""The one chat prompt format, shared by build, train, evaluate and chat.

A row's `instruction` is the labelled context (system line first, then one `Label: text` line per turn,
oldest first); the prompt adds the owner's label, and the model learns to write the owner's reply after it:

    A Telegram chat between Me and a friend.
    Them: are you coming tonight?
    Me: <- prompt ends here; the target is " " + output
"""
from __future__ import annotations

import re
import sys
from functools import cache

import polars as pl

OWNER_LABEL = "Me"
OTHER_LABEL = "Them"
RESPONSE_PREFIX = " "
# Generation stops where the model starts a new turn of either speaker.
STOP_STRINGS = (f"\n{OTHER_LABEL}:", f"\n{OWNER_LABEL}:")
# ... or a speaker of its own invention: a line that starts with one capitalised word (Latin or Cyrillic, at
# most LABEL_MAX_LETTERS letters) and a colon, the shape of the labels above ("They:", "Friend:", "Вася:").
# A reply line of the owner's own in that shape ("Note: ...") is cut too: the price of never showing one.
LABEL_MAX_LETTERS = 20
LABEL_LINE = re.compile(rf"\n[A-ZА-ЯЁ][^\W\d_]{{0,{LABEL_MAX_LETTERS - 1}}}:")
_LABEL_START = re.compile(rf"\n(?:[A-ZА-ЯЁ][^\W\d_]{{0,{LABEL_MAX_LETTERS - 1}}})?$")


assert all(LABEL_LINE.fullmatch(s) for s in STOP_STRINGS)  # so one search finds both kinds of stop


def stop_index(text: str) -> int:
    """Where a generated continuation stops: the first turn marker or invented label line (-1: none)."""
    m = LABEL_LINE.search(text)
    return m.start() if m else -1


def stop_hold(text: str) -> int:
    """How many trailing chars of `text` could still become a stop (held back until the next token decides)."""
    m = _LABEL_START.search(text)
    return len(m.group(0)) if m else 0


def label(is_owner: bool) -> str:
    return OWNER_LABEL if is_owner else OTHER_LABEL


def render_line(is_owner: bool, text: str) -> str:
    return f"{label(is_owner)}: {text}"


def render_context(turns: list[tuple[bool, str]], system: str = "") -> str:
    """The `instruction` for a list of (is_owner, text) turns, oldest first."""
    lines = [system] if system else []
    return "\n".join(lines + [render_line(o, t) for o, t in turns])


def line_expr(is_owner: str = "is_owner", text: str = "text") -> pl.Expr:
    """`render_line` as a Polars expression."""
    return pl.when(pl.col(is_owner)).then(pl.lit(f"{OWNER_LABEL}: ")).otherwise(pl.lit(f"{OTHER_LABEL}: ")) + pl.col(text)


def approx_tokens_expr(text: pl.Expr) -> pl.Expr:
    """Token estimate used before a tokenizer exists (build): UTF-8 bytes / 4, rounded up. It overestimates
    Cyrillic for BPE vocabularies, so a budget in these units is conservative."""
    return (text.str.len_bytes() + 3) // 4


def approx_tokens(text: str) -> int:
    return (len(text.encode()) + 3) // 4


@cache
def _twin_chat_class():
    from litgpt.prompts import PromptStyle  # litgpt (and lightning) load slowly: only where a model is used

    class TwinChat(PromptStyle):
        """litgpt PromptStyle for the twin: importable as `doppel.prompt.TwinChat`."""

        def apply(self, prompt: str, *, sys_prompt: str | None = None, **kwargs: str) -> str:
            return apply(prompt)

        def stop_tokens(self, tokenizer) -> tuple[list[int], ...]:
            return ([tokenizer.eos_id],) + tuple(tokenizer.encode(s, bos=False).tolist() for s in STOP_STRINGS)

    TwinChat.__module__ = __name__
    return TwinChat


# Adapters saved before the library was named `doppel` record `stages.prompt.TwinChat` in prompt_style.yaml;
# litgpt resolves that path with importlib, which finds this module under its old name.
sys.modules.setdefault("stages.prompt", sys.modules[__name__])


def __getattr__(name: str):
    if name == "TwinChat":
        return _twin_chat_class()
    raise AttributeError(name)


def apply(instruction: str) -> str:
    """The prompt for an instruction: the model continues after the owner's label."""
    return f"{instruction}\n{OWNER_LABEL}:"


def prompt_and_response(instruction: str, output: str) -> tuple[str, str]:
    """The exact (prompt, target) strings a training row becomes."""
    return apply(instruction), RESPONSE_PREFIX + output


def cut_at_stop(text: str) -> str:
    """A generated continuation up to the first turn marker (`stop_index`), without the response prefix."""
    cut = stop_index(text)
    return (text if cut < 0 else text[:cut]).strip()
