"""Tiny offline fixtures for the inference side (twin, evaluate, chat): a 2-layer litgpt checkpoint with a
byte-level BPE, a random LoRA adapter in the train stage's format, and a small synthetic dataset."""
from __future__ import annotations

import json
import random
from dataclasses import asdict
from pathlib import Path

import torch
import yaml

from doppel.config.types import Sampling
from doppel.prompt import render_context  # noqa: F401  (re-exported for tests)

SYSTEM = "A Telegram chat between Me and a friend."
OWNER_PHRASES = ["лол", "ну такое", "ахах", "кстати", "да норм", "го завтра"]
OWNER_WORDS = ["привет", "щас", "короче", "сегодня", "работа", "кофе", "кино", "потом", "ок"]
OTHER_WORDS = ["Hello", "What", "are", "you", "doing", "tonight", "Sure", "Great", "movie", "coffee", "tomorrow"]
EMOJI = ["😂", "🙂", "🔥"]


def owner_line(rng: random.Random) -> str:
    words = rng.sample(OWNER_WORDS, rng.randint(1, 4))
    if rng.random() < 0.6:
        words.insert(rng.randint(0, len(words)), rng.choice(OWNER_PHRASES))
    text = " ".join(words)
    if rng.random() < 0.3:
        text += " " + rng.choice(EMOJI)
    if rng.random() < 0.2:
        text += "..."
    return text


def other_line(rng: random.Random) -> str:
    text = " ".join(rng.sample(OTHER_WORDS, rng.randint(2, 6))).capitalize()
    return text + rng.choice(["!", "?", ".", "!!"])


def make_rows(n_sessions: int, seed: int, chat_base: int = 0) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for s in range(n_sessions):
        turns: list[tuple[bool, str]] = []
        for _ in range(rng.randint(2, 6)):
            turns.append((False, other_line(rng)))
            reply = owner_line(rng)
            rows.append({
                "instruction": render_context(turns[-8:], SYSTEM), "input": "", "output": reply,
                "chat_id": chat_base + s % 3, "session_id": s, "ts": f"2026-01-{1 + s % 28:02d}T10:00:00+00:00",
            })
            turns.append((True, reply))
    return rows


def write_dataset(root: Path, n_train: int = 60, n_val: int = 12) -> tuple[Path, Path]:
    out = root / "data" / "processed"
    out.mkdir(parents=True, exist_ok=True)
    train, val = out / "train.json", out / "val.json"
    train.write_text(json.dumps(make_rows(n_train, 1), ensure_ascii=False, indent=1))
    val.write_text(json.dumps(make_rows(n_val, 2, chat_base=10), ensure_ascii=False, indent=1))
    return train, val


def tiny_config_kwargs(vocab_size: int, block_size: int = 256) -> dict:
    return dict(
        name="tiny-twin", block_size=block_size, vocab_size=vocab_size, padded_vocab_size=vocab_size,
        n_layer=2, n_head=4, n_query_groups=4, n_embd=64, intermediate_size=128, bias=False,
        norm_class_name="RMSNorm", mlp_class_name="LLaMAMLP", parallel_residual=False, rotary_percentage=1.0,
    )


def make_checkpoint(path: Path, block_size: int = 256, seed: int = 0, **config_overrides) -> Path:
    """A random 2-layer litgpt model with a byte-level BPE trained on fixture text."""
    import litgpt
    from litgpt.utils import save_config
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    path.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    corpus = [owner_line(rng) for _ in range(300)] + [other_line(rng) for _ in range(300)]
    corpus += [SYSTEM, "Me: Them:"] * 20
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<s>", "</s>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus, trainer)
    tok.save(str(path / "tokenizer.json"))
    (path / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>", "eos_token": "</s>",
        "add_bos_token": True}))
    config = litgpt.Config(**{**tiny_config_kwargs(tok.get_vocab_size(), block_size), **config_overrides})
    save_config(config, path)
    torch.manual_seed(seed)
    torch.save(litgpt.GPT(config).state_dict(), path / "lit_model.pth")
    return path.resolve()


def make_adapter(checkpoint: Path, path: Path, seed: int = 1, scale: float = 0.5) -> Path:
    """A random LoRA adapter (non-zero B, so it changes the model) in the train stage's format."""
    import litgpt.lora
    from litgpt.utils import save_config

    path.mkdir(parents=True, exist_ok=True)
    base = yaml.safe_load((checkpoint / "model_config.yaml").read_text())
    config = litgpt.lora.Config(**{**base, "lora_r": 4, "lora_alpha": 8, "lora_dropout": 0.0, "lora_query": True,
                                   "lora_key": True, "lora_value": True, "lora_projection": True, "lora_mlp": True,
                                   "lora_head": True})
    save_config(config, path)
    torch.manual_seed(seed)
    model = litgpt.lora.GPT(config)
    sd = {k: v for k, v in model.state_dict().items() if "lora_" in k}
    for k in sd:
        if "lora_B" in k:
            sd[k] = torch.randn_like(sd[k]) * scale
    torch.save(sd, path / "adapter.pth")
    (path / "prompt_style.yaml").write_text(yaml.safe_dump({"class_path": "doppel.prompt.TwinChat"}))
    (path / "train.json").write_text(json.dumps({"note": "fixture"}))
    assert asdict(config)["lora_r"] == 4
    return path.resolve()


def sampling(max_new_tokens: int = 24, temperature: float = 0.0, top_k: int | None = None, top_p: float = 1.0,
             seed: int | None = None) -> Sampling:
    """Sampling settings for a test (greedy unless told otherwise)."""
    return Sampling(max_new_tokens=max_new_tokens, temperature=temperature, top_k=top_k, top_p=top_p, seed=seed)


def write_params(path: Path, **sections: dict) -> Path:
    """The project's params.yaml with build.system_prompt = SYSTEM and `sections`' keys replaced, at `path`."""
    root = Path(__file__).resolve().parents[2]
    values = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    values["build"]["system_prompt"] = SYSTEM
    for name, keys in sections.items():
        values[name].update(keys)
    path.write_text(yaml.safe_dump(values, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path
