"""The tokenizer files every export carries: the base's, with the twin's chat template and special tokens.

tokenizer_config.json keeps what the base has and gets `chat_template` (the twin's prompt, see `template`; also
written alone as chat_template.jinja, for `vllm serve --chat-template` and llama.cpp's `--chat-template-file`),
`bos_token` / `eos_token` as litgpt resolves them (the tokens the twin was trained with) and
`model_max_length` (the base's context). A tokenizer.json that adds no BOS itself gets a post-processor that
does (`add_bos_processor`).
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from doppel.errors import InputError
from doppel.export.template import chat_template

FILES = ("tokenizer.json", "tokenizer.model", "special_tokens_map.json", "added_tokens.json", "vocab.json",
         "merges.txt")


@dataclass(frozen=True)
class Specials:
    bos_id: int | None
    eos_id: int | None
    bos: str | None
    eos: str | None


def specials(checkpoint_dir: Path) -> Specials:
    """BOS/EOS ids and strings as litgpt's Tokenizer (and so the twin) sees them."""
    import litgpt

    tok = litgpt.Tokenizer(checkpoint_dir)

    def text(i: int | None) -> str | None:
        if i is None:
            return None
        if tok.backend == "huggingface":
            return tok.processor.id_to_token(int(i))
        return tok.processor.id_to_piece(int(i))

    return Specials(tok.bos_id, tok.eos_id, text(tok.bos_id), text(tok.eos_id))


def write_json(path: Path, data) -> None:
    """Key order kept (HF files read in their usual order), non-ASCII as is, a final newline."""
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def add_bos_processor(path: Path, sp: Specials) -> bool:
    """Make a tokenizer.json without a post-processor start every encoding with BOS, as litgpt (and so the twin)
    does: then `tok(prompt)` and a raw-completion API give the twin's ids. Returns whether it changed."""
    from tokenizers import Tokenizer, processors

    tok = Tokenizer.from_file(str(path))
    if tok.post_processor is not None or sp.bos_id is None:
        return False
    tok.post_processor = processors.TemplateProcessing(
        single=f"{sp.bos} $A", pair=f"{sp.bos} $A {sp.bos}:1 $B:1", special_tokens=[(sp.bos, sp.bos_id)])
    path.write_text(tok.to_str(pretty=True), encoding="utf-8")
    return True


def write_tokenizer(checkpoint_dir: Path, out_dir: Path, system: str, block_size: int) -> Specials:
    """Copy the base's tokenizer files into `out_dir` with the twin's tokenizer_config.json."""
    sp = specials(checkpoint_dir)
    for name in FILES:
        if (checkpoint_dir / name).is_file():
            shutil.copy2(checkpoint_dir / name, out_dir / name)
    if (out_dir / "tokenizer.json").is_file():
        add_bos_processor(out_dir / "tokenizer.json", sp)
    path = checkpoint_dir / "tokenizer_config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (ValueError, UnicodeDecodeError) as err:
        raise InputError(path, f"not valid JSON ({err})") from None
    for key, value in (("bos_token", sp.bos), ("eos_token", sp.eos)):
        if value is not None:
            config[key] = value
    config["model_max_length"] = block_size
    config["chat_template"] = template = chat_template(system, bos=sp.bos_id is not None)
    (out_dir / "chat_template.jinja").write_text(template, encoding="utf-8")  # for --chat-template / llama.cpp
    write_json(out_dir / "tokenizer_config.json", config)
    return sp
