"""The twin at inference time: a litgpt model (the base, or the base with our LoRA merged) and its tokenizer.

Used by `evaluate` (loss, batched replies) and `chat` (streamed replies); `doppel.model.load.load` builds one:

    twin = load(checkpoint_dir, adapter_dir)            # adapter_dir=None: the base model alone
    for piece in twin.stream(twin.prompt_for(instruction), max_new_tokens=64):
        print(piece, end="", flush=True)

Generation runs on litgpt's KV cache (`model.set_kv_cache` + `forward(idx, input_pos)`): the prompt is
prefilled once, then one token per step. Replies end at EOS or at a turn marker (`prompt.STOP_STRINGS`),
which is matched on the decoded text (a marker can tokenize differently in different contexts) and never
returned. A reply is the text up to the marker with the surrounding whitespace stripped, the same as
`prompt.cut_at_stop` of the whole continuation.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import torch

from doppel.config.types import Sampling
from doppel.model.encode import encode_row
from doppel.model.sampling import TextCut, sample_next
from doppel.prompt import prompt_and_response


@dataclass
class Twin:
    model: torch.nn.Module
    tokenizer: object
    device: torch.device
    checkpoint_dir: Path | None = None
    adapter_dir: Path | None = None
    guard_placeholders: bool = True  # never let a reply show a scrub placeholder (doppel.model.constraints)
    _guard: object = field(default=None, repr=False)

    def guard(self, logits: torch.Tensor) -> torch.Tensor:
        if not self.guard_placeholders:
            return logits
        if self._guard is None:
            from doppel.model.constraints import PlaceholderGuard

            self._guard = PlaceholderGuard(self.tokenizer, logits.size(-1))
        return self._guard.apply(logits)

    @property
    def block_size(self) -> int:
        return int(self.model.config.block_size)

    @property
    def eos_id(self) -> int | None:
        return self.tokenizer.eos_id

    def prompt_for(self, instruction: str) -> str:
        return prompt_and_response(instruction, "")[0]

    @property
    def bos(self) -> bool:
        """Prompts start with BOS whenever the tokenizer has one (as the train stage encodes them)."""
        return self.tokenizer.bos_id is not None

    def count_tokens(self, text: str) -> int:
        return int(self.tokenizer.encode(text, bos=self.bos).numel())

    def encode_prompt(self, prompt: str, max_tokens: int) -> list[int]:
        """Prompt ids, cut from the left (oldest context first) to `max_tokens`, keeping a leading BOS."""
        ids = self.tokenizer.encode(prompt, bos=self.bos).tolist()
        if len(ids) <= max_tokens:
            return ids
        bos = self.tokenizer.bos_id
        if ids and bos is not None and ids[0] == bos and max_tokens > 1:
            return [bos] + ids[len(ids) - (max_tokens - 1):]
        return ids[len(ids) - max_tokens:]

    def budget(self, max_new_tokens: int) -> tuple[int, int]:
        """(new tokens, prompt tokens) that fit the context together. A model with sliding-window layers
        (Gemma, Mistral v0.1, Phi-3) prefills at most one window: its ring-buffer KV cache takes no more."""
        new = max(1, int(max_new_tokens))
        if new >= self.block_size:
            new = self.block_size // 2
        prompt = self.block_size - new
        if window := self.window_size():
            prompt = min(prompt, window)
        return new, prompt

    def _logits_at(self, x: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, **forward_kwargs) -> torch.Tensor:
        """Logits at positions (rows[i], cols[i]) of `x` only: the body runs on every position, the output head
        only where needed (a long prompt before a short reply: most of the head's work, and the memory of
        B x T x vocab logits, is saved). Models with final logit softcapping take the plain path."""
        model = self.model
        if getattr(model.config, "final_logit_softcapping", None) is not None or not hasattr(model, "lm_head"):
            return model(x, **forward_kwargs)[rows, cols]
        head = model.lm_head
        model.lm_head = torch.nn.Identity()
        try:
            hidden = model(x, **forward_kwargs)
        finally:
            model.lm_head = head
        return head(hidden[rows, cols])

    def window_size(self) -> int | None:
        blocks = getattr(getattr(self.model, "transformer", None), "h", [])
        sizes = [b.attn.config.sliding_window_size for b in blocks
                 if getattr(b.attn, "apply_sliding_window_attention", False) and b.attn.config.sliding_window_size]
        return min(sizes) if sizes else None

    def _generator(self, seed: int | None) -> torch.Generator | None:
        if seed is None:
            return None
        gen = torch.Generator(device=self.device)
        gen.manual_seed(int(seed))
        return gen

    @torch.inference_mode()
    def decode_steps(
        self, prompts: list[list[int]], max_new_tokens: int, temperature: float, top_k: int | None, top_p: float,
        seed: int | None, done: list[bool],
    ) -> Iterator[list[int]]:
        """KV-cache decoding of a batch of prompts (right-padded; each row keeps its own positions).

        Yields the next token of every row per step; the caller marks finished rows in `done` (rows stop
        by themselves at EOS); ends when all rows are done or after `max_new_tokens` steps.
        """
        model, dev = self.model, self.device
        gen = self._generator(seed)
        lengths = [len(p) for p in prompts]
        batch, longest = len(prompts), max(lengths)
        cache_len = min(self.block_size, longest + max_new_tokens)
        model.set_kv_cache(batch_size=batch, max_seq_length=cache_len, device=dev)
        try:
            x = torch.zeros(batch, longest, dtype=torch.long)
            for i, p in enumerate(prompts):
                x[i, : len(p)] = torch.tensor(p, dtype=torch.long)
            x = x.to(dev)
            last = torch.tensor(lengths, device=dev) - 1
            logits = self._logits_at(x, torch.arange(batch, device=dev), last,
                                     input_pos=torch.arange(longest, device=dev), input_pos_maxp1=longest)  # (B, V)
            pos = torch.tensor(lengths, device=dev)
            for step in range(max_new_tokens):
                token = sample_next(self.guard(logits), temperature, top_k, top_p, gen)
                ids = token.tolist()
                for i, t in enumerate(ids):
                    if self.eos_id is not None and t == self.eos_id:
                        done[i] = True
                yield ids
                if all(done) or step == max_new_tokens - 1 or int(pos.max()) >= cache_len:
                    return
                if batch == 1:
                    p = pos  # (1,): the 1-d fast path
                    logits = model(token.view(1, 1), p, input_pos_maxp1=int(p[0]) + 1)[:, -1]
                else:
                    logits = model(token.view(batch, 1), pos.view(batch, 1), input_pos_maxp1=int(pos.max()) + 1)[:, -1]
                pos = pos + 1
        finally:
            model.clear_kv_cache()

    def stream(self, prompt: str, sampling: Sampling) -> Iterator[str]:
        """The reply to a full prompt (`prompt_for(instruction)`), piece by piece as tokens come."""
        new, keep = self.budget(sampling.max_new_tokens)
        ids = self.encode_prompt(prompt, keep)
        cut = TextCut(self.tokenizer)
        done = [False]
        for (token,) in self.decode_steps([ids], new, *_knobs(sampling), done):
            if done[0]:  # EOS
                break
            piece = cut.push(token)
            if piece:
                yield piece
            if cut.stopped:
                done[0] = True
                return
        piece = cut.finish()
        if piece:
            yield piece

    def generate(self, prompt: str, sampling: Sampling) -> str:
        return "".join(self.stream(prompt, sampling))

    def reply(self, instruction: str, sampling: Sampling) -> str:
        """The twin's reply to a rendered context (a dataset row's `instruction`)."""
        return self.generate(self.prompt_for(instruction), sampling)

    def generate_batch(self, prompts: list[str], sampling: Sampling) -> list[str]:
        """Replies to several prompts decoded together (one forward per step for the whole batch).

        Deterministic for a given seed and batch; with temperature 0 each equals its `generate` reply.
        """
        if not prompts:
            return []
        if len(prompts) > 1 and self.window_size():  # ring-buffer KV caches: one row at a time
            return [self.generate_batch([p], sampling.seeded(i))[0] for i, p in enumerate(prompts)]
        new, keep = self.budget(sampling.max_new_tokens)
        ids = [self.encode_prompt(p, keep) for p in prompts]
        cuts = [TextCut(self.tokenizer) for _ in prompts]
        done = [False] * len(prompts)  # decode_steps marks a row done at EOS (that token is not pushed)
        for tokens in self.decode_steps(ids, new, *_knobs(sampling), done):
            for i, t in enumerate(tokens):
                if done[i]:
                    continue
                cuts[i].push(t)
                if cuts[i].stopped:
                    done[i] = True
        return [c.text() for c in cuts]

    # ------------------------------------------------------------------------------------------ loss

    def encode_row(self, instruction: str, output: str) -> tuple[list[int], list[int]]:
        """(input ids, labels) for one row, labels -100 on the prompt, encoded as training does with the
        whole context (`block_size` inputs + the last target); the prompt is cut from the left so that the
        reply (and its EOS) fits, and a reply too long for the context is truncated rather than dropped."""
        ex, _ = encode_row(self.tokenizer, instruction, output, self.block_size + 1, long_reply="truncate")
        return ex.ids, ex.labels

    @torch.inference_mode()
    def row_losses(self, rows: Iterable[dict], batch_size: int) -> list[tuple[float, int]]:
        """Per row, in the rows' order: (summed negative log-likelihood, number of target tokens) of its reply."""
        encoded = [self.encode_row(r["instruction"], r["output"]) for r in rows]
        order = sorted(range(len(encoded)), key=lambda i: (len(encoded[i][0]), i))  # similar lengths together
        out: list[tuple[float, int]] = [(0.0, 0)] * len(encoded)
        for start in range(0, len(order), max(1, batch_size)):
            picked = order[start:start + batch_size]
            chunk = [encoded[i] for i in picked]
            width = max(len(ids) for ids, _ in chunk) - 1
            x = torch.zeros(len(chunk), width, dtype=torch.long)
            y = torch.full((len(chunk), width), -100, dtype=torch.long)
            for i, (ids, labels) in enumerate(chunk):
                x[i, : len(ids) - 1] = torch.tensor(ids[:-1])
                y[i, : len(ids) - 1] = torch.tensor(labels[1:])
            y = y.to(self.device)
            rows_, cols = (y != -100).nonzero(as_tuple=True)
            logits = self._logits_at(x.to(self.device), rows_, cols)  # (target tokens, V)
            targets = y[rows_, cols]
            nll = torch.zeros(len(chunk), dtype=torch.float64, device=targets.device)
            for part in range(0, len(targets), 512):  # float32 in slices: a real vocabulary's logits are large
                token_nll = torch.nn.functional.cross_entropy(
                    logits[part:part + 512].float(), targets[part:part + 512], reduction="none")
                nll.index_add_(0, rows_[part:part + 512], token_nll.double())
            counts = torch.bincount(rows_, minlength=len(chunk)).tolist()
            for i, row in enumerate(picked):
                out[row] = (float(nll[i]), int(counts[i]))
        return out

    def loss_stats(self, rows: Iterable[dict], batch_size: int) -> tuple[float, int]:
        """(summed negative log-likelihood, number of target tokens) over the rows' replies."""
        per_row = self.row_losses(rows, batch_size)
        return sum(n for n, _ in per_row), sum(c for _, c in per_row)

    def loss(self, rows: Iterable[dict], batch_size: int) -> float:
        """Mean loss per target token (the reply and its EOS), the prompt masked out."""
        total, count = self.loss_stats(rows, batch_size)
        return total / count if count else math.nan


def _knobs(s: Sampling) -> tuple[float, int | None, float, int | None]:
    """decode_steps' sampling arguments: temperature, top_k (0: off), top_p, seed."""
    return float(s.temperature), s.top_k or None, float(s.top_p), s.seed
