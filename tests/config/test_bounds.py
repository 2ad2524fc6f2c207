"""Every bounded knob of params.yaml exactly at its bound (taken) and one step past it (refused with the one line
that names the section, the key and the value). The bounds are written out here, not read from the models: a
changed bound must fail this table."""
from __future__ import annotations

import pytest

from conftest import cfg
from doppel.errors import InputError

GE0 = "input should be greater than or equal to 0"
GE1 = "input should be greater than or equal to 1"
EDGES = [  # (section, key, taken, refused, the message after "params.yaml: ")
    ('ingest', 'input', 'x', '', "ingest.input: string should have at least 1 character (got '')"),
    ('ingest', 'chat_types', ['saved_messages'], [],
     'ingest.chat_types: list should have at least 1 item after validation, not 0 (got [])'),
    ('ingest', 'chat_types', ['public_channel'], ['channel'],
     "ingest.chat_types: input should be 'personal_chat', 'bot_chat', 'saved_messages', 'replies', 'verification_codes', 'private_group', 'private_supergroup', 'public_supergroup', 'private_channel' or 'public_channel' (got 'channel')"),
    ('segment', 'session_gap_hours', 0.001, 0, 'segment.session_gap_hours: input should be greater than 0 (got 0)'),
    ('segment', 'time_zone', 'UTC', 'Mars/Base',
     "segment.time_zone: not a time zone: 'Mars/Base' (an IANA name such as Europe/Moscow, or UTC) (got 'Mars/Base')"),
    ('build', 'context_tokens', None, 0, 'build.context_tokens: input should be greater than or equal to 1 (got 0)'),
    ('build', 'max_output_tokens', 1, 0, 'build.max_output_tokens: input should be greater than or equal to 1 (got 0)'),
    ('build', 'min_context_turns', 0, -1,
     'build.min_context_turns: input should be greater than or equal to 0 (got -1)'),
    ('build', 'min_train_rows_warning', 0, -1,
     'build.min_train_rows_warning: input should be greater than or equal to 0 (got -1)'),
    ('memory', 'k', 1, 0, 'memory.k: input should be greater than or equal to 1 (got 0)'),
    ('memory', 'tokens', 1, 0, 'memory.tokens: input should be greater than or equal to 1 (got 0)'),
    ('memory', 'scope', 'all', 'some', "memory.scope: input should be 'chat' or 'all' (got 'some')"),
    ('chat', 'max_new_tokens', 1, 0, 'chat.max_new_tokens: input should be greater than or equal to 1 (got 0)'),
    ('chat', 'temperature', 0.0, -0.01, 'chat.temperature: input should be greater than or equal to 0 (got -0.01)'),
    ('chat', 'top_k', 0, -1, 'chat.top_k: input should be greater than or equal to 0 (got -1)'),
    ('chat', 'top_p', 1.0, 1.01, 'chat.top_p: input should be less than or equal to 1 (got 1.01)'),
    ('chat', 'top_p', 0.01, 0, 'chat.top_p: input should be greater than 0 (got 0)'),
    ('chat', 'device', 'cpu', '', "chat.device: string should have at least 1 character (got '')"),
    ('chat', 'precision', 'bf16-mixed', 'fp8',
     "chat.precision: input should be '32-true', 'bf16-true', '16-true', 'bf16-mixed' or '16-mixed' (got 'fp8')"),
    ('chat', 'adapter', 'a', '', "chat.adapter: string should have at least 1 character (got '')"),
    ('chat', 'context_tokens', 1, 0, 'chat.context_tokens: input should be greater than or equal to 1 (got 0)'),
    ('evaluate', 'loss_rows', 0, -1, 'evaluate.loss_rows: input should be greater than or equal to 0 (got -1)'),
    ('evaluate', 'generate_rows', 0, -1, 'evaluate.generate_rows: input should be greater than or equal to 0 (got -1)'),
    ('evaluate', 'batch_size', 1, 0, 'evaluate.batch_size: input should be greater than or equal to 1 (got 0)'),
    ('evaluate', 'catchphrases', 0, -1, 'evaluate.catchphrases: input should be greater than or equal to 0 (got -1)'),
    ('evaluate', 'catchphrase_min_share', 1.0, 1.01,
     'evaluate.catchphrase_min_share: input should be less than or equal to 1 (got 1.01)'),
    ('evaluate', 'catchphrase_min_share', 0.0, -0.01,
     'evaluate.catchphrase_min_share: input should be greater than or equal to 0 (got -0.01)'),
    ('evaluate', 'authorship_max_lines', 1, 0,
     'evaluate.authorship_max_lines: input should be greater than or equal to 1 (got 0)'),
    ('evaluate', 'samples', 0, -1, 'evaluate.samples: input should be greater than or equal to 0 (got -1)'),
    ('evaluate', 'threads', 0, -1, 'evaluate.threads: input should be greater than or equal to 0 (got -1)'),
    ('evaluate', 'adapter', 'a', '', "evaluate.adapter: string should have at least 1 character (got '')"),
    ('base', 'checkpoint_dir', 'tiny', '', "base.checkpoint_dir: string should have at least 1 character (got '')"),
    ('base', 'cache_dir', 'c', '', "base.cache_dir: string should have at least 1 character (got '')"),
    ('train', 'lora_r', 1, 0, 'train.lora_r: input should be greater than or equal to 1 (got 0)'),
    ('train', 'lora_alpha', 1, 0, 'train.lora_alpha: input should be greater than or equal to 1 (got 0)'),
    ('train', 'lora_alpha', 0.5, -0.5,
     'train.lora_alpha: input should be a valid integer, got a number with a fractional part (got -0.5)'),
    ('train', 'lora_dropout', 0.0, -0.01, 'train.lora_dropout: input should be greater than or equal to 0 (got -0.01)'),
    ('train', 'lora_dropout', 0.99, 1.0, 'train.lora_dropout: input should be less than 1 (got 1.0)'),
    ('train', 'lora_targets', ['head'], [],
     'train.lora_targets: list should have at least 1 item after validation, not 0 (got [])'),
    ('train', 'lora_targets', ['mlp'], ['attn'],
     "train.lora_targets: input should be 'query', 'key', 'value', 'projection', 'mlp' or 'head' (got 'attn')"),
    ('train', 'lr', 1e-09, 0, 'train.lr: input should be greater than 0 (got 0)'),
    ('train', 'min_lr_ratio', 1.0, 1.01, 'train.min_lr_ratio: input should be less than or equal to 1 (got 1.01)'),
    ('train', 'min_lr_ratio', 0.0, -0.01, 'train.min_lr_ratio: input should be greater than or equal to 0 (got -0.01)'),
    ('train', 'warmup_steps', 0, -1, 'train.warmup_steps: input should be greater than or equal to 0 (got -1)'),
    ('train', 'schedule', 'linear', 'step',
     "train.schedule: input should be 'cosine', 'linear' or 'constant' (got 'step')"),
    ('train', 'weight_decay', 0.0, -0.01, 'train.weight_decay: input should be greater than or equal to 0 (got -0.01)'),
    ('train', 'grad_clip', 0.0, -0.01, 'train.grad_clip: input should be greater than or equal to 0 (got -0.01)'),
    ('train', 'micro_batch_size', 1, 0, 'train.micro_batch_size: input should be greater than or equal to 1 (got 0)'),
    ('train', 'epochs', 0, -1, 'train.epochs: input should be greater than or equal to 0 (got -1)'),
    ('train', 'max_seq_length', 8, 7, 'train.max_seq_length: input should be greater than or equal to 8 (got 7)'),
    ('train', 'devices', 1, 0, 'train.devices: input should be greater than or equal to 1 (got 0)'),
    ('train', 'seed', 0, -1, 'train.seed: input should be greater than or equal to 0 (got -1)'),
    ('train', 'eval_interval', 0, -1, 'train.eval_interval: input should be greater than or equal to 0 (got -1)'),
    ('train', 'eval_max_rows', 0, -1, 'train.eval_max_rows: input should be greater than or equal to 0 (got -1)'),
    ('train', 'checkpoint_interval', 0, -1,
     'train.checkpoint_interval: input should be greater than or equal to 0 (got -1)'),
    ('train', 'log_interval', 0, -1, 'train.log_interval: input should be greater than or equal to 0 (got -1)'),
    ('train', 'peak_tflops', 'auto', 'fast', "train.peak_tflops: input should be 'auto' (got 'fast')"),
    ('train', 'peak_tflops', 0.001, 0, "train.peak_tflops: input should be 'auto' (got 0)"),
    ('train', 'precision', '16-true', 'fp8',
     "train.precision: input should be 'auto', '32-true', 'bf16-mixed', 'bf16-true', '16-mixed' or '16-true' (got 'fp8')"),
    ('train', 'quantize', 'bnb.fp4-dq', 'bnb.int8',
     "train.quantize: input should be 'bnb.nf4', 'bnb.nf4-dq', 'bnb.fp4' or 'bnb.fp4-dq' (got 'bnb.int8')"),
    ('sample', 'messages', 1, 0, 'sample.messages: input should be greater than or equal to 1 (got 0)'),
    ('fetch', 'out', 'o', '', "fetch.out: string should have at least 1 character (got '')"),
    ('fetch', 'limit_chats', 1, 0, 'fetch.limit_chats: input should be greater than or equal to 1 (got 0)'),
    ('fetch', 'batch_size', 1, 0, 'fetch.batch_size: input should be greater than or equal to 1 (got 0)'),
    ('fetch', 'flood_sleep_threshold', 0, -1,
     'fetch.flood_sleep_threshold: input should be greater than or equal to 0 (got -1)'),
    ('fetch', 'max_flood_wait_s', 0, -1, 'fetch.max_flood_wait_s: input should be greater than or equal to 0 (got -1)'),
    ('serve', 'max_body_bytes', 1024, 1023,
     'serve.max_body_bytes: input should be greater than or equal to 1024 (got 1023)'),
    ('serve', 'max_batch', 1, 0, 'serve.max_batch: input should be greater than or equal to 1 (got 0)'),
    ('serve', 'max_queue', 1, 0, 'serve.max_queue: input should be greater than or equal to 1 (got 0)'),
    ('serve', 'threads', 0, -1, 'serve.threads: input should be greater than or equal to 0 (got -1)'),
    ('serve', 'host', 'h', '', "serve.host: string should have at least 1 character (got '')"),
    ('serve', 'name', 'n', '', "serve.name: string should have at least 1 character (got '')"),
    ('serve', 'context_tokens', 1, 0, 'serve.context_tokens: input should be greater than or equal to 1 (got 0)'),
    ('export', 'to', 'peft', 'gguf', "export.to: input should be 'litgpt', 'hf' or 'peft' (got 'gguf')"),
    ('export', 'dtype', 'float16', 'int8',
     "export.dtype: input should be 'auto', 'float32', 'bfloat16' or 'float16' (got 'int8')"),
    ('export', 'out', None, '', "export.out: string should have at least 1 character (got '')"),
    ('export', 'base_name', None, '', "export.base_name: string should have at least 1 character (got '')"),
    ('export', 'adapter', 'a', '', "export.adapter: string should have at least 1 character (got '')"),
    ('bot', 'history_messages', 1, 0, 'bot.history_messages: input should be greater than or equal to 1 (got 0)'),
    ('bot', 'history_messages', 500, 501, 'bot.history_messages: input should be less than or equal to 500 (got 501)'),
    ('bot', 'typing_delay_s', 0.0, -0.01, 'bot.typing_delay_s: input should be greater than or equal to 0 (got -0.01)'),
    ('bot', 'typing_delay_s', 60.0, 60.01, 'bot.typing_delay_s: input should be less than or equal to 60 (got 60.01)'),
    ('bot', 'owner_pause_minutes', 0.0, -0.01,
     'bot.owner_pause_minutes: input should be greater than or equal to 0 (got -0.01)'),
    ('bot', 'per_chat_per_hour', 0, -1, 'bot.per_chat_per_hour: input should be greater than or equal to 0 (got -1)'),
    ('bot', 'global_per_hour', 0, -1, 'bot.global_per_hour: input should be greater than or equal to 0 (got -1)'),
    ('bot', 'max_flood_wait_s', 0, -1, 'bot.max_flood_wait_s: input should be greater than or equal to 0 (got -1)'),
    ('bot', 'log', 'l', '', "bot.log: string should have at least 1 character (got '')"),
    ('bot', 'api_model', 'm', '', "bot.api_model: string should have at least 1 character (got '')"),
    ('bot', 'mode', 'draft', 'manual', "bot.mode: input should be 'draft' or 'auto' (got 'manual')"),
]


@pytest.mark.parametrize("section, key, taken, refused, message", EDGES,
                         ids=[f"{e[0]}.{e[1]}={e[3]!r}" for e in EDGES])
def test_each_bound_exactly_at_and_one_past(section, key, taken, refused, message):
    if taken is not None:
        assert getattr(cfg(section, **{key: taken}), key) == taken
    with pytest.raises(InputError) as err:
        cfg(section, **{key: refused})
    assert str(err.value) == f"{err.value.path}: {message}" and err.value.path.endswith("params.yaml")


def refusal(section: str, **values) -> str:
    with pytest.raises(InputError) as err:
        cfg(section, **values)
    return err.value.problem


def test_checks_across_keys_exactly_at_and_one_past():
    # build: the system prompt's line (UTF-8 bytes + 3) // 4 + 1 tokens must leave room: 8 bytes -> 3 tokens
    assert cfg("build", system_prompt="12345678", context_tokens=4).context_tokens == 4
    assert refusal("build", system_prompt="12345678", context_tokens=3) == \
        "build.context_tokens: leaves no room after the system prompt (got 3)"
    assert refusal("build", system_prompt="123456789", context_tokens=4) == \
        "build.context_tokens: leaves no room after the system prompt (got 4)"
    assert cfg("build", system_prompt="", context_tokens=1).context_tokens == 1
    assert cfg("build", system_prompt="ёё", context_tokens=3).context_tokens == 3  # 4 bytes: 2 tokens
    assert refusal("build", system_prompt="ёё", context_tokens=2).startswith("build.context_tokens: leaves no room")
    # train: batch a multiple of micro batch; some length of training
    assert cfg("train", batch_size=6, micro_batch_size=3).batch_size == 6
    assert refusal("train", batch_size=7, micro_batch_size=3) == \
        "train.batch_size: must be a multiple of micro_batch_size (3) (got 7)"
    assert cfg("train", max_steps=0, epochs=1).epochs == 1 and cfg("train", max_steps=1, epochs=0).max_steps == 1
    assert refusal("train", max_steps=0, epochs=0) == "train.max_steps: set epochs or max_steps (both are 0) (got 0)"
    # tiny: heads divide the width
    assert cfg("base", tiny={"n_embd": 32, "n_head": 4}).tiny.n_embd == 32
    assert refusal("base", tiny={"n_embd": 33, "n_head": 4}) == \
        "base.tiny.n_embd: must be a multiple of n_head (4) (got 33)"
    assert cfg("base", tiny={"vocab_size": 300, "block_size": 16, "pretrain_seq": 2}).tiny.vocab_size == 300
    for key, bad, bound in (("vocab_size", 299, 300), ("block_size", 15, 16), ("pretrain_seq", 1, 2)):
        assert refusal("base", tiny={key: bad}) == \
            f"base.tiny.{key}: input should be greater than or equal to {bound} (got {bad})"
    # serve: the default reply length within the cap
    assert cfg("serve", max_new_tokens=7, max_tokens_cap=7).max_tokens_cap == 7
    assert refusal("serve", max_new_tokens=8, max_tokens_cap=7) == \
        "serve.max_new_tokens: must be at most max_tokens_cap (7) (got 8)"


def test_values_normalised_on_the_way_in():
    assert cfg("ingest", owner_id=123).owner_id == "user123"
    assert cfg("ingest", owner_id=" 42 ").owner_id == "user42"
    assert cfg("ingest", owner_id="channel9").owner_id == "channel9" and cfg("ingest", owner_id=None).owner_id is None
    assert cfg("train", lora_targets="mlp, query,,value").lora_targets == ["query", "value", "mlp"]
    assert cfg("train", lora_targets=["head", "key", "head"]).lora_targets == ["key", "head"]
    alpha = cfg("train", lora_alpha=16).lora_alpha
    assert alpha == 16 and type(alpha) is int and cfg("train", lora_alpha=0.5).lora_alpha == 0.5
    assert cfg("train", peak_tflops=12.5).peak_tflops == 12.5
    assert cfg("base", checkpoint_dir=" Tiny ").is_tiny and not cfg("base", checkpoint_dir="tiny2").is_tiny
    assert cfg("ingest", skip_chats=["12", -5]).skip_chats == [12, -5]


def test_sampling_of_a_section_and_its_seeds():
    s = cfg("chat", max_new_tokens=9, temperature=0.3, top_k=7, top_p=0.8, seed=11).sampling
    assert (s.max_new_tokens, s.temperature, s.top_k, s.top_p, s.seed) == (9, 0.3, 7, 0.8, 11)
    assert s.seeded(0).seed == 11 and s.seeded(3).seed == 14 and s.seeded(3).temperature == 0.3
    assert cfg("chat", seed=None).sampling.seeded(5).seed is None
    assert cfg("serve").sampling.seed is None  # serve has no seed key: unseeded


def test_bot_chats_and_shapes():
    bot = cfg("bot", allow=["@Ann", 123, " -100 ", "@bob_2"], deny="@Eve")
    assert bot.allow == ["@ann", 123, -100, "@bob_2"] and bot.deny == ["@eve"]
    assert cfg("bot", deny=5).deny == [5] and cfg("bot", allow=[], mode="draft").allow == []
    assert cfg("bot", allow=["@" + "a" * 64]).allow == ["@" + "a" * 64]
    for bad in ("@" + "a" * 65, "ann", "@", True, "12a", "@a b", "--1"):
        assert refusal("bot", allow=[bad]) == (
            f"bot.allow: a chat is an id or an @username, such as 123456 or @ann ({bad!r} is neither) (got [{bad!r}])")
    assert refusal("bot", mode="auto", allow=[]) == ("bot.allow: auto mode sends only to the chats listed here, and "
                                                     "the list is empty (add chat ids or @usernames, or use mode "
                                                     "draft) (got [])")
    assert cfg("bot", mode="auto", allow=[1]).mode == "auto"
    for ok in ("23:00-08:00", "0:00-7:59", "9:30-19:05", None):
        assert cfg("bot", quiet_hours=ok).quiet_hours == ok
    for bad in ("24:00-08:00", "23:60-08:00", "23:00-23:00", "23:00", "x23:00-08:00", "23:00-08:00x", "23-08"):
        assert refusal("bot", quiet_hours=bad) == \
            f"bot.quiet_hours: must be HH:MM-HH:MM in local time, e.g. 23:00-08:00 (or null) (got {bad!r})"
    for ok in ("http://127.0.0.1:8321/v1", "https://x", None):
        assert cfg("bot", api_base=ok).api_base == ok
    for bad in ("ftp://x", "http://", "127.0.0.1:8321", "http://a b", " http://x"):
        assert refusal("bot", api_base=bad) == \
            f"bot.api_base: must be an http(s) URL such as http://127.0.0.1:8321/v1 (or null) (got {bad!r})"
