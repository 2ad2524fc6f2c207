"""`doppel export --to hf` of a twin on the reference real base (SmolLM2-135M-Instruct, `make realbase`, a real
49,152-token tokenizer with its own specials): transformers' greedy decoding of the export replies exactly what
`doppel chat --temperature 0` does. Slow, run only with DOPPEL_TEST_REALBASE=1 (tests/base/test_realbase.py
says where the conversion is cached: DOPPEL_TEST_REALBASE_CACHE, default ~/.cache/doppel/bases).

The adapter is random (tests/support/twin.py's make_adapter, small B): training the 135M base here would take
minutes of CPU for no extra coverage; the export merges whatever LoRA weights it is given. It caught the GGUF
conversion saving transformers' CodeLlamaTokenizer files for a byte-level BPE (Cyrillic -> <unk>, "Ġ" left in
the decode; doppel.base.convert.byte_level_tokenizer)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from doppel.cli import main as doppel_main
from doppel.prompt import cut_at_stop
from support.twin import make_adapter

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(os.environ.get("DOPPEL_TEST_REALBASE") != "1", reason="DOPPEL_TEST_REALBASE=1")]

PARAMS = Path(__file__).resolve().parents[2] / "params.yaml"
MAX_NEW = 24
ADAPTER_SCALE = 0.02  # lora_B ~ N(0, 0.02): moves the real base's replies without turning them into noise


def test_hf_export_of_a_real_base_twin_greedy_decodes_like_chat(tmp_path, capsys):
    transformers = pytest.importorskip("transformers")
    from doppel.base.convert import convert
    from doppel.base.source import inspect

    base = convert(inspect("smollm2-135m-instruct"), os.environ.get("DOPPEL_TEST_REALBASE_CACHE",
                                                                     "~/.cache/doppel/bases"))
    adapter = make_adapter(base, tmp_path / "adapter", scale=ADAPTER_SCALE)
    out = tmp_path / "hf"
    assert doppel_main(["export", "--params", str(PARAMS), "--base", str(base), "--adapter", str(adapter),
                        "--out", str(out), "--to", "hf"]) == 0
    model = transformers.AutoModelForCausalLM.from_pretrained(out).eval()
    tok = transformers.AutoTokenizer.from_pretrained(out)
    replies = []
    for message in ("привет, как дела?", "Are you coming tonight?"):
        capsys.readouterr()
        assert doppel_main(["chat", "--params", str(PARAMS), "--base", str(base), "--adapter", str(adapter),
                            "--message", message, "--temperature", "0", "--seed", "5",
                            "--max-new-tokens", str(MAX_NEW), "--device", "cpu"]) == 0
        reply = capsys.readouterr().out.removesuffix("\n")
        inputs = tok.apply_chat_template([{"role": "user", "content": message}], add_generation_prompt=True,
                                         return_dict=True, return_tensors="pt")
        ids = model.generate(**inputs, do_sample=False, max_new_tokens=MAX_NEW, tokenizer=tok)
        text = tok.decode(ids[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
        assert reply == cut_at_stop(text).rstrip("\ufffd").strip(), (message, reply, text)
        replies.append(reply)
    assert all(replies) and replies[0] != replies[1]
