"""The BIP39 English word list (2048 words, from the BIP39 spec / trezor `mnemonic`, MIT), for seed phrase
detection (and the sample's planted seed phrases); the words are in doppel/data/bip39_english.txt."""
from __future__ import annotations

from importlib.resources import files

WORDS = frozenset(files("doppel").joinpath("data", "bip39_english.txt").read_text(encoding="utf-8").split())
assert len(WORDS) == 2048
