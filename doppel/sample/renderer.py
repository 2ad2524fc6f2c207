"""Phase 2: one chat's skeleton -> its messages, in the exporter's key order (one seeded generator per chat)."""
from __future__ import annotations

import random
from typing import Iterator

from doppel.sample import media
from doppel.sample.dates import export_date
from doppel.sample.people import OWNER, Chat, Person
from doppel.sample.private import DECOY, ENTITY_OF, PLANT_GEN, PLANT_KINDS, PLANT_W_CHAT, PLANT_W_SAVED, decoy, \
    passport, phone
from doppel.sample.skeleton import (
    ANSWER, BOTREPLY, BYE, CALL, CMD, CREATE, EMOJI, FILE, FORWARD, GIF, GREET, INVITE, LOCATION, LOGIN, MIGRATE,
    NOTE, PHOTO, PIN, QUESTION, REACT, STATEMENT, STICKER, VIDEO_MSG, VOICE,
)
from doppel.sample.style import A, E, N, Q, R, S, apply_style
from doppel.sample.templates import LINKS, fill
from doppel.sample.text import decorate, text_fields
from doppel.sample.words import (
    CHANNEL_POSTS, CITIES_BOT, FORWARD_SOURCES, GENERIC, NOTES, PHRASES, PLANT_TEMPLATES, TOPIC_ID, TOPIC_NAMES,
    TOPICS, WEATHER_BOT,
)

Part = tuple[str, str, "str | None"]  # (entity type, text, href)
SERVICE_ACTS = (CALL, PIN, CREATE, MIGRATE, INVITE)
# a file's caption (the passport scan's "\0" takes a planted passport number)
CAPTIONS_RU = ("Вот, держи.", "Here's the draft.", "Скан.", "Посмотри, пожалуйста.", "Скан паспорта, серия и номер \0")
CAPTIONS_EN = ("Here you go.", "Here's the draft.", "The scan.", "Have a look, please.", "Passport scan, number \0")
LOGIN_CODE_TAIL = (
    ". Do not give this code to anyone, even if they say they are from Telegram!\n\n❗️This code can be used "
    "to log in to your Telegram account. We never ask it for anything else.\n\nIf you didn't request this "
    "code by trying to log in on another device, simply ignore this message."
)


class Renderer:
    def __init__(self, chat: Chat, chat_no: int, seed: int, planted: list[dict], language: str = "ru"):
        self.chat = chat
        self.english = language == "en"  # every person writes English; a conversation keeps its slot values
        self.no = chat_no
        self.rng = random.Random(f"doppel-sample:{seed}:{chat.key}:text")
        self.planted = planted
        self.photo_no = 0
        self.addr_fem = False
        self.state: dict = {}  # of the conversation: the pending question's kind, the bot's city
        self.recent: list[tuple[int, int]] = []  # (message id, sender index) of recent text messages
        self.last_q: tuple[int, int] | None = None

    # --- text pieces --------------------------------------------------------------------------------

    def phrase(self, person: Person, lang: str, act: str) -> str:
        own = PHRASES.get(person.style, {}).get(lang)
        if own and self.rng.random() < 0.8:
            return self.rng.choice(own[act])
        return self.fill(self.rng.choice(GENERIC[lang][act]), lang, person)

    @staticmethod
    def topic_bank(topic: int, lang: str) -> dict[str, tuple[str, ...]]:
        bank = TOPICS[TOPIC_NAMES[topic]].get(lang)
        return bank if bank is not None else TOPICS["mood"][lang]

    def fill(self, template: str, lang: str, person: Person) -> str:
        memo = self.state.setdefault("slots", {}) if self.english else None
        return fill(template, self.rng, lang, person.fem, self.addr_fem, memo)

    def person_lang(self, person: Person, conv_lang: str) -> str:
        if self.english:
            return "en"
        return conv_lang if conv_lang in person.langs else person.langs[0]

    # --- message text for a conversational act ------------------------------------------------------

    def say(self, person: Person, act: int, topic: int, lang: str, state: dict) -> tuple[str, str]:
        """(text with an optional "\\0" slot, style kind)."""
        rng = self.rng
        if act == GREET:
            return self.phrase(person, lang, "greet"), R
        if act == BYE:
            return self.phrase(person, lang, "bye"), R
        if act == REACT:
            return self.phrase(person, lang, "react"), R
        if act == EMOJI:
            own = PHRASES.get(person.style, {}).get(lang) or GENERIC[lang]
            return rng.choice(own["emoji"]), E
        bank = self.topic_bank(topic, lang)
        if act == QUESTION:
            kind, tpl = rng.choice(bank["q"]).split("|", 1)
            state["pending"] = kind
            return self.fill(tpl, lang, person), Q
        if act == ANSWER:
            kind = state.pop("pending", None)
            if kind == "yn":
                yes = rng.random() < 0.68
                if rng.random() < 0.45:
                    return self.phrase(person, lang, "yes" if yes else "no"), A
                return self.fill(rng.choice(bank["yes" if yes else "no"]), lang, person), A
            if kind in bank:
                return self.fill(rng.choice(bank[kind]), lang, person), A
            return self.fill(rng.choice(bank["s"]), lang, person), S
        text = self.fill(rng.choice(bank["s"]), lang, person)
        if person.long and rng.random() < person.long:
            more = self.fill(rng.choice(bank["s"]), lang, person)
            if more != text:
                text += " " + more
        return text, S

    # --- styled text, maybe with planted private data -----------------------------------------------

    def styled_parts(self, person: Person, raw: str, kind: str, lang: str, mid: int, allow_plant: bool,
                     allow_decoy: bool) -> list[Part]:
        """Style the text; maybe plant private data or a decoy; maybe decorate with entities."""
        rng = self.rng
        chat = self.chat
        value = vtype = None
        if allow_plant and rng.random() < chat.plant_p:
            w = PLANT_W_SAVED if chat.kind == "saved" else PLANT_W_CHAT
            pk = rng.choices(PLANT_KINDS, w)[0]
            value = phone(rng, lang) if pk == "PHONE" else PLANT_GEN[pk](rng)
            vtype = "SECRET" if pk.startswith("SECRET") else pk
            tpl = rng.choice(PLANT_TEMPLATES[pk].get(lang) or PLANT_TEMPLATES[pk]["ru"])
            raw = self.fill(tpl, lang, person)
            if rng.random() < 0.15:  # followed by an ordinary sentence
                raw += ". " + self.fill(rng.choice(self.topic_bank(TOPIC_ID["plans"], lang)["s"]), lang, person)
            kind = S
        elif allow_decoy and rng.random() < chat.decoy_p:
            tpl, value = decoy(rng, lang)
            vtype = DECOY
            raw = self.fill(tpl, lang, person)
            kind = S
        text = apply_style(person.style, raw, kind, lang, rng)
        if value is None:
            return decorate(rng, chat, person, text, kind)
        before, _, after = text.partition("\0")
        ent = ENTITY_OF.get(vtype)
        ent_type = ent if ent and rng.random() < 0.5 else "plain"
        if ent_type == "plain":
            parts = [("plain", before + value + after, None)]
        else:
            parts = [p for p in (("plain", before, None), (ent_type, value, None), ("plain", after, None)) if p[1]]
        self.planted.append({"chat_id": chat.id, "message_id": mid, "type": vtype, "value": value})
        return parts

    # --- the loop -------------------------------------------------------------------------------------

    def messages(self) -> Iterator[dict]:
        chat = self.chat
        rng = self.rng
        members = chat.members
        ts_a, codes, ids = chat.ts, chat.codes, chat.ids
        for i in range(len(ts_a)):
            ts, code, mid = ts_a[i], codes[i], ids[i]
            si = code & 31
            act = (code >> 5) & 31
            topic = (code >> 10) & 31
            conv_lang = "en" if (code >> 15) & 1 else "ru"
            if (code >> 16) & 1:
                self.state = {}
                self.last_q = None
            if self.english:
                if self.state.get("topic", topic) != topic:  # a new topic: new films, dishes, days
                    self.state.pop("slots", None)
                self.state["topic"] = topic
            date = export_date(ts)
            m: dict = {"id": mid, "type": "message", "date": date, "date_unixtime": str(ts)}
            if chat.kind == "channel":
                self.channel_post(m, date)
                yield m
                continue
            person = members[si]
            self.addr_fem = chat.kind == "dialog" and members[1 - si].fem
            if act in SERVICE_ACTS:
                self.service(m, act, person)
                yield m
                continue
            if rng.random() < 0.03 and act in (QUESTION, ANSWER, STATEMENT, NOTE):
                edited = ts + rng.randrange(5, 900)
                m["edited"] = export_date(edited)
                m["edited_unixtime"] = str(edited)
            m["from"] = person.name
            m["from_id"] = f"user{person.uid}"
            lang = self.person_lang(person, conv_lang)
            parts = self.content(m, i, act, si, topic, lang, date)
            m["text"], m["text_entities"] = text_fields(parts)
            if chat.kind in ("dialog", "group") and rng.random() < chat.react_p:
                media.reactions(rng, m, ts, person, members)
            if parts:
                self.recent.append((mid, si))
                if len(self.recent) > 8:
                    del self.recent[0]
            yield m

    def photo(self, m: dict, date: str) -> None:
        self.photo_no += 1
        media.photo(self.rng, m, date, self.no, self.photo_no)

    def channel_post(self, m: dict, date: str) -> None:
        rng, chat = self.rng, self.chat
        m["from"] = chat.name
        m["from_id"] = f"channel{chat.id}"
        if rng.random() < 0.3:
            self.photo(m, date)
        title = rng.choice(CHANNEL_POSTS)
        parts = [("bold", title, None), ("plain", "\n\nПодробнее: ", None),
                 ("link", LINKS[rng.randrange(len(LINKS))](rng), None)]
        m["text"], m["text_entities"] = text_fields(parts)

    def service(self, m: dict, act: int, person: Person) -> None:
        rng, chat, recent = self.rng, self.chat, self.recent
        m["type"] = "service"
        m["actor"] = person.name
        m["actor_id"] = f"user{person.uid}"
        if act == CALL:
            m["action"] = "phone_call"
            if rng.random() < 0.7:
                m["duration_seconds"] = 5 + int(rng.expovariate(1 / 300))
                m["discard_reason"] = "hangup"
            else:
                m["discard_reason"] = rng.choice(("missed", "busy", "missed"))
        elif act == PIN:
            m["action"] = "pin_message"
            m["message_id"] = recent[-rng.randrange(1, min(len(recent), 5) + 1)][0] if recent else chat.ids[0]
        elif act == CREATE:
            m["action"] = "create_group"
            m["title"] = chat.name
            m["members"] = [p.name for p in chat.members]
        elif act == MIGRATE:
            m["action"] = "migrate_from_group"
            m["title"] = chat.name
        else:
            m["action"] = "invite_members"
            m["members"] = [rng.choice(("Саша Орлова", "Никита", "Вера Ким", "Tom B."))]
        m["text"] = ""
        m["text_entities"] = []

    def content(self, m: dict, i: int, act: int, si: int, topic: int, lang: str, date: str) -> list[Part]:
        """What a non-service message carries: its text parts (media keys go straight into m)."""
        rng, person, mid = self.rng, self.chat.members[si], m["id"]
        if act == LOGIN:
            return self.login(date)
        if act in (CMD, BOTREPLY):
            return self.bot(act, i)
        if act == NOTE:
            if rng.random() < 0.2:
                return [("link", LINKS[rng.randrange(len(LINKS))](rng), None)]
            raw = self.fill(rng.choice(NOTES), "ru", person)
            return self.styled_parts(person, raw, N, "ru", mid, True, True)
        if act == FORWARD:
            src, src_id, heads = rng.choice(FORWARD_SOURCES)
            m["forwarded_from"] = src
            m["forwarded_from_id"] = src_id
            if rng.random() < 0.3:
                self.photo(m, date)
            return [("plain", rng.choice(heads), None)]
        if act == LOCATION:
            m["location_information"] = {
                "latitude": round(55.75 + rng.uniform(-0.12, 0.12), 6),
                "longitude": round(37.62 + rng.uniform(-0.2, 0.2), 6),
            }
            return []
        if act == PHOTO:
            self.photo(m, date)
            if rng.random() < 0.35:
                raw, kind = self.say(person, STATEMENT, topic, lang, self.state) if self.chat.kind != "saved" else \
                    (self.fill(rng.choice(NOTES), "ru", person), N)
                return self.styled_parts(person, raw, kind, lang, mid, True, False)
            return []
        if act in (STICKER, VOICE, VIDEO_MSG, GIF, FILE):
            return self.document(m, act, person, lang)
        return self.talk(m, act, si, topic, lang)

    def login(self, date: str) -> list[Part]:
        rng = self.rng
        code_s = str(rng.randrange(10000, 99999))
        if rng.random() < 0.9:
            return [("plain", "Login code: ", None), ("bold", code_s, None), ("plain", LOGIN_CODE_TAIL, None)]
        return [("plain", f"New login. Dear {OWNER.first}, we detected a login into your account "
                 f"from a new device on {date[:10]} at {date[11:]}.\n\nDevice: Telegram Desktop, "
                 "Windows 11\nLocation: Moscow, Russia\n\nIf this wasn't you, you can terminate "
                 "that session in Settings > Devices (or Privacy & Security > Active Sessions).", None)]

    def bot(self, act: int, i: int) -> list[Part]:
        rng, state = self.rng, self.state
        if act == CMD:
            city = rng.choice(CITIES_BOT)
            state["city"] = city
            if i == 0:
                return [("bot_command", "/start", None)]
            return [("bot_command", "/weather", None), ("plain", " " + city, None)]
        city = state.get("city", "Москва")
        t = rng.randrange(-20, 32)
        return [("bold", city, None),
                ("plain", f": {t:+d}°C, {rng.choice(WEATHER_BOT)}\nВетер {rng.randrange(0, 12)} м/с, "
                          f"влажность {rng.randrange(30, 99)}%", None)]

    def document(self, m: dict, act: int, person: Person, lang: str) -> list[Part]:
        rng = self.rng
        if act == GIF and rng.random() < 0.3:
            m["via_bot"] = "@gif"
        media.document(rng, m, act)
        if act == FILE and rng.random() < 0.5:
            raw = rng.choice(CAPTIONS_EN if self.english else CAPTIONS_RU)
            text = apply_style(person.style, raw, S, lang, rng)
            if "\0" in text:
                value = passport(rng)
                self.planted.append({"chat_id": self.chat.id, "message_id": m["id"], "type": "PASSPORT",
                                     "value": value})
                text = text.replace("\0", value)
            return [("plain", text, None)]
        return []

    def talk(self, m: dict, act: int, si: int, topic: int, lang: str) -> list[Part]:
        """Conversational text: greetings, questions, answers, statements, reactions, emoji, goodbyes."""
        rng, chat, person, mid = self.rng, self.chat, self.chat.members[si], m["id"]
        raw, kind = self.say(person, act, topic, lang, self.state)
        text_act = act in (ANSWER, STATEMENT)
        parts = self.styled_parts(person, raw, kind, lang, mid, text_act, text_act)
        if act == ANSWER and self.last_q and self.last_q[1] != si and rng.random() < chat.reply_p:
            m["reply_to_message_id"] = self.last_q[0]
        elif act == REACT and self.recent and self.recent[-1][1] != si and rng.random() < chat.reply_p / 2:
            m["reply_to_message_id"] = self.recent[-1][0]
        if act == QUESTION:
            self.last_q = (mid, si)
        return parts
