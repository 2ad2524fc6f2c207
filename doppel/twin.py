"""The twin at inference time: a litgpt checkpoint (plus, optionally, our LoRA adapter) and its tokenizer.

Used by `evaluate` (loss, batched replies) and `chat` (streamed replies):

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

from doppel.errors import InputError
from doppel.prompt import STOP_STRINGS, prompt_and_response

HINT = "run `dvc repro` or `dvc pull` first"

_PRECISIONS = {
    "32": torch.float32, "32-true": torch.float32, "float32": torch.float32, "fp32": torch.float32,
    "16": torch.float16, "16-true": torch.float16, "float16": torch.float16, "fp16": torch.float16,
    "bf16": torch.bfloat16, "bf16-true": torch.bfloat16, "bfloat16": torch.bfloat16,
}


# ----------------------------------------------------------------------------------------------- loading

def _resolve_device(device: str | torch.device) -> torch.device:
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _resolve_dtype(precision: str | None, device: torch.device) -> torch.dtype:
    if precision is None:
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    key = str(precision).lower().removesuffix("-mixed").removesuffix("-true")
    if key not in _PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; use one of 32-true, bf16-true, 16-true")
    return _PRECISIONS[key]


def check_checkpoint(checkpoint_dir: str | Path) -> Path:
    """The absolute checkpoint dir, or an InputError naming what is missing."""
    path = Path(checkpoint_dir).expanduser().resolve()
    if not path.is_dir():
        raise InputError(path, f"base checkpoint not found; {HINT}")
    for name in ("lit_model.pth", "model_config.yaml"):
        if not (path / name).is_file():
            raise InputError(path / name, f"base checkpoint file missing; {HINT}")
    if not ((path / "tokenizer.json").is_file() or (path / "tokenizer.model").is_file()):
        raise InputError(path / "tokenizer.json", f"tokenizer missing; {HINT}")
    return path


def check_adapter(adapter_dir: str | Path) -> Path:
    path = Path(adapter_dir).expanduser().resolve()
    if not path.is_dir():
        raise InputError(path, f"adapter not found; {HINT}")
    for name in ("adapter.pth", "model_config.yaml"):
        if not (path / name).is_file():
            raise InputError(path / name, f"adapter file missing; {HINT}")
    return path


def base_checkpoint(arg: str | Path | None = None, params_file: str | Path | None = None) -> Path:
    """The base checkpoint dir: `arg` when given, else the base stage's (`stages.base.resolve_checkpoint`
    with the `base:` section of `params_file`, default params.yaml)."""
    if arg:
        return Path(arg)
    try:
        from doppel.base import resolve_checkpoint
    except ImportError as err:
        raise InputError("stages/base.py", f"cannot find the base checkpoint ({err}); pass --checkpoint") from err
    from doppel import params as params_mod

    return Path(resolve_checkpoint(params_mod.load(path=params_file or params_mod.PARAMS_FILE)))


def _state_dict(path: Path) -> dict[str, torch.Tensor]:
    try:
        sd = torch.load(path, map_location="cpu", mmap=True, weights_only=True)
    except Exception as err:  # noqa: BLE001 - a truncated or foreign file: one line for the user
        raise InputError(path, f"cannot read weights ({type(err).__name__}: {err})") from err
    return sd.get("model", sd) if isinstance(sd, dict) else sd


def load(
    checkpoint_dir: str | Path,
    adapter_dir: str | Path | None = None,
    device: str | torch.device = "auto",
    precision: str | None = None,
) -> "Twin":
    """Base checkpoint (+ LoRA adapter, merged into the weights) and tokenizer, ready to generate.

    The model is built on the meta device and its weights assigned straight from the (memory-mapped)
    files, so a real checkpoint is read once and cast once: bf16 on a GPU by default, float32 on CPU.
    """
    import litgpt
    import litgpt.lora

    checkpoint_dir = check_checkpoint(checkpoint_dir)
    dev = _resolve_device(device)
    dtype = _resolve_dtype(precision, dev)

    if adapter_dir is not None:
        adapter_dir = check_adapter(adapter_dir)
        config = litgpt.lora.Config.from_file(adapter_dir / "model_config.yaml")
        model_cls = litgpt.lora.GPT
    else:
        config = litgpt.Config.from_file(checkpoint_dir / "model_config.yaml")
        model_cls = litgpt.GPT

    state = dict(_state_dict(checkpoint_dir / "lit_model.pth"))
    if adapter_dir is not None:
        state.update(_state_dict(adapter_dir / "adapter.pth"))

    with torch.device("meta"):
        model = model_cls(config)
    try:
        result = model.load_state_dict(state, strict=False, assign=True)
    except RuntimeError as err:  # shape mismatch: an adapter trained on another base
        where = adapter_dir if adapter_dir is not None else checkpoint_dir
        first = str(err).strip().splitlines()
        raise InputError(where, f"weights do not fit the model config ({first[-1].strip() if first else err})") from err
    if result.missing_keys:
        lora = [k for k in result.missing_keys if "lora_" in k]
        where = (adapter_dir / "adapter.pth") if lora and adapter_dir is not None else checkpoint_dir / "lit_model.pth"
        raise InputError(where, f"{len(result.missing_keys)} weights missing, e.g. {result.missing_keys[0]}")
    del state

    # The rope cache was built on the meta device with the model; rebuild it, then move and cast everything.
    model.cos, model.sin = model.rope_cache(device=torch.device("cpu"))
    model = model.to(device=dev, dtype=dtype)
    if adapter_dir is not None:
        litgpt.lora.merge_lora_weights(model)
    model.eval()
    model.requires_grad_(False)

    tokenizer = litgpt.Tokenizer(checkpoint_dir)
    return Twin(model=model, tokenizer=tokenizer, device=dev, checkpoint_dir=checkpoint_dir,
                adapter_dir=Path(adapter_dir) if adapter_dir is not None else None)


# ------------------------------------------------------------------------------------------- decoding

def _stop_hold(text: str) -> int:
    """How many trailing chars of `text` could be the start of a stop string (held back until known)."""
    hold = 0
    for stop in STOP_STRINGS:
        for n in range(min(len(stop) - 1, len(text)), hold, -1):
            if text.endswith(stop[:n]):
                hold = n
                break
    return hold


class TextCut:
    """Incremental decoding of one reply: feed token ids, get the text that is now certain.

    What comes out, concatenated, is the continuation up to the first stop string, stripped: leading
    whitespace is dropped, whitespace is held until something follows it, an unfinished UTF-8 character
    (decoded as U+FFFD) and a possible start of a stop string are held until the next token decides.
    """

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.ids: list[int] = []
        self.emitted = 0  # chars of the stripped reply already given out
        self.stopped = False

    def _visible(self, final: bool) -> str:
        text = self.tokenizer.decode(torch.tensor(self.ids, dtype=torch.long)) if self.ids else ""
        cut = min((i for i in (text.find(s) for s in STOP_STRINGS) if i >= 0), default=-1)
        if cut >= 0:
            self.stopped = True
            text = text[:cut]
        elif not final:
            text = text[: len(text) - _stop_hold(text)]
        return text.rstrip("\ufffd").strip()

    def push(self, token_id: int) -> str:
        """Add one generated token; the new certain text (may be "")."""
        self.ids.append(int(token_id))
        return self._take(self._visible(final=False))

    def finish(self) -> str:
        """No more tokens: the rest of the reply."""
        return self._take(self._visible(final=True))

    def text(self) -> str:
        """The whole reply so far, as if finished."""
        return self._visible(final=True)

    def _take(self, visible: str) -> str:
        piece = visible[self.emitted:]
        self.emitted = max(self.emitted, len(visible))
        return piece


def sample_next(
    logits: torch.Tensor, temperature: float, top_k: int | None, top_p: float, generator: torch.Generator | None
) -> torch.Tensor:
    """Next token per row from (B, V) logits: greedy at temperature 0, else top-k / top-p sampling.

    litgpt's `sample` works on one row and the global RNG; this is the same filtering for a batch, with an
    optional seeded generator (so a seeded reply never disturbs the caller's random state).
    """
    logits = logits.float()
    if temperature <= 0 or top_p <= 0:
        return logits.argmax(dim=-1)
    logits = logits / temperature
    if top_k is not None and 0 < top_k < logits.size(-1):
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        probs = sorted_logits.softmax(dim=-1)
        drop = probs.cumsum(dim=-1) - probs > top_p  # keep the smallest set reaching top_p (always >= 1)
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
    probs = logits.softmax(dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


# ---------------------------------------------------------------------------------------------- the twin

@dataclass
class Twin:
    model: torch.nn.Module
    tokenizer: object
    device: torch.device
    checkpoint_dir: Path | None = None
    adapter_dir: Path | None = None
    defaults: dict = field(default_factory=lambda: {
        "max_new_tokens": 64, "temperature": 0.8, "top_k": 50, "top_p": 0.95})

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

    def _budget(self, max_new_tokens: int) -> tuple[int, int]:
        """(new tokens, prompt tokens) that fit the context together. A model with sliding-window layers
        (Gemma, Mistral v0.1, Phi-3) prefills at most one window: its ring-buffer KV cache takes no more."""
        new = max(1, int(max_new_tokens))
        if new >= self.block_size:
            new = self.block_size // 2
        prompt = self.block_size - new
        if window := self._window_size():
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

    def _window_size(self) -> int | None:
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
    def _steps(
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
                token = sample_next(logits, temperature, top_k, top_p, gen)
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

    def stream(
        self, prompt: str, max_new_tokens: int | None = None, temperature: float | None = None,
        top_k: int | None = None, top_p: float | None = None, seed: int | None = None,
    ) -> Iterator[str]:
        """The reply to a full prompt (`prompt_for(instruction)`), piece by piece as tokens come."""
        new, keep = self._budget(self.defaults["max_new_tokens"] if max_new_tokens is None else max_new_tokens)
        ids = self.encode_prompt(prompt, keep)
        cut = TextCut(self.tokenizer)
        done = [False]
        for (token,) in self._steps([ids], new, *self._sampling(temperature, top_k, top_p), seed, done):
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

    def _sampling(self, temperature, top_k, top_p) -> tuple[float, int | None, float]:
        d = self.defaults
        return (
            float(d["temperature"] if temperature is None else temperature),
            (d["top_k"] if top_k is None else top_k) or None,
            float(d["top_p"] if top_p is None else top_p),
        )

    def generate(self, prompt: str, **kwargs) -> str:
        return "".join(self.stream(prompt, **kwargs))

    def reply(self, instruction: str, **kwargs) -> str:
        """The twin's reply to a rendered context (a dataset row's `instruction`)."""
        return self.generate(self.prompt_for(instruction), **kwargs)

    def generate_batch(
        self, prompts: list[str], max_new_tokens: int | None = None, temperature: float | None = None,
        top_k: int | None = None, top_p: float | None = None, seed: int | None = None,
    ) -> list[str]:
        """Replies to several prompts decoded together (one forward per step for the whole batch).

        Deterministic for a given seed and batch; with temperature 0 each equals its `generate` reply.
        """
        if not prompts:
            return []
        if len(prompts) > 1 and self._window_size():  # ring-buffer KV caches: one row at a time
            return [self.generate_batch([p], max_new_tokens, temperature, top_k, top_p,
                                        None if seed is None else seed + i)[0] for i, p in enumerate(prompts)]
        new, keep = self._budget(self.defaults["max_new_tokens"] if max_new_tokens is None else max_new_tokens)
        ids = [self.encode_prompt(p, keep) for p in prompts]
        cuts = [TextCut(self.tokenizer) for _ in prompts]
        done = [False] * len(prompts)
        finished = [False] * len(prompts)
        for tokens in self._steps(ids, new, *self._sampling(temperature, top_k, top_p), seed, done):
            for i, t in enumerate(tokens):
                if finished[i]:
                    continue
                if self.eos_id is not None and t == self.eos_id:
                    finished[i] = True
                    continue
                cuts[i].push(t)
                if cuts[i].stopped:
                    finished[i] = done[i] = True
        return [c.text() for c in cuts]

    # ------------------------------------------------------------------------------------------ loss

    def encode_row(self, instruction: str, output: str) -> tuple[list[int], list[int]]:
        """(input ids, labels) for one row, labels -100 on the prompt; the prompt is cut from the left so
        that the reply (and its EOS) fits `block_size`."""
        prompt, target = prompt_and_response(instruction, output)
        p = self.tokenizer.encode(prompt, bos=self.bos).tolist()
        t = self.tokenizer.encode(target, bos=False, eos=self.eos_id is not None).tolist()
        limit = self.block_size + 1  # inputs are ids[:-1], so block_size + 1 ids fit
        if len(t) > limit - 1:
            t = t[: limit - 1]
        room = limit - len(t)
        if len(p) > room:
            bos = self.tokenizer.bos_id
            p = ([bos] + p[len(p) - (room - 1):]) if (bos is not None and p and p[0] == bos and room > 1) else p[len(p) - room:]
        ids = p + t
        labels = [-100] * len(p) + t
        return ids, labels

    @torch.inference_mode()
    def loss_stats(self, rows: Iterable[dict], batch_size: int = 8) -> tuple[float, int]:
        """(summed negative log-likelihood, number of target tokens) over the rows' replies."""
        encoded = [self.encode_row(r["instruction"], r["output"]) for r in rows]
        order = sorted(range(len(encoded)), key=lambda i: (len(encoded[i][0]), i))  # similar lengths together
        total, count = 0.0, 0
        for start in range(0, len(order), max(1, batch_size)):
            chunk = [encoded[i] for i in order[start:start + batch_size]]
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
            for part in range(0, len(targets), 512):  # float32 in slices: a real vocabulary's logits are large
                total += float(torch.nn.functional.cross_entropy(
                    logits[part:part + 512].float(), targets[part:part + 512], reduction="sum"))
            count += len(targets)
        return total, count

    def loss(self, rows: Iterable[dict], batch_size: int = 8) -> float:
        """Mean loss per target token (the reply and its EOS), the prompt masked out."""
        total, count = self.loss_stats(rows, batch_size)
        return total / count if count else math.nan
