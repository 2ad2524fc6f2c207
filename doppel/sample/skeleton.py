"""Phase 1: the skeleton of every chat (timestamps, senders, acts) as compact arrays, and message ids."""
from __future__ import annotations

import random
from array import array

from doppel.sample.dates import DAY, T_END, TZ
from doppel.sample.people import CHAT_TOPICS, GHOST, Chat, all_chats
from doppel.sample.words import TOPIC_ID

MIN_MESSAGES = 100

# Acts: what a message does in the conversation skeleton
(GREET, QUESTION, ANSWER, STATEMENT, REACT, BYE, EMOJI, STICKER, PHOTO, VOICE, VIDEO_MSG, GIF, FORWARD, FILE,
 LOCATION, CALL, PIN, CREATE, MIGRATE, INVITE, CMD, BOTREPLY, NOTE, LOGIN, POST) = range(25)
_MEDIA_ACT = (STICKER, PHOTO, VOICE, VIDEO_MSG, GIF, FORWARD, FILE, LOCATION)


def _pack(sender: int, act: int, topic: int, lang: int, new: int) -> int:
    return sender | act << 5 | topic << 10 | lang << 15 | new << 16


def _conv_dialog(rng: random.Random, chat: Chat, topics: tuple[int, ...], tweights: tuple[float, ...],
                 greet_back: bool = False):
    """One conversation: a list of (offset_seconds, code). `greet_back` (the English sample): a greeting that
    opens a conversation is answered with a greeting."""
    members = chat.members
    n = len(members)
    lang = 1 if rng.random() < chat.en_share else 0
    topic = rng.choices(topics, tweights)[0]
    n_turns = min(16, 1 + int(rng.expovariate(1.0 / chat.mean_turns)))
    speaker = 0 if rng.random() < (0.45 if n == 2 else 0.25) else rng.randrange(1, n)
    out: list[tuple[int, int]] = []
    off = 0
    pending = False
    greeted = False
    first = True
    if chat.kind == "dialog" and rng.random() < 0.035:  # a call, sometimes instead of writing
        out.append((0, _pack(speaker, CALL, topic, lang, 1)))
        first = False
        off = rng.randrange(60, 1800)
    for turn in range(n_turns):
        p = members[speaker]
        acts: list[int] = []
        if turn == 0:
            if rng.random() < 0.5:
                acts.append(GREET)
            acts.append(QUESTION if rng.random() < 0.6 else STATEMENT)
        else:
            if rng.random() < 0.12:
                topic = rng.choices(topics, tweights)[0]
            if greeted:
                acts.append(GREET)
                greeted = False
            if pending:
                acts.append(ANSWER)
            else:
                acts.append(REACT if rng.random() < 0.4 else STATEMENT)
            x = rng.random()
            if x < 0.38:
                acts.append(QUESTION)
            elif x < 0.5:
                acts.append(STATEMENT)
        while rng.random() < p.burst and len(acts) < 4:
            acts.insert(len(acts) - 1 if acts[-1] == QUESTION else len(acts),
                        rng.choice((STATEMENT, REACT, EMOJI, STATEMENT)))
        if turn == n_turns - 1 and rng.random() < 0.35:
            acts.append(BYE)
        pending = acts[-1] == QUESTION
        greeted = greet_back and turn == 0 and acts[0] == GREET
        for j, act in enumerate(acts):
            if act in (REACT, STATEMENT, EMOJI) and rng.random() < p.media:
                act = rng.choices(_MEDIA_ACT, p.media_w)[0]
            if j == 0:
                gap = 0 if (turn == 0 and first) else min(14400, 2 + int(rng.lognormvariate(3.6, 1.2)))
            else:
                gap = rng.randrange(2, 30)
            off += gap
            out.append((off, _pack(speaker, act, topic, lang, int(turn == 0 and j == 0 and first))))
        if n == 2:
            speaker = 1 - speaker
        else:
            nxt = rng.randrange(n - 1)
            speaker = nxt if nxt < speaker else nxt + 1
            if speaker == n - 1 and members[speaker] is GHOST and rng.random() < 0.7:
                speaker = rng.randrange(n - 1)  # the deleted account posts rarely
    if chat.kind == "dialog" and rng.random() < 0.01 and len(out) > 2:
        off += rng.randrange(5, 120)
        out.append((off, _pack(rng.randrange(2), PIN, topic, lang, 0)))
    return out


def _conv_other(rng: random.Random, chat: Chat):
    k = chat.kind
    if k == "bot":
        out, off = [], 0
        for i in range(rng.choice((1, 1, 2))):
            off += rng.randrange(5, 90) if i else 0
            out.append((off, _pack(0, CMD, 0, 0, int(i == 0))))
            off += rng.randrange(1, 3)
            out.append((off, _pack(1, BOTREPLY, 0, 0, 0)))
        return out
    if k == "saved":
        out, off = [], 0
        for i in range(1 + int(rng.expovariate(1.2))):
            off += rng.randrange(10, 600) if i else 0
            x = rng.random()
            act = NOTE if x < 0.75 else PHOTO if x < 0.87 else FORWARD if x < 0.95 else FILE
            out.append((off, _pack(0, act, 0, 0, int(i == 0))))
        return out
    if k == "telegram":
        return [(0, _pack(0, LOGIN, 0, 0, 1))]
    # channel
    return [(0, _pack(0, POST, 0, 0, 1))]


def _local_hour(ts: int) -> float:
    return ((ts + TZ) % DAY) / 3600.0


def _skeleton(chat: Chat, seed: int, language: str = "ru") -> None:
    rng = random.Random(f"doppel-sample:{seed}:{chat.key}:skeleton")
    topics = tweights = ()
    if chat.kind in ("dialog", "group"):
        tw = CHAT_TOPICS[chat.key]
        topics = tuple(TOPIC_ID[t] for t in tw)
        tweights = tuple(tw.values())
    convs: list[list[tuple[int, int]]] = []
    total = 0
    count = chat.count
    if chat.kind == "group":  # the history begins with how the group came to be
        act = CREATE if chat.type == "private_group" else MIGRATE
        convs.append([(0, _pack(1 if act == CREATE else 0, act, 0, 0, 1))])
        total = 1
    while total < count:
        if chat.kind in ("dialog", "group"):
            if chat.kind == "group" and rng.random() < 0.01:
                conv = [(0, _pack(rng.randrange(len(chat.members)), INVITE, 0, 0, 1))]
            else:
                conv = _conv_dialog(rng, chat, topics, tweights, greet_back=language == "en")
        else:
            conv = _conv_other(rng, chat)
        if total + len(conv) > count:
            conv = conv[: count - total]
        convs.append(conv)
        total += len(conv)
    # conversation start times: sorted uniform over the chat's life, moved out of the night
    t0, t1 = chat.t0, T_END - DAY
    starts = sorted(rng.randrange(t0, t1) for _ in convs)
    starts[0] = t0 + rng.randrange(0, DAY)
    ts, codes = chat.ts, chat.codes
    prev_end = 0
    for conv, start in zip(convs, starts):
        h = _local_hour(start)
        if h < 8.0 and chat.kind != "telegram":
            start += int((8.0 - h) * 3600) + rng.randrange(0, 3 * 3600)
        start = max(start, prev_end + rng.randrange(600, 4 * 3600))
        for off, code in conv:
            ts.append(start + off)
            codes.append(code)
        prev_end = start + conv[-1][0]


def _assign_ids(chats: list[Chat], seed: int) -> None:
    """Personal chats, basic groups, bots and saved messages share one message counter per account (ids grow
    across all of them in time order); supergroups and channels count their own."""
    rng = random.Random(f"doppel-sample:{seed}:ids")
    shared = [c for c in chats if not c.own_ids]
    keys = []
    for ci, c in enumerate(shared):
        base = ci << 24
        keys.extend((t << 30) | base | i for i, t in enumerate(c.ts))
    keys.sort()
    for c in shared:
        c.ids = array("q", bytes(8 * len(c.ts)))
    next_id = rng.randrange(120000, 260000)
    rnd = rng.random
    mask = (1 << 24) - 1
    for k in keys:
        shared[(k >> 24) & 63].ids[k & mask] = next_id
        next_id += 1 if rnd() > 0.03 else 2 + int(rnd() * 6)
    for c in chats:
        if c.own_ids:
            ids = array("q")
            nid = rng.randrange(1, 40)
            for _ in c.ts:
                ids.append(nid)
                nid += 1 if rnd() > 0.05 else 2 + int(rnd() * 4)
            c.ids = ids


LANGUAGES = ("ru", "en")  # the sample's language (sample.language): ru, the owner's own mix; en, all English


def plan(n_messages: int, seed: int, language: str = "ru") -> list[Chat]:
    """Every chat's skeleton. `language` en: every conversation of the dialogs and groups is in English (a base
    that reads English: README, "Benchmarks"); ru: most are in Russian, Alex's and some of Sofia's in English."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)} (got {language!r})")
    chats = all_chats()
    if language == "en":
        for c in chats:
            if c.kind in ("dialog", "group"):
                c.en_share = 1.0
    total_share = sum(c.share for c in chats)
    for c in chats:
        c.count = max(2 if c.kind in ("telegram", "channel") else 4, int(n_messages * c.share / total_share))
    biggest = max(chats, key=lambda c: c.count)
    biggest.count += n_messages - sum(c.count for c in chats)
    if biggest.count < 4:
        raise ValueError(f"n_messages must be at least {MIN_MESSAGES}")
    for c in chats:
        _skeleton(c, seed, language)
    _assign_ids(chats, seed)
    # dialog order, as the exporter writes it: the most recently active chat first
    chats.sort(key=lambda c: (-c.ts[-1], c.key))
    return chats
