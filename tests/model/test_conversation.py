"""doppel.model.conversation: what the context budget keeps (exactly at the boundary) and how seeds advance."""
from __future__ import annotations

import pytest

from support import twin as F
from doppel.model.conversation import Conversation
from doppel.prompt import render_context

pytestmark = pytest.mark.usefixtures("one_thread")
HOT = dict(max_new_tokens=8, temperature=0.9, top_k=40, top_p=0.95)


@pytest.fixture(scope="module")
def twin(tiny_twin):
    from doppel.model.load import load

    ck, ad = tiny_twin
    return load(ck, ad, device="cpu")


def turns(n: int) -> list[tuple[bool, str]]:
    return [(i % 2 == 1, f"message {i} about coffee") for i in range(n)]


def test_an_old_turn_that_still_fits_is_kept_exactly_at_the_budget(twin):
    all_turns = turns(9)
    full = twin.count_tokens(twin.prompt_for(render_context(all_turns, F.SYSTEM)))
    without_oldest = twin.count_tokens(twin.prompt_for(render_context(all_turns[1:], F.SYSTEM)))
    assert without_oldest < full < twin.budget(HOT["max_new_tokens"])[1]
    for budget, kept in ((full, all_turns), (full - 1, all_turns[1:]), (without_oldest, all_turns[1:]),
                         (without_oldest - 1, all_turns[2:])):
        conv = Conversation(twin, F.SYSTEM, F.sampling(**HOT), context_tokens=budget)
        conv.turns = list(all_turns)
        prompt = conv.prompt()
        assert conv.turns == kept, budget
        assert prompt == twin.prompt_for(render_context(kept, F.SYSTEM)) and twin.count_tokens(prompt) <= budget


def test_reply_n_uses_seed_plus_n_and_reset_starts_again(twin):
    conv = Conversation(twin, F.SYSTEM, F.sampling(seed=10, **HOT), context_tokens=10_000)
    replies = [conv.say(text) for text in ("hi", "and you?", "ok")]
    history: list[tuple[bool, str]] = []
    for n, (text, reply) in enumerate(zip(("hi", "and you?", "ok"), replies)):
        history.append((False, text))
        prompt = twin.prompt_for(render_context(history, F.SYSTEM))
        assert reply == twin.generate(prompt, F.sampling(seed=10 + n, **HOT)), n
        if reply:
            history.append((True, reply))
    assert conv.replies == 3
    conv.reset()
    assert conv.turns == [] and conv.replies == 0 and conv.say("hi") == replies[0]
    seeds = {twin.generate(twin.prompt_for(render_context([(False, "hi")], F.SYSTEM)), F.sampling(seed=s, **HOT))
             for s in (10, 11, 12)}
    assert len(seeds) > 1  # the seed shows in the reply: the test can tell seeds apart


def test_a_long_history_keeps_exactly_the_newest_turns_that_fit(twin):
    """Many turns over the budget (the fast drop of what cannot fit runs): what stays is the longest run of
    newest turns that fits, not one turn less."""
    all_turns = [(i % 2 == 1, f"message {i} about coffee and movies tonight") for i in range(41)]
    budget = twin.count_tokens(twin.prompt_for(render_context(all_turns[-5:], F.SYSTEM))) + 2
    assert budget < twin.budget(HOT["max_new_tokens"])[1]
    conv = Conversation(twin, F.SYSTEM, F.sampling(**HOT), context_tokens=budget)
    conv.turns = list(all_turns)
    prompt = conv.prompt()
    assert conv.turns == all_turns[-5:] and twin.count_tokens(prompt) <= budget
    assert twin.count_tokens(twin.prompt_for(render_context(all_turns[-6:], F.SYSTEM))) > budget


def test_the_last_message_always_stays_even_alone_over_the_budget(twin):
    conv = Conversation(twin, F.SYSTEM, F.sampling(**HOT), context_tokens=30)
    long = " ".join(f"word{i}" for i in range(60))
    conv.turns = [(False, "hi"), (True, "hey"), (False, long)]
    conv.prompt()
    assert conv.turns == [(False, long)]
