"""The memory block: what was retrieved, as one documented block of the prompt, within a token budget.

It goes right after the system line, before the conversation, so the twin reads it as background:

    A Telegram chat between Me and a friend.
    Things Me said before:
    - (Them: how is the dog?) Me: Rex is fine, he ate my sock
    - Me: moved to Porto last spring
    Them: hey, what's your dog called again?
    Me:

Each memory is one line (newlines inside it become " / "), the most relevant first; a memory that would take
the block past `memory.tokens` (approx tokens, UTF-8 bytes / 4, as build's budget) is left out, and so is
everything after it. No memory retrieved: no block at all.
"""
from __future__ import annotations

from doppel.prompt import OWNER_LABEL, approx_tokens, render_line

HEADER = f"Things {OWNER_LABEL} said before:"
ITEM = "- "


def item(text: str, answered: str = "") -> str:
    """One memory as a line: the message it answered (if any) in brackets, then the owner's words."""
    flat = " / ".join(part for part in text.splitlines() if part.strip())
    ctx = " / ".join(part for part in answered.splitlines() if part.strip())
    return f"{ITEM}({render_line(False, ctx)}) {render_line(True, flat)}" if ctx else f"{ITEM}{render_line(True, flat)}"


def render(memories: list[dict], tokens: int) -> str:
    """The block for memories (dicts with `text` and `answered`), most relevant first, or "" when none fits.
    Its approx_tokens never exceeds `tokens`."""
    lines = [HEADER]
    for m in memories:
        candidate = lines + [item(m["text"], m.get("answered", ""))]
        if approx_tokens("\n".join(candidate)) > tokens:
            break
        lines = candidate
    return "\n".join(lines) if len(lines) > 1 else ""


def insert(instruction: str, memory: str, system: str) -> str:
    """The instruction with the block right after the system line (before the first turn when no system)."""
    if not memory:
        return instruction
    head = f"{system}\n" if system else ""
    return f"{head}{memory}\n{instruction[len(head):]}"


def remove(instruction: str, memory: str) -> str:
    """The instruction without its block (what the twin would see without memory)."""
    if not memory:
        return instruction
    if instruction.startswith(memory + "\n"):
        return instruction[len(memory) + 1:]
    return instruction.replace(f"\n{memory}\n", "\n", 1)
