"""The sample's word tables (doppel/data/sample_words.json): slot values, topic banks, each person's phrases,
the sentences private data and decoys are planted in, notes, forwards, the export's boilerplate texts.

Lists are read as tuples: the tables are constants, shared by every render.
"""
from __future__ import annotations

import json
from importlib.resources import files


def _frozen(value):
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return {k: _frozen(v) for k, v in value.items()}
    return value


_DATA = _frozen(json.loads(files("doppel").joinpath("data", "sample_words.json").read_text(encoding="utf-8")))

ABOUT: dict[str, str] = _DATA["about"]
# {slot} values by language: {day}, {place}, {dish}, ...
SLOTS: dict[str, dict[str, tuple[str, ...]]] = _DATA["slots"]
# topic -> language -> q (questions, "kind|text"), yes / no / open / when (answers by kind), s (statements)
TOPICS: dict[str, dict[str, dict[str, tuple[str, ...]]]] = _DATA["topics"]
TOPIC_NAMES = tuple(TOPICS)
TOPIC_ID = {name: i for i, name in enumerate(TOPIC_NAMES)}
GENERIC: dict[str, dict[str, tuple[str, ...]]] = _DATA["generic"]
# Each person's own phrases (used most of the time for these acts), by language.
PHRASES: dict[str, dict[str, dict[str, tuple[str, ...]]]] = _DATA["phrases"]
# Planted sentences, {v} is the value. Owner-style transforms touch the words, never the value.
PLANT_TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = _DATA["plant_templates"]
DECOY_TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = _DATA["decoy_templates"]
EMAIL_LOCALS: tuple[str, ...] = _DATA["email_locals"]
EMAIL_DOMAINS: tuple[str, ...] = _DATA["email_domains"]
MONTHS_GEN: tuple[str, ...] = _DATA["months_genitive"]
MONTHS_EN: tuple[str, ...] = _DATA["months_en"]
# (channel name, channel id, headlines)
FORWARD_SOURCES = tuple((s["name"], s["id"], s["headlines"]) for s in _DATA["forward_sources"])
STICKERS: tuple[str, ...] = _DATA["stickers"]
FILES = tuple((f["name"], f["mime_type"]) for f in _DATA["files"])  # (file name, mime type)
CITIES_BOT: tuple[str, ...] = _DATA["bot_cities"]
WEATHER_BOT: tuple[str, ...] = _DATA["bot_weather"]
NOTES: tuple[str, ...] = _DATA["notes"]
CHANNEL_POSTS: tuple[str, ...] = _DATA["channel_posts"]
