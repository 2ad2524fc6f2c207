"""Who is in the sample: the owner and the people they write with (each with a style), and the chats."""
from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from datetime import datetime, timezone

from doppel.sample.dates import T_START


@dataclass(frozen=True)
class Person:
    key: str
    name: str | None  # what `from` shows; None for a deleted account
    uid: int
    style: str
    langs: tuple[str, ...] = ("ru",)
    burst: float = 0.3  # chance of extra messages in a turn
    long: float = 0.0  # chance of a second sentence
    media: float = 0.08  # chance a reaction/statement is media instead
    # weights of sticker, photo, voice, video message, GIF, forward, file, location
    media_w: tuple[float, ...] = (3, 3, 1, 0.3, 1, 1, 0.3, 0.1)
    first: str = ""
    last: str = ""
    phone: str = ""
    fem: bool = False  # grammatical gender of what they write in Russian


OWNER = Person(
    "me", "Артём Соколов", 5093817264, "owner", ("ru", "en"), burst=0.45, media=0.07,
    media_w=(4, 3, 1, 0.5, 2, 2, 0.5, 0.2), first="Артём", last="Соколов", phone="+7 916 482 3051",
)
MASHA = Person("masha", "Маша Ковалёва", 1284735901, "masha", burst=0.25, long=0.45, media=0.1,
               media_w=(5, 4, 2, 0.5, 1, 1, 0.1, 0.1), first="Маша", last="Ковалёва", phone="+7 925 311 8472",
               fem=True)
DIMA = Person("dima", "Дима Кузнецов", 398812457, "dima", burst=0.55, media=0.07,
              media_w=(3, 1, 0.5, 0.2, 3, 1, 0, 0.2), first="Дима", last="Кузнецов", phone="+7 903 771 2046")
ALEX = Person("alex", "Alex Turner", 2046638115, "alex", ("en",), burst=0.2, long=0.2, media=0.06,
              media_w=(1, 3, 0.2, 0, 2, 0.5, 0, 0.1), first="Alex", last="Turner", phone="+44 7700 900418")
LENA = Person("lena", "Лена", 1730254418, "lena", burst=0.3, long=0.15, media=0.08,
              media_w=(2, 4, 1, 0.3, 0.5, 1, 0, 0.1), first="Лена", last="", phone="+7 916 205 7731", fem=True)
OLEG = Person("oleg", "Олег Рыбаков", 864120396, "oleg", burst=0.5, media=0.12,
              media_w=(4, 1, 0.5, 1, 4, 2, 0, 0), first="Олег", last="Рыбаков", phone="+7 926 940 1183")
SOFIA = Person("sofia", "Sofia Martins", 6120457733, "sofia", ("en", "ru"), burst=0.15, long=0.5, media=0.05,
               media_w=(0, 1, 0, 0, 0, 0.2, 5, 0), first="Sofia", last="Martins", phone="+351 912 604 338",
               fem=True)
MAMA = Person("mama", "Мама", 1519983207, "mama", burst=0.35, long=0.3, media=0.15,
              media_w=(0.5, 4, 6, 0.3, 0, 3, 0, 0.2), first="Мама", last="", phone="+7 916 117 4590", fem=True)
LANDLORD = Person("landlord", "Игорь Петрович (квартира)", 5502318846, "landlord", burst=0.1, long=0.3,
                  media=0.05, media_w=(0, 2, 0, 0, 0, 0, 2, 0), first="Игорь Петрович", last="(квартира)",
                  phone="+7 985 662 0917")
PAPA = Person("papa", "Папа", 1022754690, "papa", burst=0.1, media=0.1, media_w=(0, 3, 0.5, 0, 0, 3, 0, 0.3),
              first="Папа", last="", phone="+7 916 331 0288")
KATYA = Person("katya", "Катя Белова", 7011235567, "katya", burst=0.3, media=0.08, fem=True)
MAX = Person("max", "Max K", 2093384411, "max", ("ru", "en"), burst=0.35, media=0.08)
GHOST = Person("ghost", None, 1188120034, "plain", burst=0.2, media=0.05)
BOT = Person("bot", "Погодник", 6209135577, "bot", ("ru",))
TELEGRAM = Person("telegram", "Telegram", 777000, "telegram", ("en",))

CONTACTS = (MASHA, DIMA, ALEX, LENA, OLEG, SOFIA, MAMA, LANDLORD, PAPA)

GROUP_FAMILY = ("Семья ❤️", 4731856620)
GROUP_CLIMB = ("Скалолазы 🧗", 1839471256)
CHANNEL_LEFT = ("Новости IT 📰", 1467320981)

# Which topics each chat talks about (weights), and how likely a conversation is in English.
CHAT_TOPICS = {
    "masha": {"food": 3, "movies": 3, "plans": 3, "mood": 3, "travel": 1, "weather": 0.5},
    "dima": {"climbing": 4, "games": 2, "plans": 3, "mood": 1, "tech": 1},
    "alex": {"plans": 3, "travel": 3, "movies": 2, "climbing": 2, "mood": 2, "food": 1},
    "lena": {"family": 4, "mood": 3, "plans": 1, "movies": 1, "weather": 1},
    "oleg": {"games": 5, "tech": 3, "mood": 1, "plans": 1},
    "sofia": {"work": 6, "plans": 1, "travel": 1},
    "mama": {"family": 4, "food": 2, "weather": 2, "mood": 2},
    "landlord": {"flat": 1},
    "family": {"family": 4, "weather": 2, "food": 1, "plans": 1},
    "climb": {"climbing": 5, "plans": 3, "travel": 1, "mood": 1},
}


@dataclass
class Chat:
    key: str
    kind: str  # dialog | group | bot | saved | telegram | channel
    type: str
    id: int
    name: str | None
    members: tuple[Person, ...]
    share: float
    t0: int
    mean_turns: float = 6.0
    en_share: float = 0.0
    plant_p: float = 0.0
    decoy_p: float = 0.10  # ~5% of the clean text messages overall
    reply_p: float = 0.08
    react_p: float = 0.015
    own_ids: bool = False  # supergroups/channels number their messages themselves
    left: bool = False
    # filled by the planner
    count: int = 0
    ts: array = field(default_factory=lambda: array("q"))
    codes: array = field(default_factory=lambda: array("q"))
    ids: array = field(default_factory=lambda: array("q"))


def all_chats() -> list[Chat]:
    y = lambda year, month=1: int(datetime(year, month, 1, tzinfo=timezone.utc).timestamp())  # noqa: E731
    pc = "personal_chat"
    p = 0.06  # plant chance of a text statement/answer in a conversation (~3% of all messages)
    return [
        Chat("masha", "dialog", pc, MASHA.uid, MASHA.name, (OWNER, MASHA), 0.17, T_START, plant_p=p),
        Chat("dima", "dialog", pc, DIMA.uid, DIMA.name, (OWNER, DIMA), 0.13, T_START, plant_p=p),
        Chat("alex", "dialog", pc, ALEX.uid, ALEX.name, (OWNER, ALEX), 0.07, y(2021, 5), en_share=1.0, plant_p=p),
        Chat("lena", "dialog", pc, LENA.uid, LENA.name, (OWNER, LENA), 0.09, T_START, plant_p=p),
        Chat("oleg", "dialog", pc, OLEG.uid, OLEG.name, (OWNER, OLEG), 0.07, y(2020, 6), plant_p=p),
        Chat("sofia", "dialog", pc, SOFIA.uid, SOFIA.name, (OWNER, SOFIA), 0.05, y(2023, 3), en_share=0.6,
             plant_p=p * 1.3),
        Chat("mama", "dialog", pc, MAMA.uid, MAMA.name, (OWNER, MAMA), 0.08, T_START, plant_p=p),
        Chat("landlord", "dialog", pc, LANDLORD.uid, LANDLORD.name, (OWNER, LANDLORD), 0.015, y(2022, 8),
             mean_turns=4, plant_p=p * 2),
        Chat("family", "group", "private_group", GROUP_FAMILY[1], GROUP_FAMILY[0], (OWNER, MAMA, LENA, PAPA), 0.08,
             y(2020, 3), mean_turns=7, plant_p=p * 0.6, reply_p=0.2, react_p=0.03),
        Chat("climb", "group", "private_supergroup", GROUP_CLIMB[1], GROUP_CLIMB[0],
             (OWNER, DIMA, ALEX, OLEG, KATYA, MAX, GHOST), 0.11, y(2021, 9), mean_turns=8, plant_p=p * 0.5,
             reply_p=0.25, react_p=0.04, own_ids=True),
        Chat("bot", "bot", "bot_chat", BOT.uid, BOT.name, (OWNER, BOT), 0.012, y(2021, 2)),
        Chat("saved", "saved", "saved_messages", OWNER.uid, None, (OWNER,), 0.03, T_START, plant_p=0.16,
             decoy_p=0.10),
        Chat("telegram", "telegram", pc, TELEGRAM.uid, TELEGRAM.name, (TELEGRAM,), 0.004, T_START),
        Chat("channel", "channel", "public_channel", CHANNEL_LEFT[1], CHANNEL_LEFT[0], (), 0.01, y(2020, 2),
             own_ids=True, left=True),
    ]
