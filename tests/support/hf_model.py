"""Small random Llama-family models written the way users get real ones: an HF folder (`save_pretrained`:
config.json, model.safetensors, tokenizer files) and a GGUF file (gguf's writer, tensors named and q/k permuted
as llama.cpp's converter does, tokenizer in the gguf `gpt2` BPE fields)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

CORPUS = ["Привет, как дела? Всё хорошо, спасибо.", "hello there, are you coming tonight?", "ok 🙂 see you",
          "Me: yes\nThem: no\nMe: maybe later"] * 20
SPECIALS = ["<s>", "</s>"]


def tokenizer(vocab_size: int = 320):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>")


def llama(vocab_size: int, seed: int = 0, **overrides):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(vocab_size=vocab_size, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                         tie_word_embeddings=True, rope_theta=10000.0, rms_norm_eps=1e-5, bos_token_id=0,
                         eos_token_id=1, **overrides)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():  # random norms too, so a swapped norm weight shows in the logits
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1 + 0.1 * torch.randn_like(p))
    return model


def write_hf(folder: Path, seed: int = 0, **overrides) -> Path:
    tok = tokenizer()
    model = llama(len(tok), seed, **overrides)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def _permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's convert_hf_to_gguf permute of q/k rows (transformers reverses it on load)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def write_gguf(path: Path, hf_folder: Path, quant: str = "F32") -> Path:
    """The HF folder's model as a GGUF (F32, or a type gguf.quants quantizes, e.g. Q8_0)."""
    import gguf
    from safetensors.numpy import load_file

    cfg = json.loads((hf_folder / "config.json").read_text())
    tj = json.loads((hf_folder / "tokenizer.json").read_text())
    vocab = {**tj["model"]["vocab"], **{t["content"]: t["id"] for t in tj["added_tokens"]}}
    tokens = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
    merges = [m if isinstance(m, str) else " ".join(m) for m in tj["model"]["merges"]]
    heads, kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(heads)
    w.add_head_count_kv(kv)
    w.add_rope_dimension_count(cfg["hidden_size"] // heads)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_vocab_size(len(tokens))
    w.add_tokenizer_model("gpt2")
    w.add_token_list(tokens)
    w.add_token_types([3 if t in SPECIALS else 1 for t in tokens])
    w.add_token_merges(merges)
    w.add_bos_token_id(vocab["<s>"])
    w.add_eos_token_id(vocab["</s>"])
    names = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight"}
    per_layer = {"input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
                 "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output", "post_attention_layernorm":
                 "ffn_norm", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}
    qtype = gguf.GGMLQuantizationType[quant]
    for name, arr in load_file(hf_folder / "model.safetensors").items():
        arr = arr.astype(np.float32)
        if name in names:
            out = names[name]
        else:
            i, rest = name.split(".")[2], ".".join(name.split(".")[3:-1])
            out = f"blk.{i}.{per_layer[rest]}.weight"
            if rest == "self_attn.q_proj":
                arr = _permute(arr, heads)
            elif rest == "self_attn.k_proj":
                arr = _permute(arr, kv)
        if qtype != gguf.GGMLQuantizationType.F32 and arr.ndim == 2:
            w.add_tensor(out, gguf.quants.quantize(arr, qtype), raw_dtype=qtype)
        else:
            w.add_tensor(out, arr)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path
