"""Media keys of a rendered message (photos, stickers, voice, video messages, GIFs, files) and reactions, as
the Desktop exporter writes them when files are not included."""
from __future__ import annotations

import random

from doppel.sample.dates import export_date
from doppel.sample.people import OWNER, Person
from doppel.sample.skeleton import GIF, STICKER, VIDEO_MSG, VOICE
from doppel.sample.words import FILES, STICKERS

NOT_INCLUDED = "(File not included. Change data exporting settings to download.)"


def photo(rng: random.Random, m: dict, date: str, chat_no: int, photo_no: int) -> None:
    stamp = f"{date[8:10]}-{date[5:7]}-{date[0:4]}_{date[11:13]}-{date[14:16]}-{date[17:19]}"
    if rng.random() < 0.9:
        m["photo"] = f"chats/chat_{chat_no:03d}/photos/photo_{photo_no}@{stamp}.jpg"
    else:
        m["photo"] = NOT_INCLUDED
    m["photo_file_size"] = rng.randrange(40000, 400000)
    w, h = rng.choice(((1280, 960), (960, 1280), (1280, 720), (720, 1280), (1080, 1080), (1280, 853)))
    m["width"] = w
    m["height"] = h


def document(rng: random.Random, m: dict, act: int) -> None:
    if act == STICKER:
        kind = rng.random()
        ext, mime = ("webp", "image/webp") if kind < 0.6 else ("tgs", "application/x-tgsticker") \
            if kind < 0.85 else ("webm", "video/webm")
        m["file"] = NOT_INCLUDED
        m["file_name"] = f"sticker.{ext}"
        m["file_size"] = rng.randrange(8000, 60000)
        m["thumbnail"] = NOT_INCLUDED
        m["thumbnail_file_size"] = rng.randrange(3000, 12000)
        m["media_type"] = "sticker"
        m["sticker_emoji"] = rng.choice(STICKERS)
        m["mime_type"] = mime
        m["width"] = 512
        m["height"] = 512
    elif act == VOICE:
        d = 1 + int(rng.expovariate(1 / 18))
        m["file"] = NOT_INCLUDED
        m["file_size"] = d * rng.randrange(1800, 3000)
        m["media_type"] = "voice_message"
        m["mime_type"] = "audio/ogg"
        m["duration_seconds"] = d
    elif act == VIDEO_MSG:
        d = 2 + rng.randrange(58)
        m["file"] = NOT_INCLUDED
        m["file_size"] = d * rng.randrange(80000, 150000)
        m["thumbnail"] = NOT_INCLUDED
        m["thumbnail_file_size"] = rng.randrange(8000, 20000)
        m["media_type"] = "video_message"
        m["mime_type"] = "video/mp4"
        m["duration_seconds"] = d
        m["width"] = 384
        m["height"] = 384
    elif act == GIF:
        m["file"] = NOT_INCLUDED
        m["file_name"] = rng.choice(("giphy.mp4", "mp4.mp4", "animation.gif.mp4"))
        m["file_size"] = rng.randrange(50000, 900000)
        m["thumbnail"] = NOT_INCLUDED
        m["thumbnail_file_size"] = rng.randrange(2000, 9000)
        m["media_type"] = "animation"
        m["mime_type"] = "video/mp4"
        m["duration_seconds"] = rng.randrange(1, 9)
        m["width"] = rng.choice((480, 320, 498))
        m["height"] = rng.choice((270, 240, 280, 480))
    else:  # FILE
        name, mime = rng.choice(FILES)
        m["file"] = NOT_INCLUDED
        m["file_name"] = name
        m["file_size"] = rng.randrange(20000, 5000000)
        m["mime_type"] = mime


def reactions(rng: random.Random, m: dict, ts: int, sender: Person, members: tuple[Person, ...]) -> None:
    others = [p for p in members if p is not sender and p.name] or [OWNER]
    emoji = rng.choice(("👍", "❤", "😁", "🔥", "👍", "🤣", "😢", "👌"))
    who = rng.sample(others, min(len(others), 1 + (rng.random() < 0.25)))
    m["reactions"] = [{
        "type": "emoji",
        "count": len(who),
        "emoji": emoji,
        "recent": [{"from": p.name, "from_id": f"user{p.uid}", "date": export_date(ts + rng.randrange(5, 7200))}
                   for p in who],
    }]
