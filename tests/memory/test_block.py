"""The memory block: one header, one line per memory, never past its budget (exactly at it allowed)."""
from __future__ import annotations

from doppel.memory import block
from doppel.prompt import approx_tokens

MEMS = [{"text": "Rex is fine\nhe ate a sock", "answered": "how is the dog?"}, {"text": "moved to Porto", "answered": ""}]


def test_renders_header_and_items_in_order():
    out = block.render(MEMS, 1000)
    assert out == ("Things Me said before:\n"
                   "- (Them: how is the dog?) Me: Rex is fine / he ate a sock\n"
                   "- Me: moved to Porto")


def test_budget_exactly_at_and_one_below():
    full = block.render(MEMS, 1000)
    assert block.render(MEMS, approx_tokens(full)) == full                 # exactly at the cap: all of it
    one = block.render(MEMS[:1], 1000)
    assert block.render(MEMS, approx_tokens(full) - 1) == one              # one below: the last memory goes
    assert block.render(MEMS, approx_tokens(one) - 1) == ""                # no memory fits: no block
    for budget in range(0, 60):
        assert approx_tokens(block.render(MEMS, budget)) <= budget


def test_no_memories_no_block():
    assert block.render([], 100) == ""
