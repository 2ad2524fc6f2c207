"""The account-level parts of a full-account export: personal information, profile pictures, contacts,
frequent contacts, sessions; and a chat's head (name, type, id)."""
from __future__ import annotations

import random

from doppel.sample.dates import DAY, T_END, T_START, export_date
from doppel.sample.people import ALEX, CONTACTS, DIMA, GROUP_CLIMB, LENA, MAMA, MASHA, OLEG, OWNER, Chat
from doppel.sample.words import ABOUT


def header(seed: int) -> dict:
    rng = random.Random(f"doppel-sample:{seed}:header")
    stamp = lambda ts: {"date": export_date(ts), "date_unixtime": str(ts)}  # noqa: E731
    pics = []
    for k in range(3):
        ts = T_START + rng.randrange(0, T_END - T_START)
        d = export_date(ts)
        pics.append({**stamp(ts), "photo": f"profile_pictures/photo_{k + 1}@{d[8:10]}-{d[5:7]}-{d[0:4]}_"
                                           f"{d[11:13]}-{d[14:16]}-{d[17:19]}.jpg"})
    pics.sort(key=lambda p: -int(p["date_unixtime"]))
    contacts = []
    for p in sorted(CONTACTS, key=lambda p: (p.first, p.last)):
        ts = T_START + rng.randrange(0, 400 * DAY)
        contacts.append({"user_id": p.uid, "first_name": p.first, "last_name": p.last,
                         "phone_number": p.phone, **stamp(ts)})
    contacts.append({**stamp(T_START + rng.randrange(0, 900 * DAY))})  # a deleted contact: only its date
    frequent = []
    categories = (("people", (MASHA, DIMA, LENA, ALEX, OLEG, MAMA)), ("inline_bots", ()), ("calls", (MAMA, MASHA)))
    for cat, people in categories:
        rating = 20.0 + rng.random() * 10
        for p in people:
            frequent.append({"id": p.uid, "category": cat, "type": "user", "name": p.name, "rating": round(rating, 6)})
            rating *= 0.55 + rng.random() * 0.3
        if cat == "people":
            frequent.append({"id": GROUP_CLIMB[1], "category": cat, "type": "private_supergroup",
                             "name": GROUP_CLIMB[0], "rating": round(rating, 6)})
        if cat == "inline_bots":
            frequent.append({"id": 140267078, "category": cat, "type": "user", "name": "GIF Search",
                             "rating": round(rating / 3, 6)})
    last = T_END - rng.randrange(0, DAY)
    sessions = [
        {"last_active": export_date(last), "last_active_unixtime": str(last), "last_ip": "203.0.113.45",
         "last_country": "Russia", "last_region": "Moscow", "application_name": "Telegram Desktop",
         "application_version": "5.8.3", "device_model": "Desktop", "platform": "Windows",
         "system_version": "Windows 11", "created": export_date(last - 90 * DAY),
         "created_unixtime": str(last - 90 * DAY)},
        {"last_active": export_date(last - 3600), "last_active_unixtime": str(last - 3600), "last_ip": "198.51.100.23",
         "last_country": "Russia", "last_region": "Moscow", "application_name": "Telegram iOS",
         "application_version": "11.4", "device_model": "iPhone 13", "platform": "iOS", "system_version": "18.1",
         "created": export_date(last - 700 * DAY), "created_unixtime": str(last - 700 * DAY)},
    ]
    web = [{"last_active": export_date(last - 40 * DAY), "last_active_unixtime": str(last - 40 * DAY),
            "last_ip": "203.0.113.45", "last_region": "Moscow", "bot_username": "@discussbot",
            "domain_name": "comments.example.org", "browser": "Chrome 128", "platform": "Windows",
            "created": export_date(last - 41 * DAY), "created_unixtime": str(last - 41 * DAY)}]
    return {
        "about": ABOUT["export"],
        "personal_information": {
            "user_id": OWNER.uid, "first_name": OWNER.first, "last_name": OWNER.last, "phone_number": OWNER.phone,
            "username": "@artem_sok", "bio": "кофе, код, скалодром",
        },
        "profile_pictures": pics,
        "contacts": {"about": ABOUT["contacts"], "list": contacts},
        "frequent_contacts": {"about": ABOUT["frequent_contacts"], "list": frequent},
        "sessions": {"about": ABOUT["sessions"], "list": sessions},
        "web_sessions": {"about": ABOUT["web_sessions"], "list": web},
    }


def chat_head(chat: Chat) -> dict:
    head: dict = {} if chat.type == "saved_messages" else {"name": chat.name}  # the exporter omits it there
    head["type"] = chat.type
    head["id"] = chat.id
    return head
