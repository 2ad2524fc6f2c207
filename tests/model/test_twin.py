"""doppel.model (twin, load, sampling): loading, KV-cache generation (streamed and batched), stops, reply loss."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from support import twin as F
from doppel.errors import InputError
from doppel.model import load as load_mod
from doppel.model import sampling
from doppel.model import twin as twin_mod
from doppel.model.load import load
from doppel.prompt import STOP_STRINGS, cut_at_stop, prompt_and_response


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def assets(tiny_twin):
    ck, ad = tiny_twin
    rows = F.make_rows(6, seed=5)
    return SimpleNamespace(ck=ck, ad=ad, rows=rows, base=load(ck, device="cpu"),
                           tuned=load(ck, ad, device="cpu"))


SAMPLING = dict(max_new_tokens=24, temperature=1.0, top_k=50, top_p=0.9)


def test_stream_concatenation_equals_reply(assets):
    tw = assets.tuned
    for i, row in enumerate(assets.rows[:4]):
        pieces = list(tw.stream(tw.prompt_for(row["instruction"]), F.sampling(seed=i, **SAMPLING)))
        assert len(pieces) > 1  # it really streams
        assert "".join(pieces) == tw.reply(row["instruction"], F.sampling(seed=i, **SAMPLING))
        assert not any(stop in "".join(pieces) for stop in STOP_STRINGS)


def test_seed_is_reproducible_and_leaves_global_rng_alone(assets):
    tw, inst = assets.tuned, assets.rows[0]["instruction"]
    torch.manual_seed(0)
    before = torch.rand(1)
    torch.manual_seed(0)
    a = tw.reply(inst, F.sampling(seed=11, **SAMPLING))
    assert torch.rand(1) == before
    assert a == tw.reply(inst, F.sampling(seed=11, **SAMPLING))
    assert a != tw.reply(inst, F.sampling(seed=12, **SAMPLING))


def test_batched_greedy_equals_single_greedy(assets):
    """Right-padded prompts of different lengths decode together, each on its own positions."""
    tw = assets.tuned
    prompts = [tw.prompt_for(r["instruction"]) for r in assets.rows[:5]]
    assert len({tw.count_tokens(p) for p in prompts}) > 1
    greedy = dict(max_new_tokens=20, temperature=0.0)
    assert tw.generate_batch(prompts, F.sampling(**greedy)) == [tw.generate(p, F.sampling(**greedy)) for p in prompts]


class Scripted(torch.nn.Module):
    """A stand-in model that 'generates' a fixed token script (k-th forward call -> script[k])."""

    def __init__(self, script: list[int], vocab: int, block_size: int = 256):
        super().__init__()
        self.config = SimpleNamespace(block_size=block_size)
        self.script, self.vocab, self.calls = script, vocab, 0

    def set_kv_cache(self, batch_size, max_seq_length=None, device=None, **_):
        self.calls = 0

    def clear_kv_cache(self):
        pass

    def forward(self, idx, input_pos=None, input_pos_maxp1=None):
        assert input_pos is not None, "generation must use the KV cache"
        b, t = idx.shape
        if self.calls > 0:
            assert t == 1, "after the prefill, one token per step"
        logits = torch.full((b, t, self.vocab), -10.0)
        logits[:, :, self.script[min(self.calls, len(self.script) - 1)]] = 10.0
        self.calls += 1
        return logits


def scripted_twin(assets, text: str, tail: list[int] | None = None) -> twin_mod.Twin:
    tok = assets.base.tokenizer
    script = tok.encode(text, bos=False).tolist() + (tail or [])
    return twin_mod.Twin(model=Scripted(script, assets.base.model.config.padded_vocab_size), tokenizer=tok,
                         device=torch.device("cpu"))


@pytest.mark.parametrize("stop", STOP_STRINGS)
def test_stop_strings_end_the_reply_and_are_never_yielded(assets, stop):
    tw = scripted_twin(assets, f" привет ну такое 🙂{stop} more text")
    pieces = list(tw.stream("Them: hi\nMe:", F.sampling(max_new_tokens=60, temperature=0)))
    assert "".join(pieces) == "привет ну такое 🙂"
    assert all("\n" not in p and ":" not in p for p in pieces)
    assert tw.model.calls < 60  # stopped early
    assert tw.generate_batch(["Them: hi\nMe:", "Them: hello there\nMe:"], F.sampling(max_new_tokens=60, temperature=0)) == [
        "привет ну такое 🙂"] * 2


def test_eos_ends_the_reply(assets):
    eos = assets.base.tokenizer.eos_id
    tw = scripted_twin(assets, " ok then", [eos] + assets.base.tokenizer.encode(" junk", bos=False).tolist())
    assert tw.generate("Me:", F.sampling(max_new_tokens=30, temperature=0)) == "ok then"
    assert tw.generate_batch(["Me:"], F.sampling(max_new_tokens=30, temperature=0)) == ["ok then"]


def test_text_cut_matches_cut_at_stop(assets):
    tok = assets.base.tokenizer
    for text in [" a\nb\nThem: x", "  leading and trailing  ", " ну...\nMe: again", " 🙂🔥", " line\n\nMe", " x\nThe end"]:
        cut = sampling.TextCut(tok)
        pieces = [cut.push(t) for t in tok.encode(text, bos=False).tolist()]
        if not cut.stopped:
            pieces.append(cut.finish())
        assert "".join(pieces) == cut_at_stop(text), text


def test_loss_is_on_target_tokens_only(assets):
    tw, row = assets.tuned, assets.rows[3]
    ids, labels = tw.encode_row(row["instruction"], row["output"])
    prompt, target = prompt_and_response(row["instruction"], row["output"])
    n_prompt = len(tw.tokenizer.encode(prompt))
    target_ids = tw.tokenizer.encode(target, bos=False, eos=True).tolist()
    assert labels[:n_prompt] == [-100] * n_prompt and labels[n_prompt:] == target_ids
    total, count = tw.loss_stats([row], 8)
    assert count == len(target_ids)
    # the same number by hand: full forward, cross-entropy on the reply positions only
    with torch.no_grad():
        logits = tw.model(torch.tensor([ids[:-1]]))[0]
    manual = torch.nn.functional.cross_entropy(logits[n_prompt - 1:], torch.tensor(target_ids), reduction="sum")
    assert total == pytest.approx(float(manual), rel=1e-4)
    # the batched mean is token-weighted over rows (padding ignored)
    rows = assets.rows[:5]
    stats = [tw.loss_stats([r], 8) for r in rows]
    assert tw.loss(rows, batch_size=3) == pytest.approx(sum(s for s, _ in stats) / sum(c for _, c in stats), rel=1e-4)


def test_too_long_prompt_is_cut_from_the_left(assets):
    tw = assets.base
    long_context = F.render_context([(False, "Hello what are you doing tonight " * 20)] * 20, F.SYSTEM)
    ids, labels = tw.encode_row(long_context, "ну такое")
    assert len(ids) == tw.block_size + 1
    assert ids[0] == tw.tokenizer.bos_id
    kept = [t for t in labels if t != -100]
    assert kept == tw.tokenizer.encode(" ну такое", bos=False, eos=True).tolist()
    assert torch.isfinite(torch.tensor(tw.loss([{"instruction": long_context, "output": "ну такое"}], 8)))
    assert tw.reply(long_context, F.sampling(max_new_tokens=8, temperature=0)) == greedy_without_cache(tw, long_context, 8)


def greedy_without_cache(tw, instruction: str, new: int) -> str:
    """The greedy reply recomputed the slow way: the prompt cut as `budget` says, then one full forward pass
    (no KV cache) per token, cut at the first turn marker; an unfinished UTF-8 character at the end is dropped."""
    n, keep = tw.budget(new)
    ids = tw.encode_prompt(tw.prompt_for(instruction), keep)
    out: list[int] = []
    with torch.no_grad():
        for _ in range(n):
            token = int(tw.model(torch.tensor([ids + out]))[0, -1].argmax())
            if token == tw.eos_id:
                break
            out.append(token)
    text = cut_at_stop(tw.tokenizer.decode(torch.tensor(out, dtype=torch.long))) if out else ""
    return text.rstrip("\ufffd").strip()


def test_adapter_changes_outputs(assets):
    rows = assets.rows[:4]
    assert assets.base.loss(rows, 8) != pytest.approx(assets.tuned.loss(rows, 8), rel=1e-3)
    greedy = dict(max_new_tokens=16, temperature=0.0)
    replies = lambda tw: [tw.reply(r["instruction"], F.sampling(**greedy)) for r in rows]  # noqa: E731
    assert replies(assets.base) != replies(assets.tuned)


def test_missing_files_are_input_errors(assets, tmp_path):
    with pytest.raises(InputError, match="dvc repro"):
        load(tmp_path / "nothing")
    with pytest.raises(InputError, match="adapter"):
        load(assets.ck, tmp_path / "no_adapter")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "model_config.yaml").write_text((assets.ad / "model_config.yaml").read_text())
    torch.save({}, tmp_path / "bad" / "adapter.pth")
    with pytest.raises(InputError, match="missing"):
        load(assets.ck, tmp_path / "bad")


def test_sliding_window_model_replies_to_a_prompt_longer_than_its_window(tmp_path):
    """litgpt's ring-buffer KV cache takes at most one window of prefill (Gemma, Mistral v0.1, Phi-3)."""
    ck = F.make_checkpoint(tmp_path / "sw", sliding_window_size=16, sliding_window_indices=[1, 0])
    tw = load(ck, device="cpu")
    long_context = F.render_context([(False, "Hello what are you doing tonight")] * 10, F.SYSTEM)
    assert tw.count_tokens(tw.prompt_for(long_context)) > 16
    assert tw.reply(long_context, F.sampling(max_new_tokens=8, temperature=0)) == greedy_without_cache(tw, long_context, 8)
    prompts = [tw.prompt_for(long_context), tw.prompt_for(long_context + "\nThem: ok")]
    assert len(tw.generate_batch(prompts, F.sampling(max_new_tokens=4, temperature=0))) == 2


def test_twin_loss_encodes_rows_as_training_does(assets):
    """One encoder: a row that fits gives the same ids as the train stage's (block_size + 1 tokens)."""
    from doppel.model.encode import encode_row

    tw = assets.base
    long_context = F.render_context([(False, "Hello what are you doing tonight " * 20)] * 20, F.SYSTEM)
    for inst, out in [(r["instruction"], r["output"]) for r in assets.rows[:3]] + [(long_context, "ну такое")]:
        ex, _ = encode_row(tw.tokenizer, inst, out, tw.block_size + 1)
        assert tw.encode_row(inst, out) == (ex.ids, ex.labels)


def test_too_long_reply_is_truncated_for_the_loss_not_dropped(assets):
    from doppel.model.encode import encode_row

    tw = assets.base
    reply = "привет ну такое кстати " * 200
    assert encode_row(tw.tokenizer, "Them: hi", reply, tw.block_size + 1) == (None, False)  # training drops it
    ids, labels = tw.encode_row("Them: hi", reply)
    assert len(ids) == tw.block_size + 1 and labels[0] == -100 and -100 not in labels[1:]
    target = tw.tokenizer.encode(prompt_and_response("Them: hi", reply)[1], bos=False, eos=True).tolist()
    assert ids[1:] == target[: tw.block_size]
    total, count = tw.loss_stats([{"instruction": "Them: hi", "output": reply}], 8)
    assert count == tw.block_size and total > 0


def test_checkpoint_needs_what_the_base_stage_requires(assets, tmp_path):
    import shutil

    bad = tmp_path / "no_tokenizer_config"
    shutil.copytree(assets.ck, bad)
    (bad / "tokenizer_config.json").unlink()
    with pytest.raises(InputError, match="missing tokenizer_config.json.*dvc repro"):
        load(bad, device="cpu")


def test_a_device_that_is_not_there_is_one_input_error(monkeypatch):
    with pytest.raises(InputError, match="not a device"):
        load_mod.resolve_device("gpu0")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(InputError, match="no cuda device"):
        load_mod.resolve_device("cuda")
    assert load_mod.resolve_device("auto") == torch.device("cpu")
    assert load_mod.resolve_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(InputError, match="1 CUDA device"):
        load_mod.resolve_device("cuda:3")


def test_budget_leaves_room_for_the_reply(assets):
    tw = assets.base
    assert tw.budget(16) == (16, tw.block_size - 16)
    assert tw.budget(10_000) == (tw.block_size // 2, tw.block_size - tw.block_size // 2)
