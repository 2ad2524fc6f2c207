"""`doppel sample`: a deterministic synthetic full-account Telegram Desktop export, with planted private data.

    doppel sample -o DIR [--messages N] [--seed S] [--planted FILE] [--facts] [--language ru|en]

Writes DIR/result.json shaped like the real exporter's output (Telegram Desktop's JsonWriter: one space of
indentation per level, keys in its order, `messages` last in a chat, no trailing newline, and even its odd
indentation of `reactions` arrays). Same seed and size -> byte-identical file.

What is in it: an owner ("Артём Соколов") with a distinctive style (all lowercase, no full stops, ")))",
"короче", "ок"/"thx"/"btw" code-switching, short bursts), eight personal chats with friends who each write
differently (language, length, punctuation, emoji), a family group, a climbing supergroup (with a deleted
account), a bot chat, saved messages, Telegram's 777000 login-code chat, and a channel in `left_chats`.
Conversations follow topics (question -> answer -> follow-up) in sessions hours to days apart, with replies,
forwards, edits, stickers, voice, photos, calls, pins and reactions.

`--language en` (sample.language; default ru, which writes the export byte for byte as before the knob existed):
every conversation in the dialogs and groups is in English, for a base that reads English. Its replies follow
their context more closely: a conversation opened with a greeting is answered with one, and a conversation keeps
its slot values (the film, dish, city, day asked about is the one the answer names).

Planted private data (about 3% of messages), typed PHONE, EMAIL, CARD, IBAN, PASSPORT, INN, SNILS, SECRET,
SEED_PHRASE, CRYPTO_ADDRESS (valid checksums where the real thing has one), and decoys (prices, dates, times,
order numbers, plain numbers, years) in about 5% of the clean text messages. `--planted FILE` lists them as
JSON Lines {"chat_id", "message_id", "type", "value"} (type "DECOY" for decoys); `value` is the exact
substring of the message's text (its parts joined).

Python API:
    generate(n_messages, seed, facts=False, language="ru") -> (export_dict, planted_rows)
    write_sample(out_dir, n_messages, seed, planted_path=None, facts=False, language="ru") -> Path   (streams)
    dumps_like_exporter(export_dict) -> bytes   (the exporter's exact layout; reproduces real exports)

Modules: words (the word tables, doppel/data/sample_words.json), people (persons, chats), dates, private
(planted values and decoys), style, skeleton (phase 1: timestamps, senders, acts, ids), templates, text,
media, renderer (phase 2: messages), header (account-level parts), writer (layout, streaming), command.
"""
from doppel.sample.media import NOT_INCLUDED
from doppel.sample.private import (
    DECOY, PLANTED_TYPES, SEED_WORDS, bech32_ok, iban_ok, inn_ok, luhn_ok, snils_ok,
)
from doppel.sample.skeleton import MIN_MESSAGES
from doppel.sample.writer import dumps_like_exporter, generate, write_sample

__all__ = [
    "DECOY", "MIN_MESSAGES", "NOT_INCLUDED", "PLANTED_TYPES", "SEED_WORDS", "bech32_ok", "dumps_like_exporter",
    "generate", "iban_ok", "inn_ok", "luhn_ok", "snils_ok", "write_sample",
]
