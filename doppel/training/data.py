"""Rows -> training sequences: encoding, best-fit packing, the run's data order, and batch tensors."""
from __future__ import annotations

import random

from doppel.config import TrainConfig
from doppel.model.encode import Example, encode_row

IGNORE = -100  # target of a position without loss (prompt, padding)


def encode_rows(tokenizer, rows: list[dict], max_seq_length: int) -> tuple[list[Example], dict[str, int]]:
    """Rows -> examples, and how many were kept, cut on the left, dropped (reply longer than max_seq_length)."""
    examples, cut, dropped = [], 0, 0
    for row in rows:
        ex, was_cut = encode_row(tokenizer, row["instruction"], row["output"], max_seq_length)
        if ex is None:
            dropped += 1
            continue
        cut += was_cut
        examples.append(ex)
    return examples, {"rows": len(rows), "kept": len(examples), "cut_left": cut, "dropped_long_reply": dropped}


def pack(lengths: list[int], capacity: int, rng: random.Random | None = None) -> list[list[int]]:
    """Best-fit decreasing bin packing of item lengths into bins of `capacity`. Deterministic; `rng` shuffles
    the items first, so that equal lengths meet different neighbours from one epoch to the next."""
    order = list(range(len(lengths)))
    if rng is not None:
        rng.shuffle(order)
    order.sort(key=lambda i: -lengths[i])
    free: list[list[int]] = [[] for _ in range(capacity + 1)]  # free[c]: bins with exactly c free slots
    bins: list[list[int]] = []
    room: list[int] = []
    for i in order:
        n = lengths[i]
        if n > capacity:
            raise ValueError(f"item {i} of length {n} exceeds capacity {capacity}")
        c = n
        while c <= capacity and not free[c]:
            c += 1
        if c <= capacity:
            b = free[c].pop()
        else:
            b = len(bins)
            bins.append([])
            room.append(capacity)
        bins[b].append(i)
        room[b] -= n
        free[room[b]].append(b)
    return bins


def make_plan(lengths: list[int], cfg: TrainConfig, seq_len: int) -> list[list[list[int]]]:
    """The whole run's data order: steps -> sequences (bins) -> row indices. A pure function of the lengths
    and the params, so a resumed run continues from exactly where the killed one stopped."""
    if not lengths:
        return []
    sequences: list[list[int]] = []
    epochs = cfg.epochs or 10**9  # epochs 0: as many as max_steps needs
    bs = cfg.batch_size
    for epoch in range(epochs):
        rng = random.Random(cfg.seed * 1_000_003 + epoch)
        if cfg.packing:
            bins = pack(lengths, seq_len, rng)
            rng.shuffle(bins)
            for b in bins:
                rng.shuffle(b)
        else:
            bins = [[i] for i in range(len(lengths))]
            rng.shuffle(bins)
        sequences += bins
        if cfg.max_steps and len(sequences) >= cfg.max_steps * bs:
            break
    steps = [sequences[i:i + bs] for i in range(0, len(sequences), bs)]
    return steps[: cfg.max_steps] if cfg.max_steps else steps


def collate(examples: list[Example], seqs: list[list[int]], pad_id: int = 0, packed: bool = True) -> dict:
    """Sequences of rows -> tensors: idx, targets (-100 off the replies), pos (restarting per row), doc (row
    number inside the sequence, -1 on padding). Padding goes at the end, to the longest sequence."""
    import torch

    T = max(sum(examples[i].n_inputs for i in s) for s in seqs)
    B = len(seqs)
    idx = torch.full((B, T), pad_id)
    tgt = torch.full((B, T), IGNORE)
    pos = torch.zeros((B, T), dtype=torch.long)
    doc = torch.full((B, T), -1)
    lengths: list[int] = []
    for b, s in enumerate(seqs):
        at = 0
        for d, i in enumerate(s):
            ex = examples[i]
            n = ex.n_inputs
            ids = torch.tensor(ex.ids)
            idx[b, at:at + n] = ids[:-1]
            y = ids[1:].clone()
            y[: max(0, ex.n_prompt - 1)] = IGNORE  # targets j predict token j+1: the reply starts at n_prompt
            tgt[b, at:at + n] = y
            pos[b, at:at + n] = torch.arange(n)
            doc[b, at:at + n] = d
            at += n
            lengths.append(n)
    out = {"idx": idx, "targets": tgt, "lengths": lengths, "tokens": sum(lengths)}
    if packed and any(len(s) > 1 for s in seqs):
        out["pos"], out["doc"] = pos, doc
    return out
