"""The packed forward pass: several rows in one sequence, kept apart, through litgpt's own Blocks."""
from __future__ import annotations

import contextlib

import torch

from doppel.training.data import IGNORE


def packed_mask(doc, window: int | None = None):
    """Block-diagonal causal mask (B, 1, T, T), True = may attend: same row and not in the future."""
    T = doc.size(1)
    i = torch.arange(T, device=doc.device)
    causal = i[:, None] >= i[None, :]
    if window is not None:
        causal = causal & (i[:, None] - i[None, :] < window)
    return ((doc[:, :, None] == doc[:, None, :]) & causal).unsqueeze(1)


@contextlib.contextmanager
def _no_builtin_window(attn):
    saved = attn.apply_sliding_window_attention
    attn.apply_sliding_window_attention = False
    try:
        yield
    finally:
        attn.apply_sliding_window_attention = saved


def _additive(mask):
    """A boolean mask as scores to add (0 or -inf): what litgpt's softcapping path expects."""
    return torch.zeros(mask.shape, dtype=torch.float32, device=mask.device).masked_fill(~mask, float("-inf"))


def forward(model, idx, pos=None, doc=None, select=None):
    """litgpt GPT forward through its own Blocks, with packed rows kept apart.

    pos (B, T): RoPE position of every token (restarting at each row); doc (B, T): row id per token; without
    them this is the plain causal forward (SDPA is_causal). select (B, T) bool: run ln_f/lm_head only there
    and return (N, vocab) logits; else (B, T, vocab)."""
    cfg = model.config
    T = idx.size(1)
    if T > model.max_seq_length:
        raise ValueError(f"sequence of {T} tokens > max_seq_length {model.max_seq_length}")
    if pos is None:
        cos, sin = model.cos[:T].unsqueeze(0), model.sin[:T].unsqueeze(0)
    else:
        cos, sin = model.cos[pos], model.sin[pos]
    mask = None
    if doc is not None:
        mask = packed_mask(doc)
        if cfg.attention_logit_softcapping is not None:  # that path adds the mask to the scores
            mask = _additive(mask)
    x = model.transformer.wte(idx)
    if cfg.scale_embeddings:
        x = x * torch.tensor(cfg.n_embd**0.5, dtype=x.dtype)
    for block_idx, block in enumerate(model.transformer.h):
        c, s = cos, sin
        if cfg.rope_indices is not None:
            c, s = cos[..., cfg.rope_indices[block_idx]], sin[..., cfg.rope_indices[block_idx]]
        windowed = getattr(block.attn, "apply_sliding_window_attention", False)
        if doc is not None and windowed:
            m = packed_mask(doc, cfg.sliding_window_size)
            if mask.dtype != torch.bool:
                m = _additive(m)
            with _no_builtin_window(block.attn):
                x = block(x, c, s, m)
        else:
            x = block(x, c, s, mask)
    if select is not None:
        x = x[select]
    x = model.transformer.ln_f(x)
    logits = model.lm_head(x)
    if cfg.final_logit_softcapping is not None:
        logits = torch.tanh(logits / cfg.final_logit_softcapping) * cfg.final_logit_softcapping
    return logits


class PackedLM(torch.nn.Module):
    """Wraps litgpt.lora.GPT so Fabric/DDP see one module whose forward is the packed one."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, idx, pos=None, doc=None, select=None):
        return forward(self.model, idx, pos, doc, select)


def batch_loss(module, batch: dict, device, chunk: int = 0):
    """Mean cross entropy over the batch's target tokens (chunked_cross_entropy), and their count."""
    from litgpt.utils import chunked_cross_entropy

    n = int((batch["targets"] != IGNORE).sum())  # counted on the CPU copy: no device sync
    if n == 0:
        return None, 0
    tgt = batch["targets"].to(device, non_blocking=True)
    select = tgt != IGNORE
    kw = {k: batch[k].to(device) for k in ("pos", "doc") if k in batch}
    logits = module(batch["idx"].to(device), select=select, **kw)
    return chunked_cross_entropy(logits, tgt[select], chunk_size=chunk), n
