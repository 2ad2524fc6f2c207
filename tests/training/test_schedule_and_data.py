"""train's data path and schedule with exact values: the learning-rate multiplier at every step, best-fit
packing, the run's plan, the batch tensors, and gradient accumulation (micro-batches weighted by their target
tokens, so any micro_batch_size gives the update of one full batch)."""
from __future__ import annotations

import contextlib
import math
from types import SimpleNamespace

import pytest
import torch

from conftest import cfg
from doppel.model.encode import Example
from doppel.training.data import IGNORE, collate, encode_rows, make_plan, pack
from doppel.training.loop import optimizer_step
from doppel.training.schedule import lr_lambda

# ---------------------------------------------------------------------------------------------- schedule


def multipliers(total: int, **knobs) -> list[float]:
    c = cfg("train", **knobs)
    f = lr_lambda(c.warmup_steps, total, c.schedule, c.min_lr_ratio)
    return [round(f(step), 6) for step in range(total + 2)]


def test_cosine_after_a_linear_warmup_down_to_the_floor():
    got = multipliers(10, schedule="cosine", warmup_steps=2, min_lr_ratio=0.1)
    cos = [0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * k / 8)) for k in range(9)]
    assert got == [round(x, 6) for x in [1 / 3, 2 / 3, *cos, 0.1]]
    assert got[6] == 0.55  # half way through the decay: the floor plus half of the rest


def test_linear_decay_and_constant():
    assert multipliers(6, schedule="linear", warmup_steps=1, min_lr_ratio=0.2) == [
        0.5, 1.0, 0.84, 0.68, 0.52, 0.36, 0.2, 0.2]
    assert multipliers(4, schedule="constant", warmup_steps=3, min_lr_ratio=0.5) == [
        0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    assert multipliers(4, schedule="linear", warmup_steps=0, min_lr_ratio=0.0) == [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]


def test_a_run_no_longer_than_its_warmup_still_decays():
    assert multipliers(2, schedule="linear", warmup_steps=2, min_lr_ratio=0.0) == [
        round(1 / 3, 6), round(2 / 3, 6), 1.0, 0.0]


def test_the_optimizer_sees_the_schedule():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.5)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(1, 3, "linear", 0.0))
    lrs = []
    for _ in range(4):
        lrs.append(round(opt.param_groups[0]["lr"], 6))
        opt.step()
        sched.step()
    assert lrs == [0.25, 0.5, 0.25, 0.0]


# ---------------------------------------------------------------------------------------------- packing, plan


def test_best_fit_decreasing_puts_each_item_in_the_fullest_bin_it_fits():
    assert pack([5, 3, 4, 2, 6], 8) == [[4, 3], [0, 1], [2]]
    assert pack([8, 8], 8) == [[0], [1]]
    assert pack([6, 5, 1], 8) == [[0, 2], [1]]  # the 1 goes where 2 are free, not 3
    assert pack([0, 0], 4) == [[0, 1]]
    assert pack([], 8) == []
    with pytest.raises(ValueError, match="item 1 of length 9 exceeds capacity 8"):
        pack([1, 9], 8)


def test_pack_with_an_rng_shuffles_only_equal_lengths():
    import random

    lengths = [3, 3, 3, 3, 2, 2]
    for seed in range(5):
        bins = pack(lengths, 5, random.Random(seed))
        assert sorted(sorted(lengths[i] for i in b) for b in bins) == [[2, 3]] * 2 + [[3]] * 2
    assert {tuple(map(tuple, pack(lengths, 5, random.Random(s)))) for s in range(10)} != {
        tuple(map(tuple, pack(lengths, 5)))}


def plan_cfg(**knobs):
    return cfg("train", **{"packing": False, "epochs": 2, "max_steps": 0, "batch_size": 2, "micro_batch_size": 1,
                           "seed": 3, **knobs})


def test_plan_covers_every_row_once_per_epoch_in_steps_of_batch_size():
    lengths = [4, 4, 4, 4, 4]
    tp = plan_cfg()
    plan = make_plan(lengths, tp, 8)
    assert [len(step) for step in plan] == [2, 2, 2, 2, 2]
    seqs = [s for step in plan for s in step]
    assert all(len(s) == 1 for s in seqs)
    assert sorted(s[0] for s in seqs[:5]) == sorted(s[0] for s in seqs[5:]) == [0, 1, 2, 3, 4]
    assert seqs[:5] != seqs[5:]                  # each epoch has its own order
    assert make_plan(lengths, plan_cfg(seed=4), 8) != plan
    capped = make_plan(lengths, plan_cfg(max_steps=3), 8)
    assert capped == plan[:3]
    endless = make_plan(lengths, plan_cfg(epochs=0, max_steps=7), 8)
    assert len(endless) == 7 and endless[:5] == plan
    one_row = make_plan([4], plan_cfg(epochs=0, max_steps=300), 8)  # 600 epochs of one row
    assert len(one_row) == 300 and all(step == [[0], [0]] for step in one_row)
    assert make_plan([], tp, 8) == []


def test_packed_plan_mixes_equal_lengths_differently_each_epoch():
    lengths = [3, 3, 3, 3, 2, 2]
    plan = make_plan(lengths, plan_cfg(packing=True, epochs=4, batch_size=1), 5)
    epochs = [frozenset(frozenset(s) for step in plan[e * 4:(e + 1) * 4] for s in step) for e in range(4)]
    assert len(set(epochs)) > 1


def test_packed_plan_fills_sequences_to_the_length():
    lengths = [5, 3, 4, 2, 6]
    plan = make_plan(lengths, plan_cfg(packing=True, epochs=1, seed=1), 8)
    seqs = [s for step in plan for s in step]
    assert sorted(sorted(s) for s in seqs) == [[0, 1], [2], [3, 4]]
    assert [len(step) for step in plan] == [2, 1]


# ---------------------------------------------------------------------------------------------- tensors


A, B = Example([10, 11, 12, 13], 2), Example([20, 21, 22], 1)


def test_collate_lays_rows_out_with_targets_positions_and_row_ids():
    out = collate([A, B], [[0, 1], [1]], pad_id=0)
    assert out["idx"].tolist() == [[10, 11, 12, 20, 21], [20, 21, 0, 0, 0]]
    assert out["targets"].tolist() == [[IGNORE, 12, 13, 21, 22], [21, 22, IGNORE, IGNORE, IGNORE]]
    assert out["pos"].tolist() == [[0, 1, 2, 0, 1], [0, 1, 0, 0, 0]]
    assert out["doc"].tolist() == [[0, 0, 0, 1, 1], [0, 0, -1, -1, -1]]
    assert out["lengths"] == [3, 2, 2] and out["tokens"] == 7
    assert "pos" not in collate([A, B], [[0], [1]]) and "doc" not in collate([A, B], [[0, 1]], packed=False)
    assert collate([A], [[0]], pad_id=9)["idx"].tolist() == [[10, 11, 12]]
    assert collate([A, B], [[0], [1]])["idx"].tolist() == [[10, 11, 12], [20, 21, 0]]  # pad 0 by default
    three = collate([A, B, B], [[1, 0, 2]])
    assert three["idx"].tolist() == [[20, 21, 10, 11, 12, 20, 21]]
    assert three["doc"].tolist() == [[0, 0, 1, 1, 1, 2, 2]] and three["pos"].tolist() == [[0, 1, 0, 1, 2, 0, 1]]
    table = torch.arange(100)  # positions and ids index tables (RoPE, embeddings): they must be integers
    assert table[out["pos"]].tolist() == out["pos"].tolist() and table[out["idx"]].tolist() == out["idx"].tolist()
    assert collate([A, B], [[0], [1]], pad_id=9)["idx"].tolist() == [[10, 11, 12], [20, 21, 9]]


class CharTokenizer:
    bos_id, eos_id = 1, 2

    def encode(self, text: str, bos: bool = False, eos: bool = False):
        return torch.tensor([1] * bos + [3 + ord(c) % 50 for c in text] + [2] * eos)


def test_encode_rows_counts_cut_and_dropped_rows():
    fits = {"instruction": "Them: hi", "output": "ok"}
    cut = {"instruction": "Them: " + "x" * 40, "output": "ok"}           # its context is cut on the left
    drop = {"instruction": "Them: hi", "output": "y" * 40}              # its reply alone does not fit
    examples, stats = encode_rows(CharTokenizer(), [fits, cut, drop, drop, cut, fits], 24)
    assert stats == {"rows": 6, "kept": 4, "cut_left": 2, "dropped_long_reply": 2}
    assert [len(e.ids) for e in examples] == [17, 24, 24, 17]


# ---------------------------------------------------------------------------------------------- accumulation


class Toy(torch.nn.Module):
    """A bigram model with the PackedLM call signature."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.emb = torch.nn.Embedding(30, 30)

    def forward(self, idx, pos=None, doc=None, select=None):
        logits = self.emb(idx)
        return logits[select] if select is not None else logits


class OneDevice:
    global_rank, world_size, device = 0, 1, torch.device("cpu")

    def no_backward_sync(self, module, enabled):
        return contextlib.nullcontext()

    def backward(self, loss):
        loss.backward()

    def clip_gradients(self, module, optimizer, max_norm):
        torch.nn.utils.clip_grad_norm_(module.parameters(), max_norm)


EXAMPLES = [Example([3, 4, 5, 6, 7, 8], 2), Example([9, 10, 11], 2), Example([12, 13, 14, 15], 1),
            Example([16, 17, 18, 19, 20, 21, 22], 6)]  # 4, 1, 3 and 1 target tokens


def one_step(micro_batch_size: int, grad_clip: float = 0.0):
    module = Toy()
    opt = torch.optim.SGD(module.parameters(), lr=1.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    tp = cfg("train", batch_size=4, micro_batch_size=micro_batch_size, packing=False, grad_clip=grad_clip)
    run = SimpleNamespace(cfg=tp, fabric=OneDevice(), module=module, optimizer=opt, scheduler=sched,
                          data=SimpleNamespace(train=EXAMPLES, plan=[[[0], [1], [2], [3]]]))
    loss, lengths, n = optimizer_step(run, 0)
    return float(loss), lengths, n, module.emb.weight.detach().clone()


def full_batch_reference():
    """The token-mean cross entropy over all 9 reply tokens of the step, one backward, one SGD step."""
    module = Toy()
    logits, targets = [], []
    for ex in EXAMPLES:
        ids = torch.tensor(ex.ids)
        logits.append(module(ids[:-1])[ex.n_prompt - 1:])
        targets.append(ids[ex.n_prompt:])
    loss = torch.nn.functional.cross_entropy(torch.cat(logits), torch.cat(targets))
    loss.backward()
    with torch.no_grad():
        module.emb.weight -= module.emb.weight.grad
    return loss.item(), module.emb.weight.detach().clone()


@pytest.mark.parametrize("micro", [1, 2, 4])
def test_gradient_accumulation_gives_the_full_batch_update(micro):
    ref_loss, ref_weight = full_batch_reference()
    loss, lengths, n, weight = one_step(micro)
    assert n == 9 and lengths == [5, 2, 3, 6]
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    assert torch.allclose(weight, ref_weight, atol=1e-6)


def test_grad_clip_bounds_the_update():
    _, ref_weight = full_batch_reference()
    moved = (one_step(2, grad_clip=0.01)[3] - Toy().emb.weight.detach()).norm()
    assert float(moved) == pytest.approx(0.01, rel=1e-4)
    assert float((ref_weight - Toy().emb.weight.detach()).norm()) > 0.1
