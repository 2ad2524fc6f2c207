"""`doppel sample`: a deterministic synthetic full-account Telegram Desktop export, with planted private data.

    doppel sample -o DIR [--messages N] [--seed S] [--planted FILE]

Writes DIR/result.json shaped like the real exporter's output (Telegram Desktop's JsonWriter: one space of
indentation per level, keys in its order, `messages` last in a chat, no trailing newline, and even its odd
indentation of `reactions` arrays). Same seed and size -> byte-identical file.

What is in it: an owner ("Артём Соколов") with a distinctive style (all lowercase, no full stops, ")))",
"короче", "ок"/"thx"/"btw" code-switching, short bursts), eight personal chats with friends who each write
differently (language, length, punctuation, emoji), a family group, a climbing supergroup (with a deleted
account), a bot chat, saved messages, Telegram's 777000 login-code chat, and a channel in `left_chats`.
Conversations follow topics (question -> answer -> follow-up) in sessions hours to days apart, with replies,
forwards, edits, stickers, voice, photos, calls, pins and reactions.

Planted private data (about 3% of messages), typed PHONE, EMAIL, CARD, IBAN, PASSPORT, INN, SNILS, SECRET,
SEED_PHRASE, CRYPTO_ADDRESS (valid checksums where the real thing has one), and decoys (prices, dates, times,
order numbers, plain numbers, years) in about 5% of the clean text messages. `--planted FILE` lists them as
JSON Lines {"chat_id", "message_id", "type", "value"} (type "DECOY" for decoys); `value` is the exact
substring of the message's text (its parts joined).

Python API:
    generate(n_messages, seed) -> (export_dict, planted_rows)
    write_sample(out_dir, n_messages, seed, planted_path=None) -> Path   (streams; fine for 1M messages)
    dumps_like_exporter(export_dict) -> bytes   (the exporter's exact layout; reproduces real exports)
"""
from __future__ import annotations

import argparse
import hashlib
import random
import re
import time
from array import array
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import orjson

from doppel.bip39 import WORDS as BIP39_WORDS

DEFAULT_MESSAGES = 20000
DEFAULT_SEED = 7
MIN_MESSAGES = 100

PLANTED_TYPES = (
    "PHONE", "EMAIL", "CARD", "IBAN", "PASSPORT", "INN", "SNILS", "SECRET", "SEED_PHRASE", "CRYPTO_ADDRESS",
)
DECOY = "DECOY"

TZ = 3 * 3600  # the exporting machine's clock: Moscow (UTC+3, no DST), so `date` is UTC+3 without offset
T_START = int(datetime(2020, 1, 10, tzinfo=timezone.utc).timestamp())
T_END = int(datetime(2026, 10, 30, tzinfo=timezone.utc).timestamp())
DAY = 86400

NOT_INCLUDED = "(File not included. Change data exporting settings to download.)"

ABOUT = (
    "Here is the data you requested. Remember: Telegram is ad free, it doesn't use your data for ad "
    "targeting and doesn't sell it to others. Telegram only keeps the information it needs to function as a "
    "secure and feature-rich cloud service.\n\nCheck out Settings > Privacy & Security on Telegram's mobile "
    "apps for the relevant settings."
)
ABOUT_CONTACTS = (
    "If you allow access, your contacts are continuously synced with Telegram. Thanks to this, you can easily "
    "switch to Telegram without losing your existing social graph \u2013 and connect with friends across all "
    "your devices. We use data about your contacts to let you know when they join Telegram. We also use it to "
    "make sure that you see the names you have in your phone book instead of the screen names people choose "
    "for themselves.\n\nYou can disable contacts syncing or delete your stored contacts in Settings > Privacy "
    "& Security on Telegram's mobile apps."
)
ABOUT_FREQUENT = (
    "This rating shows which people you are likelier to message frequently. Telegram uses this data to "
    "populate the 'People' box at the top of the Search section. The rating is also calculated for inline "
    "bots so that the app can suggest you the bots you are most likely to use in the attachment menu (or when "
    "you start a new message with \"@\").\n\nTo delete this data, go to Settings > Privacy & Security and "
    "disable 'Suggest Frequent Contacts' (requires Telegram for iOS v.4.8.3 or Telegram for Android v.4.8.10 "
    "or higher). See this page for more information: https://telegram.org/faq/data-export"
)
ABOUT_SESSIONS = (
    "We store this to display your connected devices in Settings > Privacy & Security > Active Sessions. "
    "Terminating a session removes this data from Telegram servers."
)
ABOUT_WEB_SESSIONS = (
    "We store this to display you the websites where you used Telegram to log in in Settings > Privacy & "
    "Security > Active Sessions. Disconnecting a website removes this data from Telegram servers."
)
ABOUT_CHATS = "This page lists all chats from this export."
ABOUT_LEFT_CHATS = "This page lists all supergroups and channels from this export that you've left."


def _lines(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.strip().splitlines() if s.strip())


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# --------------------------------------------------------------------------------------------------------
# People and their styles
# --------------------------------------------------------------------------------------------------------



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

# --------------------------------------------------------------------------------------------------------
# Words
# --------------------------------------------------------------------------------------------------------

SLOTS: dict[str, dict[str, tuple[str, ...]]] = {
    "ru": {
        "day": _lines("""
            завтра
            сегодня вечером
            в субботу
            в воскресенье
            в пятницу
            после работы
            в четверг
            на выходных
        """),
        "weekend": _lines("выходные\nсубботу\nпраздники\nвечер\nотпуск"),
        "time": _lines("в семь\nв восемь\nк девяти\nчасов в шесть\nпосле обеда\nв полвосьмого\nк обеду\nчасов в пять"),
        "place": _lines("""
            в кино
            в бар
            в парк
            в ту кофейню на Покровке
            на каток
            в боулинг
            на скалодром
            в Депо
            в музей
            на концерт
            в антикафе
            в Парк Горького
            на ВДНХ
        """),
        "meet": _lines("метро\nвхода\nфонтана\nпамятника Пушкину\nкофейни\nмоего дома\nофиса"),
        "excuse": _lines("""
            работы много
            я у родителей
            обещал{/а} помочь с переездом
            у меня созвон
            я немного заболел{/а}
            уезжаю
            дедлайн горит
            уже договорил{ся/ась} с Машей
            сижу с племянником
        """),
        "chill": _lines("""
            дома поваляюсь
            сериал досмотрю
            высплюсь
            разберу балкон
            схожу в зал
            поеду к родителям
            ничего не буду делать
        """),
        "plan": _lines("еду на дачу\nиду на день рождения\nработаю\nвесь день дома\nиду в зал\nиду к стоматологу"),
        "dish": _lines("пиццу\nсуши\nшаурму\nпельмени\nрамен\nбургеры\nхинкали\nплов\nфо бо\nборщ"),
        "dish_inst": _lines("пиццей\nсуши\nхинкали\nраменом\nбургерами\nпельменями\nпловом"),
        "food_place": _lines("«Теремок»\nту грузинскую на углу\n«Додо»\nновую раменную\nстоловую у работы"),
        "work_state": _lines("""
            пишу тесты
            разбираю баги
            сижу на созвонах
            готовлю демо
            переписываю авторизацию
            ревьюю чужой код
            переезжаем на новый сервер
        """),
        "work_thing": _lines("авторизацию\nплатежи\nпоиск\nотчёты\nмиграцию базы\nлогирование\nAPI для мобилки"),
        "film": _lines("""
            «Дюну»
            «Оппенгеймера»
            «Медведя»
            «Шогуна»
            «Брата»
            «Интерстеллар»
            «Severance»
            «Дом дракона»
            «Слово пацана»
            «Твин Пикс»
            «Фарго»
        """),
        "film_gen": _lines("«Медведя»\n«Шогуна»\n«Severance»\n«Дома дракона»\n«Фарго»\n«Настоящего детектива»"),
        "city_pr": _lines("в Питере\nв Казани\nв Стамбуле\nв Тбилиси\nв Ереване\nв Калининграде\nв Сочи\nв Алматы"),
        "city_acc": _lines("в Питер\nв Казань\nв Стамбул\nв Тбилиси\nв Ереван\nв Калининград\nв Сочи\nв Алматы"),
        "route": _lines("""
            жёлтую шестёрку
            синюю на нависании
            ту траверсу
            красную в углу
            чёрную семёрку
            боулдер у окна
        """),
        "game": _lines("Dota\nCS2\nBaldur's Gate 3\nElden Ring\nFactorio\nHades 2\nStardew Valley\nCyberpunk"),
        "game_state": _lines("""
            {Прошёл/Прошла} первый акт.
            Застрял{/а} на боссе.
            Почти {прошёл/прошла}.
            Только начал{/а}.
            Уже на финальной главе.
        """),
        "device": _lines("ноут\nтелефон\nроутер\nмонитор\nпринтер"),
        "device_inst": _lines("ноутом\nтелефоном\nроутером\nмонитором\nпринтером"),
        "os": _lines("iOS 18\nWindows 11\nUbuntu 24.04\nmacOS Sequoia\nAndroid 15"),
        "laptop": _lines("ThinkPad\nмакбук\nZenbook\nFramework"),
        "mood_detail": _lines("""
            работаю
            отдыхаю
            только проснул{ся/ась}
            в дороге
            сижу дома
            гуляю
            разбираю завалы
            собираюсь в зал
        """),
        "gift": _lines("набор инструментов\nкнигу\nкресло-качалку\nумную колонку\nсвитер\nрыбацкий набор\nтермос"),
        "weather": _lines("солнечно\nдождь\nснег\nпасмурно\nветер сильный\nтепло и солнце\nтуман"),
        "shopping": _lines("""
            молоко, хлеб
            кофе в зёрнах
            батарейки, лампочки
            корм коту
            сыр, бананы
            гречку, яйца, масло
            таблетки от головы
        """),
        "todo": _lines("""
            оплатить интернет
            продлить страховку
            позвонить в банк
            забрать посылку
            записаться к врачу
            отправить отчёт
            поменять резину
            купить подарок Маше
        """),
        "idea": _lines("""
            бот для учёта расходов
            поход на Алтай летом
            полка на балкон
            выучить испанский
            блог про скалолазание
        """),
        "book": _lines("Мастер и Маргарита\nSapiens\nДюна\nЧистый код\nШантарам\nПикник на обочине"),
        "city": _lines("Москва\nСанкт-Петербург\nКазань\nСочи\nТбилиси"),
    },
    "en": {
        "day": _lines("tomorrow\ntonight\non Saturday\nthis weekend\non Friday\nafter work\non Sunday"),
        "time": _lines("at 7\naround 8\nat half six\nafter lunch\nat 7:30\naround noon"),
        "time2": _lines("6\n7\nlunch\nwork"),
        "weekday": _lines("Friday\nMonday\nThursday\nnext week\nthe 15th"),
        "place": _lines("""
            the pub
            the cinema
            that new ramen place
            the climbing gym
            the park
            the museum
            the market
        """),
        "activity": _lines("a pint\na movie\nclimbing\na walk\ndinner\na coffee"),
        "meet": _lines("the station\nthe gym\nthe office\nyour place\nthe usual spot"),
        "excuse": _lines("""
            I've got work
            I'm at my parents'
            I'm knackered
            I have a deadline
            I'm flying out
            I promised to help Sam
        """),
        "chill": _lines("staying in\ncatching up on sleep\nwatching something\ndoing laundry\nreading"),
        "plan": _lines("working\ntravelling\nat a wedding\nhelping a friend move\nat the gym"),
        "dish": _lines("pizza\nsushi\nramen\ntacos\na curry\nburgers\ndumplings\npho"),
        "work_state": _lines("writing tests\nfixing bugs\nin meetings all day\npreparing a demo\nreviewing PRs"),
        "work_thing": _lines("login\npayments\nsearch\nthe reports\nthe database migration\nthe mobile API"),
        "film": _lines("Dune\nOppenheimer\nThe Bear\nShogun\nSeverance\nInterstellar\nSlow Horses\nSuccession"),
        "city": _lines("Lisbon\nIstanbul\nTbilisi\nBerlin\nEdinburgh\nPrague\nBarcelona\nYerevan"),
        "route": _lines("the yellow six\nthe blue overhang\nthe traverse\nthe red one in the corner"),
        "game": _lines("Dota\nCS2\nBaldur's Gate 3\nElden Ring\nFactorio"),
        "mood": _lines("just working\nchilling\ntravelling\njust woke up\nat the gym\nbusy as always"),
    },
}

# Topics: questions are "kind|template"; answers come from the list named by the kind ("yn" uses yes/no).
TOPICS: dict[str, dict[str, dict[str, tuple[str, ...]]]] = {
    "plans": {
        "ru": {
            "q": _lines("""
                yn|Ты {day} {свободен|свободна}?
                yn|Пойдём {place} {day}?
                yn|Может, сходим {place}?
                yn|Встретимся {day}?
                yn|Ты с нами {day}?
                yn|Го {place} {day}?
                open|Что делаешь {day}?
                open|Какие планы на {weekend}?
                when|Во сколько встречаемся?
                when|Когда тебе удобно?
                where|Где встречаемся?
                where|Куда пойдём?
            """),
            "yes": _lines("""
                Да, давай {time}.
                Давай, я за.
                Да, могу {time}.
                Давай, только я ненадолго.
                Да, давай {place}.
            """),
            "no": _lines("""
                {day} не могу, {excuse}.
                Не получится, {excuse}.
                Давай в другой раз, {excuse}.
                Не, {excuse}.
            """),
            "open": _lines("""
                Да ничего, {chill}.
                Пока не знаю, наверное {chill}.
                Хотел{/а} {chill}.
                Ничего особенного, {chill}.
            """),
            "when": _lines("Давай {time}.\nМожет, {time}?\nМне удобно {time}.\nНе раньше, чем {time}."),
            "where": _lines("Давай у {meet}.\nМожет, {place}?\nУ {meet}, как обычно."),
            "s": _lines("""
                Я {day} {plan}.
                Кстати, Депо открылось после ремонта.
                Надо бы собраться всем вместе.
                Я тут понял{/а}, что мы сто лет не виделись.
                Давно никуда не выбирались.
                {day} пойду {place}, если что.
            """),
        },
        "en": {
            "q": _lines("""
                yn|Are you free {day}?
                yn|Fancy {place} {day}?
                yn|Up for {activity} {day}?
                open|What are you up to {day}?
                when|What time works for you?
                where|Where shall we meet?
            """),
            "yes": _lines("Sure, let's do {time}.\nYeah, I'm in.\nSounds good!\nWorks for me."),
            "no": _lines("Can't {day}, {excuse}.\nSorry, {excuse}.\nNot this time, {excuse}."),
            "open": _lines("Nothing much, {chill}.\nProbably {chill}.\nNo plans yet, maybe {chill}."),
            "when": _lines("How about {time}?\nAny time after {time2}.\nLet's say {time}."),
            "where": _lines("Outside {meet}.\nAt {place}?\nSame place as last time."),
            "s": _lines("""
                I'm {plan} {day}.
                We should catch up soon.
                Haven't seen you in ages.
                I'll be at {place} {day} if you want to join.
            """),
        },
    },
    "food": {
        "ru": {
            "q": _lines("""
                yn|Пойдём поедим {dish}?
                yn|Закажем {dish}?
                yn|Ты уже {ел|ела}?
                open|Что на ужин?
                open|Что будешь заказывать?
                where|Где тут нормально поесть?
            """),
            "yes": _lines("Давай {dish}!\nДавай, я {голодный/голодная} как волк.\nДа, закажи на двоих.\nМожно."),
            "no": _lines("Не, я уже поел{/а}.\nЯ на диете.\nНе хочу, я днём {dish} {ел/ела}."),
            "open": _lines("""
                Хочу {dish}.
                Давай {dish} закажем.
                Что-нибудь лёгкое, может {dish}.
                Пофиг, давай {dish}.
            """),
            "where": _lines("Давай в {food_place}.\nМожно в {food_place}, там вкусно."),
            "s": _lines("""
                Я приготовил{/а} {dish}, получилось отлично.
                {Нашёл/Нашла} классное место с {dish_inst}.
                {Ел/Ела} сегодня {dish} в новом месте, очень вкусно.
                Есть хочу ужасно.
                Кажется, я переел{/а}.
            """),
        },
        "en": {
            "q": _lines("yn|Want to grab {dish}?\nopen|What are we eating?\nyn|Have you eaten yet?"),
            "yes": _lines("Yes please, I'm starving.\nSure, {dish} it is.\nGo on then."),
            "no": _lines("Already ate, sorry.\nNot hungry.\nI had {dish} for lunch."),
            "open": _lines("Let's get {dish}.\nAnything but {dish}.\nMaybe {dish}?"),
            "s": _lines("""
                Made {dish} tonight, turned out great.
                Found a great place for {dish} near work.
                I'm so hungry.
            """),
        },
    },
    "work": {
        "ru": {
            "q": _lines("""
                open|Как работа?
                yn|Успеваешь к дедлайну?
                yn|Созвон {day} в силе?
                yn|Ты {посмотрел|посмотрела} мой пул-реквест?
                open|Что там с релизом?
                open|Как новый проект?
            """),
            "yes": _lines("""
                Да, вроде успеваю.
                Да, всё в силе.
                Да, посмотрел{/а}, пару комментов оставил{/а}.
                Ага, всё норм.
            """),
            "no": _lines("Не, всё горит.\nНе успел{/а} ещё, вечером гляну.\nНет, перенесли, теперь {day}."),
            "open": _lines("""
                Да нормально, {work_state}.
                Всё горит, {work_state}.
                Потихоньку, {work_state}.
                Релиз перенесли, теперь {day}.
            """),
            "s": _lines("""
                Опять созвон на два часа, ничего не решили.
                Начальник сегодня в ударе.
                Прод упал, сижу чиню.
                Закрыл{/а} наконец задачу про {work_thing}.
                У нас опять реорганизация.
                Дедлайн в пятницу, а ещё конь не валялся.
                Сегодня весь день {work_state}.
            """),
        },
        "en": {
            "q": _lines("""
                open|How's work?
                yn|Did you see my email?
                yn|Is the call {day} still on?
                open|Any news on the release?
                yn|Could you review my PR today?
            """),
            "yes": _lines("Yep, replied just now.\nYes, still on.\nSure, will do."),
            "no": _lines("Not yet, will check tonight.\nNo, it moved to {weekday}.\nNot today, sorry."),
            "open": _lines("Busy, {work_state}.\nSame old, {work_state}.\nIt slipped to {weekday}."),
            "s": _lines("""
                Another two-hour meeting that could have been an email.
                Prod went down, fixing it now.
                Finally closed the ticket about {work_thing}.
                Quick FYI: the deadline moved to {weekday}.
                I've shared the draft, comments welcome.
            """),
        },
    },
    "movies": {
        "ru": {
            "q": _lines("""
                yn|{Смотрел|Смотрела} {film}?
                open|Что посмотреть вечером?
                yn|Стоит смотреть {film}?
                yn|Пойдём на {film} в кино?
                yn|Ты уже {посмотрел|посмотрела} {film}?
            """),
            "yes": _lines("""
                Да, топ!
                Да, смотрел{/а}, понравилось.
                Да, вчера досмотрел{/а}.
                Давай, я давно хотел{/а}.
            """),
            "no": _lines("Не, ещё не смотрел{/а}.\nНе, не зашло.\nБросил{/а} на третьей серии."),
            "open": _lines("Посмотри {film}, не пожалеешь.\nНачни с {film}.\nПересмотри {film}, классика же."),
            "s": _lines("""
                Вчера посмотрел{/а} {film}, до сих пор под впечатлением.
                Вышел новый сезон {film_gen}.
                Посоветуй что-нибудь посмотреть.
                Пересматриваю {film}, всё так же хорошо.
                Середина затянута, но финал огонь.
            """),
        },
        "en": {
            "q": _lines("""
                yn|Have you seen {film}?
                open|Any recommendations for tonight?
                yn|Is {film} worth watching?
            """),
            "yes": _lines("Yes, loved it!\nYeah, it's brilliant.\nYes, watched it twice."),
            "no": _lines("Not yet.\nNah, couldn't get into it.\nGave up after two episodes."),
            "open": _lines("Watch {film}, you won't regret it.\nTry {film}.\nRewatch {film}, honestly."),
            "s": _lines("""
                Just finished {film}, still thinking about it.
                New season of {film} is out!
                The ending of {film} is amazing.
            """),
        },
    },
    "travel": {
        "ru": {
            "q": _lines("""
                open|Куда летишь в отпуск?
                when|Когда возвращаешься?
                open|Как там погода {city_pr}?
                yn|Ты уже {был|была} {city_pr}?
                yn|Билеты {купил|купила}?
                open|Где остановишься?
            """),
            "yes": _lines("Да, был{/а} пару лет назад.\nДа, купил{/а} вчера, по скидке.\nАга, всё забронировал{/а}."),
            "no": _lines("Нет, ещё не был{/а}.\nНе, цены конские, жду.\nПока нет."),
            "open": _lines("""
                Лечу {city_acc} на неделю.
                Жарко, каждый день под тридцать.
                Дождь не прекращается.
                Думаю {city_acc}, пока не решил{/а}.
                В хостеле в центре.
                У друзей.
            """),
            "when": _lines("В воскресенье вечером.\nЧерез неделю.\nДвадцатого, если рейс не перенесут."),
            "s": _lines("""
                Я {city_pr}, тут очень красиво.
                Сижу в аэропорту, рейс задержали.
                Хочу куда-нибудь к морю.
                Смотрю билеты {city_acc}.
                Вернул{ся/ась}, чемодан потеряли, классика.
            """),
        },
        "en": {
            "q": _lines("""
                open|Where are you flying?
                when|When are you back?
                yn|Have you been to {city}?
                open|How's the weather in {city}?
            """),
            "yes": _lines("Yes, a couple of years ago.\nYeah, loved it."),
            "no": _lines("Never, it's on my list.\nNot yet."),
            "open": _lines("Off to {city} for a week.\nScorching every day.\nRaining nonstop."),
            "when": _lines("Sunday night.\nNext week.\nOn the 20th, if the flight isn't cancelled."),
            "s": _lines("""
                I'm in {city}, it's gorgeous.
                Stuck at the airport, flight delayed.
                Looking at flights to {city}.
            """),
        },
    },
    "climbing": {
        "ru": {
            "q": _lines("""
                yn|На скалодром {day}?
                open|Сколько трасс {пролез|пролезла}?
                open|Как колено?
                yn|{Пролез|Пролезла} {route}?
                yn|Поедем на скалы летом?
            """),
            "yes": _lines("Да, го.\nДа, наконец-то!\nКонечно, я в деле."),
            "no": _lines("Не, пальцы болят.\nНе смогу, восстанавливаюсь.\nПока нет, срываюсь на последней зацепке."),
            "open": _lines("""
                Штук пять, {route} так и не далась.
                Нормально, уже почти не болит.
                Лучше, но пока аккуратно.
                Пару новых трасс, пальцы в хлам.
            """),
            "s": _lines("""
                Вчера наконец {пролез/пролезла} {route}!
                Купил{/а} новые скальники.
                На скалодроме перекрутили все трассы.
                Пальцы после вчерашнего болят.
                Поставили новую трассу, очень кривую.
            """),
        },
        "en": {
            "q": _lines("yn|Climbing {day}?\nopen|How many problems did you send?\nopen|How's the knee?"),
            "yes": _lines("Yes!\nCount me in."),
            "no": _lines("Fingers are wrecked, sorry.\nResting this week."),
            "open": _lines("A few, still can't do {route}.\nBetter, taking it easy."),
            "s": _lines("Finally sent {route}!\nGot new shoes.\nThey reset the whole wall."),
        },
    },
    "games": {
        "ru": {
            "q": _lines("""
                yn|Зайдёшь в {game} вечером?
                yn|{Купил|Купила} {game}?
                open|Ты где сейчас в {game}?
                yn|Катку?
            """),
            "yes": _lines("Давай, через полчаса.\nДа, уже качаю.\nГо, только поем."),
            "no": _lines("Не, сегодня без меня.\nПока нет, жду скидок.\nНе могу, завтра рано вставать."),
            "open": SLOTS["ru"]["game_state"],
            "s": _lines("""
                Вышел патч для {game}, всё поломали.
                Вчера до трёх ночи играл{/а}, зря.
                В {game} скидка, налетай.
                {Нашёл/Нашла} секретную локацию.
            """),
        },
        "en": {
            "q": _lines("yn|Up for {game} tonight?\nopen|How far are you in {game}?"),
            "yes": _lines("Sure, give me half an hour."),
            "no": _lines("Not tonight."),
            "open": _lines("Stuck on a boss.\nAlmost done."),
            "s": _lines("The new {game} patch broke everything."),
        },
    },
    "tech": {
        "ru": {
            "q": _lines("""
                open|Какой ноут взять?
                yn|{Обновился|Обновилась} до {os}?
                yn|Можешь глянуть мой {device}?
                open|Что у тебя с {device_inst}?
            """),
            "yes": _lines("Да, обновил{ся/ась}, полёт нормальный.\nДа, приноси, гляну.\nАга."),
            "no": _lines("Не, боюсь, что всё сломается.\nНе могу на этой неделе.\nНет, жду, пока починят баги."),
            "open": _lines("""
                Бери {laptop}, не ошибёшься.
                Смотря для чего, для работы {laptop}.
                Опять не включается.
                Экран треснул.
            """),
            "s": _lines("""
                У меня опять {device} сломался.
                Купил{/а} новый {device}, {доволен/довольна}.
                Переустановил{/а} систему, теперь всё летает.
                Полдня настраивал{/а} {device}.
            """),
        },
    },
    "mood": {
        "ru": {
            "q": _lines("""
                open|Как дела?
                open|Как ты?
                open|Как самочувствие?
                yn|Всё нормально?
                open|Как выходные прошли?
            """),
            "yes": _lines("Да, всё хорошо.\nДа, норм.\nВроде да."),
            "no": _lines("Не очень, если честно.\nНе, устал{/а} дико."),
            "open": _lines("""
                Нормально, {mood_detail}.
                Хорошо, {mood_detail}.
                Так себе, {mood_detail}.
                Отлично, {mood_detail}.
            """),
            "s": _lines("""
                Я так устал{/а} за эту неделю.
                Наконец-то выспал{ся/ась}.
                Сегодня отличный день.
                Простыл{/а}, сижу дома с чаем.
                Хочу в отпуск.
            """),
        },
        "en": {
            "q": _lines("open|How are you?\nopen|How's it going?\nyn|All good?"),
            "yes": _lines("All good!\nYeah, fine."),
            "no": _lines("Not great, to be honest.\nKnackered."),
            "open": _lines("Good, {mood}.\nNot bad, {mood}."),
            "s": _lines("What a week.\nFinally slept properly.\nCaught a cold, staying in."),
        },
    },
    "family": {
        "ru": {
            "q": _lines("""
                open|Как мама?
                when|Когда приедешь?
                yn|Ты {позвонил|позвонила} бабушке?
                yn|Приедешь на дачу {day}?
                open|Что подарим папе?
            """),
            "yes": _lines("Да, звонил{/а} вчера.\nДа, приеду.\nКонечно."),
            "no": _lines("Нет ещё, сегодня позвоню.\nНе получится, {excuse}."),
            "open": _lines("Хорошо, передаёт привет.\nДавай {gift}.\nНормально, давление только скачет."),
            "when": _lines("{day}, к обеду.\nВ пятницу вечером.\nНа следующих выходных."),
            "s": _lines("""
                Бабушка звонила, просила приехать.
                Папа опять чинит машину.
                Купил{/а} рассаду на дачу.
                Надо поздравить тётю Олю.
                Кот опять залез на шкаф.
            """),
        },
    },
    "weather": {
        "ru": {
            "q": _lines("yn|У вас там дождь?\nopen|Как погода?\nyn|Холодно сегодня?"),
            "yes": _lines("Да, льёт весь день.\nДа, очень.\nАга, ужас."),
            "no": _lines("Нет, солнце.\nНе, тепло."),
            "open": _lines("Сегодня {weather}.\nС утра {weather}."),
            "s": _lines("Наконец-то снег!\nЖара невыносимая.\nОпять дождь.\nОбещают похолодание."),
        },
    },
    "flat": {
        "ru": {
            "q": _lines("""
                yn|Можно перевести оплату {day}?
                yn|Сантехник придёт {day}?
                open|Когда удобно снять показания?
                when|Когда можно заехать?
            """),
            "yes": _lines("Да, конечно.\nДа, договорились.\nХорошо."),
            "no": _lines("Нет, лучше до пятого числа.\nНе получится, давайте {day}."),
            "open": _lines("Давайте {day} {time}.\nВечером после семи."),
            "when": _lines("{day} {time}.\nВ субботу утром."),
            "s": _lines("""
                Добрый день, напоминаю про оплату.
                Кран на кухне подтекает.
                Соседи снизу жалуются на шум.
                Показания счётчиков отправил{/а}.
            """),
        },
    },
}
TOPIC_NAMES = tuple(TOPICS)
TOPIC_ID = {name: i for i, name in enumerate(TOPIC_NAMES)}

GENERIC = {
    "ru": {
        "greet": _lines("Привет!\nПривет, как ты?\nХей\nДоброе утро!\nПриветик\nЗдорово"),
        "react": _lines("Ахах\nПонятно\nЯсно\nОго\nКласс\nЖесть\nНу да\nСерьёзно?\nКруто\nБлин\nПонимаю"),
        "yes": _lines("Да\nАга\nКонечно\nДавай\nОк\nУгу"),
        "no": _lines("Нет\nНе\nНеа\nВряд ли"),
        "bye": _lines("Пока!\nДавай, до связи\nСпокойной ночи\nЛадно, {побежал/побежала}\nСозвонимся\nДо завтра"),
        "emoji": _words("👍 😂 🙂 ❤️ 🔥"),
    },
    "en": {
        "greet": _lines("Hey!\nHi\nMorning!\nHey, how's it going?\nYo"),
        "react": _lines("Haha\nNice\nOh wow\nFair enough\nMakes sense\nUgh\nSeriously?\nCool\nHa"),
        "yes": _lines("Yes\nYeah\nSure\nYep\nOf course"),
        "no": _lines("No\nNope\nNot really\nNah"),
        "bye": _lines("Bye!\nTalk later\nNight!\nSee ya\nCheers"),
        "emoji": _words("👍 😂 🙂 🔥"),
    },
}

# Each person's own phrases (used most of the time for these acts), by language.
PHRASES: dict[str, dict[str, dict[str, tuple[str, ...]]]] = {
    "owner": {
        "ru": {
            "greet": _lines("хей\nпривет\nку\nйо\nпривет-привет"),
            "react": _lines("кек\nлол\nну такое\nбывает\nахах\nжиза\nok ok\nнорм\nпонял-принял\nну ок"),
            "yes": _lines("го\nдавай\nок, я за\nok ok\nда, норм\nв целом норм\nдавай)))"),
            "no": _lines("не, ну такое\nпас\nне могу\nв этот раз без меня\nнеохота"),
            "bye": _lines("давай, на связи\nок, до завтра\nвсё, побежал\nобнял\nдавай"),
            "emoji": _words("))) 🙃 🤷‍♂️ 👌"),
        },
        "en": {
            "greet": _lines("hey\nyo\nhi hi"),
            "react": _lines("lol\nkek\nok ok\nfair\nnice\nhaha"),
            "yes": _lines("ok ok\nsure\nyep\nlet's go"),
            "no": _lines("nah\ncan't\nnot today"),
            "bye": _lines("ok, talk later\ncya\nok ok, bye"),
            "emoji": _words("))) 🙃 👌"),
        },
    },
    "masha": {"ru": {
        "greet": _lines("Привет! 😊\nПриветик!\nПривет-привет!\nДоброе утро, соня!"),
        "react": _lines("Ахахаха 😂\nДа ладно!\nОго!\nНичего себе!\nКак здорово!\nОй, всё 🙈"),
        "yes": _lines("Да, конечно!\nДавай!\nС удовольствием!"),
        "no": _lines("Ой, не получится(\nК сожалению, нет."),
        "bye": _lines("Пока-пока! ❤️\nЦелую, пока!\nСпокойной ночи! 😴"),
        "emoji": _words("😂 ❤️ 🥰 😍 🙈"),
    }},
    "dima": {"ru": {
        "greet": _lines("здоров\nку\nхай"),
        "react": _lines("ахах\nжесть\nлол\nясн\nнорм\nого\nпон"),
        "yes": _lines("ага\nго\nда\nок\nдавай"),
        "no": _lines("не\nнеа\nне могу"),
        "bye": _lines("давай\nок\nпока"),
        "emoji": _words("👍 🤙"),
    }},
    "alex": {"en": {
        "greet": _lines("Hey mate!\nAlright?\nHiya"),
        "react": _lines("Haha\nBrilliant\nFair play\nHa, love it\nNo way"),
        "yes": _lines("Yeah, go on then\nSure thing\nAbsolutely"),
        "no": _lines("Can't mate, sorry\nNot today"),
        "bye": _lines("Cheers!\nCatch you later\nNight mate"),
        "emoji": _words("👍 😂 🍻"),
    }},
    "lena": {"ru": {
        "greet": _lines("Привет))\nПриветик)"),
        "react": _lines("Ахах))\nНу да...\nПонятно))\nХех\nОй всё"),
        "yes": _lines("Да))\nАга\nКонечно)"),
        "no": _lines("Неа\nНе..."),
        "bye": _lines("Пока))\nЦелую 😘\nДавай, спокойной"),
        "emoji": _words("😘 🙂 🤗"),
    }},
    "oleg": {"ru": {
        "greet": _lines("Здарова!\nЙоу!\nХэй"),
        "react": _lines("АХАХАХАХ\n😂😂😂\nЖЕСТЬ\nОру\nГГ\nИзи\nКринж"),
        "yes": _lines("Го!!!\nДавай!\nКонечно!!!"),
        "no": _lines("Не, я пас\nНе могу("),
        "bye": _lines("Всё, я спать\nДавай!\nПока!"),
        "emoji": _words("😂😂😂 🔥 💀"),
    }},
    "sofia": {
        "en": {
            "greet": _lines("Hi Artem,\nHi!\nGood morning!"),
            "react": _lines("Got it, thanks.\nNoted.\nMakes sense.\nPerfect."),
            "yes": _lines("Yes, that works.\nSure.\nYes, confirmed."),
            "no": _lines("Unfortunately not.\nNo, sorry."),
            "bye": _lines("Have a good evening!\nTalk tomorrow.\nThanks, bye!"),
            "emoji": _words("🙏 👍"),
        },
        "ru": {
            "greet": _lines("Привет, Артём!\nДобрый день!"),
            "react": _lines("Поняла, спасибо.\nПринято.\nОтлично."),
            "yes": _lines("Да, подходит.\nДа, конечно."),
            "no": _lines("К сожалению, нет.\nНет, не получится."),
            "bye": _lines("Хорошего вечера!\nДо завтра!"),
            "emoji": _words("🙏 👍"),
        },
    },
    "mama": {"ru": {
        "greet": _lines("Сынок, привет!\nДоброе утро, сынок!\nПривет!!!"),
        "react": _lines("Ну надо же!\nПонятно.\nОй!\nВот это да!\nХорошо."),
        "yes": _lines("Да!\nКонечно!\nХорошо!"),
        "no": _lines("Нет.\nНе получится."),
        "bye": _lines("Целую!\nПока, сынок! Целую!\nСпокойной ночи!!!"),
        "emoji": _words("🌷 😘 👍"),
    }},
    "papa": {"ru": {
        "greet": _lines("Привет."), "react": _lines("Понятно.\nЯсно.\nХорошо."), "yes": _lines("Да.\nОк."),
        "no": _lines("Нет."), "bye": _lines("Пока."), "emoji": _words("👍"),
    }},
    "landlord": {"ru": {
        "greet": _lines("Добрый день, Артём.\nЗдравствуйте."),
        "react": _lines("Хорошо.\nПонял вас.\nПринято."),
        "yes": _lines("Да, конечно.\nХорошо, договорились."),
        "no": _lines("К сожалению, нет."),
        "bye": _lines("Всего доброго.\nДо свидания."),
        "emoji": _words("👍"),
    }},
    "katya": {"ru": {
        "greet": _lines("Всем привет!\nПривет!"), "react": _lines("Ахах 😅\nКласс!\nОго"),
        "yes": _lines("Да!\nЯ в деле"), "no": _lines("Я пас 😅"), "bye": _lines("Всем пока!"), "emoji": _words("😅 🧗‍♀️"),
    }},
}

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

# --------------------------------------------------------------------------------------------------------
# Private data generators (valid checksums where the real thing has one)
# --------------------------------------------------------------------------------------------------------

_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

# Seed phrases draw from the real BIP39 English word list (scrub's detector uses the same list).
SEED_WORDS = tuple(sorted(BIP39_WORDS))

EMAIL_LOCALS = _words(
    "artem.sokolov a.sokolov masha.kovaleva m.koval d.kuznetsov dimon lena.sokolova oleg.rybakov "
    "sofia.martins ivan.petrov anna.smirnova k.belova alex.turner igor.petrovich artem.dev"
)
EMAIL_DOMAINS = _words("gmail.com yandex.ru mail.ru outlook.com proton.me icloud.com ya.ru bk.ru company.io")


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _phone(rng: random.Random, lang: str = "ru") -> str:
    r = rng.random()
    if r < (0.7 if lang == "ru" else 0.25):  # Russian mobile in the usual spellings
        a = f"9{rng.randrange(10)}{rng.randrange(10)}"
        b, c, d = _digits(rng, 3), _digits(rng, 2), _digits(rng, 2)
        fmt = rng.randrange(7)
        return (
            f"+7 {a} {b}-{c}-{d}", f"8 ({a}) {b} {c} {d}", f"+7{a}{b}{c}{d}", f"8{a}{b}{c}{d}",
            f"8-{a}-{b}-{c}-{d}", f"+7 ({a}) {b}-{c}-{d}", f"+7 {a} {b} {c}{d}",
        )[fmt]
    if r < (0.85 if lang == "ru" else 0.62):  # US, fictional 555-01xx
        area = rng.choice(("415", "212", "646", "310", "617", "206"))
        tail = f"01{rng.randrange(100):02d}"
        return rng.choice((f"+1 {area}-555-{tail}", f"+1 ({area}) 555-{tail}"))
    tail = f"{rng.randrange(1000):03d}"  # UK, Ofcom drama ranges
    return rng.choice((f"+44 20 7946 0{tail}", f"+44 7700 900{tail}", f"+44 161 496 0{tail}"))


def _email(rng: random.Random) -> str:
    local = rng.choice(EMAIL_LOCALS)
    if rng.random() < 0.4:
        local += str(rng.randrange(1, 99))
    return f"{local}@{rng.choice(EMAIL_DOMAINS)}"


def luhn_ok(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _card(rng: random.Random) -> str:
    body = rng.choice(("4276", "4279", "5469", "5536", "2202", "2200", "4111", "5213", "4377")) + _digits(rng, 11)
    check = next(str(d) for d in range(10) if luhn_ok(body + str(d)))
    num = body + check
    groups = [num[i:i + 4] for i in range(0, 16, 4)]
    r = rng.random()
    return " ".join(groups) if r < 0.5 else "-".join(groups) if r < 0.7 else num


def iban_ok(iban: str) -> bool:
    s = iban.replace(" ", "")
    s = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in s)) % 97 == 1


def _iban(rng: random.Random) -> str:
    country, bban = rng.choice((
        ("DE", lambda: _digits(rng, 18)),
        ("GB", lambda: rng.choice(("NWBK", "BARC", "MIDL", "LOYD")) + _digits(rng, 14)),
        ("NL", lambda: rng.choice(("ABNA", "INGB", "RABO")) + _digits(rng, 10)),
        ("ES", lambda: _digits(rng, 20)),
        ("CH", lambda: _digits(rng, 17)),
    ))
    bban = bban()
    n = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    iban = f"{country}{98 - n % 97:02d}{bban}"
    if rng.random() < 0.5:
        iban = " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))
    return iban


def _passport(rng: random.Random) -> str:
    region, year = f"{rng.randrange(1, 99):02d}", f"{rng.randrange(0, 25):02d}"
    number = str(rng.randrange(100000, 999999))
    return f"{region} {year} {number}" if rng.random() < 0.6 else f"{region}{year} {number}"


def inn_ok(inn: str) -> bool:
    d = [int(c) for c in inn]

    def chk(weights: tuple[int, ...]) -> int:
        return sum(w * x for w, x in zip(weights, d)) % 11 % 10

    if len(d) == 10:
        return chk((2, 4, 10, 3, 5, 9, 4, 6, 8)) == d[9]
    if len(d) == 12:
        return chk((7, 2, 4, 10, 3, 5, 9, 4, 6, 8)) == d[10] and chk((3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)) == d[11]
    return False


def _inn(rng: random.Random) -> str:
    region = rng.choice(("77", "50", "78", "16", "54", "66"))
    if rng.random() < 0.35:
        d = [int(c) for c in region + _digits(rng, 7)]
        d.append(sum(w * x for w, x in zip((2, 4, 10, 3, 5, 9, 4, 6, 8), d)) % 11 % 10)
    else:
        d = [int(c) for c in region + _digits(rng, 8)]
        d.append(sum(w * x for w, x in zip((7, 2, 4, 10, 3, 5, 9, 4, 6, 8), d)) % 11 % 10)
        d.append(sum(w * x for w, x in zip((3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8), d)) % 11 % 10)
    return "".join(map(str, d))


def snils_checksum(nine: str) -> int:
    s = sum(int(c) * (9 - i) for i, c in enumerate(nine))
    if s < 100:
        return s
    if s in (100, 101):
        return 0
    s %= 101
    return 0 if s == 100 else s


def snils_ok(snils: str) -> bool:
    digits = "".join(c for c in snils if c.isdigit())
    return len(digits) == 11 and snils_checksum(digits[:9]) == int(digits[9:])


def _snils(rng: random.Random) -> str:
    nine = str(rng.randrange(2_000_000, 999_999_999)).zfill(9)
    c = snils_checksum(nine)
    sep = " " if rng.random() < 0.85 else "-"
    return f"{nine[:3]}-{nine[3:6]}-{nine[6:]}{sep}{c:02d}"


def _password(rng: random.Random) -> str:
    n = rng.randrange(8, 15)
    chars = [rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ"), rng.choice("abcdefghijkmnopqrstuvwxyz"),
             rng.choice("23456789"), rng.choice("!#$%&*?@")]
    chars += [rng.choice(_ALNUM + "!#$%&*?@") for _ in range(n - 4)]
    rng.shuffle(chars)
    return "".join(chars)


def _token(rng: random.Random) -> str:
    kind = rng.randrange(5)
    if kind == 0:
        return "sk-" + "".join(rng.choice(_ALNUM) for _ in range(48))
    if kind == 1:
        return "sk-proj-" + "".join(rng.choice(_ALNUM + "_-") for _ in range(40))
    if kind == 2:
        return "ghp_" + "".join(rng.choice(_ALNUM) for _ in range(36))
    if kind == 3:
        return f"{rng.randrange(10**8, 10**10)}:AA" + "".join(rng.choice(_ALNUM + "_-") for _ in range(33))
    return "AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))


def _seed_phrase(rng: random.Random) -> str:
    return " ".join(rng.choice(SEED_WORDS) for _ in range(12))


def _b58check(payload: bytes) -> str:
    data = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = _B58[r] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def _bech32_polymod(values: list[int]) -> int:
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk


def _bech32_address(program: bytes) -> str:
    acc, bits, data = 0, 0, [0]  # witness version 0
    for b in program:
        acc = (acc << 8) | b
        bits += 8
        while bits >= 5:
            bits -= 5
            data.append((acc >> bits) & 31)
    if bits:
        data.append((acc << (5 - bits)) & 31)
    hrp = "bc"
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    polymod = _bech32_polymod(expanded + data + [0] * 6) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_BECH32[d] for d in data + checksum)


def bech32_ok(addr: str) -> bool:
    hrp, _, rest = addr.rpartition("1")
    data = [_BECH32.index(c) for c in rest]
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    return _bech32_polymod(expanded + data) == 1


def _crypto(rng: random.Random) -> str:
    kind = rng.random()
    raw = bytes(rng.randrange(256) for _ in range(20))
    if kind < 0.35:
        return _bech32_address(raw)
    if kind < 0.7:
        return "0x" + raw.hex()
    if kind < 0.85:
        return _b58check(b"\x00" + raw)  # legacy BTC, starts with 1
    return _b58check(b"\x41" + raw)  # TRON (USDT TRC20), starts with T


# Planted sentences, {v} is the value. Owner-style transforms touch the words, never the value.
PLANT_TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "PHONE": {
        "ru": _lines("""
            Мой новый номер {v}
            Запиши номер: {v}
            Вот телефон мастера: {v}
            Если что, звони на {v}
            Номер курьера {v}, он опаздывает
            Это мой рабочий: {v}
            Позвони Игорю, вот номер {v}
            Набери меня на {v}, тот не работает
        """),
        "en": _lines("""
            My new number is {v}
            Call me on {v}
            Here's the plumber's number: {v}
            Text me at {v} when you land
        """),
    },
    "EMAIL": {
        "ru": _lines("""
            Скинь на почту {v}
            Мой имейл {v}
            Пиши на {v}, я проверю вечером
            Отправь резюме на {v}
            Вот почта организатора: {v}
        """),
        "en": _lines("Send it to {v}\nMy email is {v}\nDrop me a line at {v}\nCc {v} please"),
    },
    "CARD": {
        "ru": _lines("""
            Скинь на карту {v}
            Карта {v}, Сбер
            Переведи на {v}, пожалуйста
            Вот номер карты: {v}
            Можно на эту карту: {v}
        """),
        "en": _lines("My card number is {v}\nUse this card: {v}"),
    },
    "IBAN": {
        "ru": _lines("Реквизиты для перевода: {v}\nIBAN {v}\nВот мой IBAN: {v}, получатель Artem Sokolov"),
        "en": _lines("Here's my IBAN: {v}\nWire it to {v}\nIBAN for the deposit: {v}"),
    },
    "PASSPORT": {
        "ru": _lines("""
            Мои паспортные данные: {v}, выдан ОВД Хамовники
            Паспорт {v}
            Серия и номер паспорта: {v}
            Для билетов нужен паспорт: {v}
        """),
        "en": _lines("My passport number is {v}\nPassport no. {v}"),
    },
    "INN": {
        "ru": _lines("ИНН {v}\nМой ИНН: {v}\nИНН для договора: {v}\nВот ИНН компании: {v}"),
        "en": _lines("My tax ID (INN) is {v}"),
    },
    "SNILS": {
        "ru": _lines("СНИЛС {v}\nВот мой снилс: {v}\nНомер СНИЛС: {v}, для поликлиники"),
        "en": _lines("SNILS: {v}"),
    },
    "SECRET_PW": {
        "ru": _lines("""
            Пароль от вайфая: {v}
            Пароль: {v}
            Логин artem.sokolov, пароль {v}
            Новый пароль от роутера {v}
            Пароль от netflix {v}, не меняй
        """),
        "en": _lines("my password is {v}\nthe wifi password is {v}\nlogin: artem, pass: {v}"),
    },
    "SECRET_TOKEN": {
        "ru": _lines("Токен: {v}\nВот ключ от API: {v}\nТокен бота {v}, не свети его\nКлюч для деплоя {v}"),
        "en": _lines("here's the API key: {v}\ntoken: {v}\nuse this key for staging: {v}"),
    },
    "SEED_PHRASE": {
        "ru": _lines("Сид-фраза от кошелька: {v}\nseed: {v}\nЗапиши на всякий: {v}\nФраза восстановления: {v}"),
        "en": _lines("backup phrase: {v}\nrecovery words: {v}"),
    },
    "CRYPTO_ADDRESS": {
        "ru": _lines("""
            Кидай на {v}
            Мой кошелёк: {v}
            Адрес кошелька {v}
            Переведи на этот адрес: {v}
            Крипту кидай сюда: {v}
        """),
        "en": _lines("send it to {v}\nmy wallet: {v}\naddress: {v}"),
    },
}

_PLANT_GEN = {
    "PHONE": _phone, "EMAIL": _email, "CARD": _card, "IBAN": _iban, "PASSPORT": _passport, "INN": _inn,
    "SNILS": _snils, "SECRET_PW": _password, "SECRET_TOKEN": _token, "SEED_PHRASE": _seed_phrase,
    "CRYPTO_ADDRESS": _crypto,
}
_PLANT_KINDS = tuple(_PLANT_GEN)
# In conversations people share contacts more than wallets; in saved messages, the reverse.
_PLANT_W_CHAT = (24, 15, 12, 5, 5, 5, 4, 9, 5, 3, 8)
_PLANT_W_SAVED = (4, 4, 10, 8, 8, 8, 8, 16, 14, 10, 10)
_ENTITY_OF = {"PHONE": "phone", "EMAIL": "email", "CARD": "bank_card"}

MONTHS_GEN = _words("января февраля марта апреля мая июня июля августа сентября октября ноября декабря")
MONTHS_EN = _words("January February March April May June July August September October November December")


DECOY_TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "price": {
        "ru": _lines("""
            Купил{/а} за {v}, норм же?
            Билеты по {v}
            Доставка {v}, дороговато
            Скинулись по {v}
            Аренда теперь {v}
        """),
        "en": _lines("Got it for {v}\nTickets are {v} each\nIt was only {v}"),
    },
    "date": {
        "ru": _lines("Встреча {v}\nЯ вернусь {v}\nДедлайн {v}\nКонцерт {v}, не забудь"),
        "en": _lines("The deadline is {v}\nI'm back on {v}"),
    },
    "time": {
        "ru": _lines("Встречаемся в {v}\nПоезд в {v}\nЯ буду к {v}"),
        "en": _lines("Meet at {v}?\nTrain leaves at {v}"),
    },
    "order": {
        "ru": _lines("""
            Мой {v} опять задерживают
            Курьер везёт {v}
            Отследи {v}, пожалуйста
            Пришёл {v}, забрал{/а}
        """),
        "en": _lines("My {v} still hasn't shipped\nCan you check {v}?"),
    },
    "year": {
        "ru": _lines("Я там был{/а} в {v} году\nС {v} не виделись\nЭто фото ещё {v} года"),
        "en": _lines("Last time was in {v}\nWe met back in {v}"),
    },
    "number": {
        "ru": _lines("Осталось {v} дней до отпуска\nУже {v} подписчиков\nСделал{/а} {v} отжиманий"),
        "en": _lines("Only {v} days to go\nThat's {v} in a row"),
    },
}


def _decoy(rng: random.Random, lang: str) -> tuple[str, str]:
    """A (template, value) pair: something that looks numeric but is not private."""
    kind = rng.randrange(7)
    ru = lang == "ru"
    if kind == 0:
        if ru:
            n = rng.randrange(100, 99000)
            v = rng.choice((f"{n:,}".replace(",", " ") + " руб", f"{n} ₽", f"{n} рублей"))
        else:
            v = rng.choice((f"${rng.randrange(1, 300)}.{rng.randrange(100):02d}", f"€{rng.randrange(5, 500)}",
                            f"£{rng.randrange(3, 90)}.50"))
        return rng.choice(DECOY_TEMPLATES["price"][lang]), v
    if kind == 1:
        d, m, y = rng.randrange(1, 29), rng.randrange(1, 13), rng.randrange(2019, 2027)
        if ru:
            v = rng.choice((f"{d:02d}.{m:02d}.{y}", f"{d} {MONTHS_GEN[m - 1]}"))
        else:
            v = rng.choice((f"{MONTHS_EN[m - 1]} {d}", f"{y}-{m:02d}-{d:02d}"))
        return rng.choice(DECOY_TEMPLATES["date"][lang]), v
    if kind == 2:
        v = f"{rng.randrange(6, 24)}:{rng.choice(('00', '15', '30', '45', '10', '50'))}"
        return rng.choice(DECOY_TEMPLATES["time"][lang]), v
    if kind == 3:
        v = f"заказ №{rng.randrange(10000, 999999)}" if ru else f"order #{rng.randrange(1000000, 9999999)}"
        return rng.choice(DECOY_TEMPLATES["order"][lang]), v
    if kind == 4:  # a number with its unit, each with its own sentence
        if ru:
            v, t = rng.choice((
                (f"{rng.randrange(3, 43)} км", "Пробежал{/а} сегодня {v}"),
                (f"{rng.randrange(20, 400)} страниц", "Прочитал{/а} {v} за вечер"),
                (f"рейс SU {rng.randrange(1000, 2999)}", "У меня {v}, прилетаю вечером"),
                (f"{rng.randrange(3, 15)} человек", "Нас будет {v}"),
                (f"квартира {rng.randrange(1, 300)}", "Адрес тот же, {v}, домофон не работает"),
            ))
        else:
            v, t = rng.choice((
                (f"{rng.randrange(3, 43)} km", "Ran {v} today"),
                (f"{rng.randrange(3, 15)} people", "We'll be {v}"),
                (f"flight BA {rng.randrange(100, 999)}", "I'm on {v}, landing at night"),
            ))
        return t, v
    if kind == 5:
        return rng.choice(DECOY_TEMPLATES["year"][lang]), str(rng.randrange(2005, 2026))
    return rng.choice(DECOY_TEMPLATES["number"][lang]), str(rng.randrange(2, 999))


# --------------------------------------------------------------------------------------------------------
# Styles: neutral text -> how this person writes it. "\0" marks where a planted/decoy value goes.
# --------------------------------------------------------------------------------------------------------

Q, A, S, R, E, N = "q", "a", "s", "r", "e", "n"  # question, answer, statement, reaction, emoji, note

_OWNER_SUBS = {"спасибо": "thx", "хорошо": "ок", "кстати": "btw", "дедлайн": "deadline", "дедлайну": "deadline",
               "встреча": "meeting", "созвон": "call", "окей": "ок", "в общем": "короче"}
_OWNER_SUB_RE = re.compile(r"\b(" + "|".join(sorted(_OWNER_SUBS, key=len, reverse=True)) + r")\b")


def _cap(t: str) -> str:
    return t[:1].upper() + t[1:]


def _style(style: str, text: str, kind: str, lang: str, rng: random.Random) -> str:
    r = rng.random
    if style == "owner":
        t = text.lower().replace("!", "")
        t = _OWNER_SUB_RE.sub(lambda m: _OWNER_SUBS[m.group(1)], t)
        t = t.rstrip(".")
        if kind == Q:
            if r() < 0.3:
                t = t.rstrip("?")
            return t
        if kind in (E, N):
            return t
        if kind in (S, A) and r() < 0.14:
            t = ("короче, " if lang == "ru" else "tbh ") + t
        elif kind == S and lang == "ru" and r() < 0.08:
            t = "ну " + t
        x = r()
        if x < 0.2:
            t += ")))"
        elif x < 0.3:
            t += "))"
        elif x < 0.36:
            t += " 🙃"
        elif x < 0.39:
            t += " 🤷‍♂️"
        return t
    if style in ("dima", "max"):
        t = text.lower().replace(",", "")
        t = t.rstrip(".!")
        if kind == Q and r() < 0.5:
            t = t.rstrip("?")
        return t
    t = _cap(text)
    if style == "masha":
        if kind != Q and t.endswith(".") and r() < 0.35:
            t = t[:-1] + "!"
        if kind not in (Q, E) and r() < 0.45:
            t += " " + rng.choice(PHRASES["masha"]["ru"]["emoji"])
    elif style == "alex":
        if kind in (S, A) and r() < 0.1:
            t = t.rstrip(".!") + ", mate" + ("!" if r() < 0.5 else "")
        elif r() < 0.06:
            t += " 👍"
    elif style == "lena":
        x = r()
        if kind != Q and t.endswith("."):
            t = t[:-1] + ("))" if x < 0.35 else "..." if x < 0.6 else ".")
        elif kind != Q and x < 0.3:
            t += "))"
    elif style == "oleg":
        if t.endswith("!"):
            t += "!!"
        if kind != Q and r() < 0.15:
            t += " 😂😂😂"
        elif r() < 0.06:
            t = t.upper()
    elif style == "sofia":
        if kind != Q and not t.endswith((".", "!", "?", ",")):
            t += "."
    elif style == "mama":
        if kind == S and t.endswith("."):
            t = t[:-1] + ("!!!" if r() < 0.5 else "!")
        if kind == Q and r() < 0.15:
            t = "Сынок, " + t[:1].lower() + t[1:]
    elif style in ("papa", "landlord"):
        if not t.endswith((".", "?", "!")):
            t += "."
    elif style == "katya":
        if kind != Q and r() < 0.2:
            t += " 😅"
    return t


# --------------------------------------------------------------------------------------------------------
# Acts (what a message does in the conversation skeleton)
# --------------------------------------------------------------------------------------------------------

(GREET, QUESTION, ANSWER, STATEMENT, REACT, BYE, EMOJI, STICKER, PHOTO, VOICE, VIDEO_MSG, GIF, FORWARD, FILE,
 LOCATION, CALL, PIN, CREATE, MIGRATE, INVITE, CMD, BOTREPLY, NOTE, LOGIN, POST) = range(25)
_MEDIA_ACT = (STICKER, PHOTO, VOICE, VIDEO_MSG, GIF, FORWARD, FILE, LOCATION)


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


def _chats() -> list[Chat]:
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


# --------------------------------------------------------------------------------------------------------
# Phase 1: the skeleton of every chat (timestamps, senders, acts), compact arrays
# --------------------------------------------------------------------------------------------------------

def _pack(sender: int, act: int, topic: int, lang: int, new: int) -> int:
    return sender | act << 5 | topic << 10 | lang << 15 | new << 16


def _conv_dialog(rng: random.Random, chat: Chat, topics: tuple[int, ...], tweights: tuple[float, ...]):
    """One conversation: a list of (offset_seconds, code)."""
    members = chat.members
    n = len(members)
    lang = 1 if rng.random() < chat.en_share else 0
    topic = rng.choices(topics, tweights)[0]
    n_turns = min(16, 1 + int(rng.expovariate(1.0 / chat.mean_turns)))
    speaker = 0 if rng.random() < (0.45 if n == 2 else 0.25) else rng.randrange(1, n)
    out: list[tuple[int, int]] = []
    off = 0
    pending = False
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


def _skeleton(chat: Chat, seed: int) -> None:
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
                conv = _conv_dialog(rng, chat, topics, tweights)
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


def _plan(n_messages: int, seed: int) -> list[Chat]:
    chats = _chats()
    total_share = sum(c.share for c in chats)
    for c in chats:
        c.count = max(2 if c.kind in ("telegram", "channel") else 4, int(n_messages * c.share / total_share))
    biggest = max(chats, key=lambda c: c.count)
    biggest.count += n_messages - sum(c.count for c in chats)
    if biggest.count < 4:
        raise ValueError(f"n_messages must be at least {MIN_MESSAGES}")
    for c in chats:
        _skeleton(c, seed)
    _assign_ids(chats, seed)
    # dialog order, as the exporter writes it: the most recently active chat first
    chats.sort(key=lambda c: (-c.ts[-1], c.key))
    return chats


# --------------------------------------------------------------------------------------------------------
# Phase 2: render messages (exporter key order) from the skeleton
# --------------------------------------------------------------------------------------------------------

_DAY_PREFIX: dict[int, str] = {}


def _date(ts: int) -> str:
    day, sec = divmod(ts + TZ, DAY)
    p = _DAY_PREFIX.get(day)
    if p is None:
        p = _DAY_PREFIX[day] = time.strftime("%Y-%m-%dT", time.gmtime(day * DAY))
    h, rem = divmod(sec, 3600)
    m, s = divmod(rem, 60)
    return f"{p}{h:02d}:{m:02d}:{s:02d}"


class _Slots(dict):
    """format_map source: each {slot} draws a random value; {v} marks the planted/decoy value;
    {m/f} agrees with the speaker's grammatical gender, {m|f} with the addressee's."""

    def __init__(self, rng: random.Random, lang: str, fem: bool = False, addr_fem: bool = False):
        super().__init__()
        self.rng = rng
        self.table = SLOTS[lang]
        self.fem = fem
        self.addr_fem = addr_fem

    def __missing__(self, key: str) -> str:
        if key == "v":
            return "\0"
        if "/" in key:
            m, f = key.split("/")
            return f if self.fem else m
        if "|" in key:
            m, f = key.split("|")
            return f if self.addr_fem else m
        return self.rng.choice(self.table[key])


def _fill(template: str, rng: random.Random, lang: str, fem: bool = False, addr_fem: bool = False) -> str:
    if "{" not in template:
        return template
    slots = _Slots(rng, lang, fem, addr_fem)
    text = template.format_map(slots)
    return text.format_map(slots) if "{" in text else text  # slot values may agree in gender too


FORWARD_SOURCES = (
    ("Медуза", "channel1036240821", _lines("""
        Синоптики пообещали Москве аномальную жару на выходных
        В метро запустили новые поезда на Кольцевой линии
        Учёные научились выращивать кофе в лаборатории
        Врачи рассказали, сколько на самом деле нужно спать
    """)),
    ("Лентач", "channel1009870015", _lines("""
        Когда сказал «ещё пять минут» и проснулся через два часа
        Кот, который ненавидит понедельники, стал звездой интернета
        Мужчина 20 лет хранил чек на холодильник и вернул его по гарантии
    """)),
    ("Хабр", "channel1042110473", _lines("""
        Почему ваш код работает только по пятницам: разбор
        Мы переписали бэкенд на Rust, и вот что из этого вышло
        10 привычек, которые сэкономят вам час в день
    """)),
    ("The Guardian", "channel1218889012", _lines("""
        Scientists discover new species of deep-sea octopus
        The best films of the year so far
    """)),
)
LINKS = (
    lambda r: "https://www.youtube.com/watch?v=" + "".join(r.choice(_ALNUM + "_-") for _ in range(11)),
    lambda r: f"https://habr.com/ru/articles/{r.randrange(700000, 870000)}/",
    lambda r: f"https://www.kinopoisk.ru/film/{r.randrange(300, 5000000)}/",
    lambda r: "https://maps.app.goo.gl/" + "".join(r.choice(_ALNUM) for _ in range(17)),
    lambda r: "https://github.com/" + r.choice(("Lightning-AI/litgpt", "pola-rs/polars", "iterative/dvc")),
    lambda r: "https://t.me/" + r.choice(("durov", "habr_com", "meduzalive", "climbing_msk")),
)
STICKERS = _words("😂 👍 ❤️ 😭 🤔 😎 🙈 🥲 🔥 😡 🤝 👀 😴 🎉")
FILES = (
    ("Договор_аренды.pdf", "application/pdf"),
    ("report_Q3.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("презентация.pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    ("scan_0012.pdf", "application/pdf"),
    ("draft_v2.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("IMG_2041.HEIC", "image/heic"), ("notes.txt", "text/plain"),
)
CITIES_BOT = _lines("Москва\nСанкт-Петербург\nКазань\nСочи\nТбилиси\nЕреван")
WEATHER_BOT = _lines("облачно\nясно\nнебольшой дождь\nснег\nтуман\nпеременная облачность")
NOTES = _lines("""
    Купить: {shopping}
    Не забыть {todo}
    Идея: {idea}
    Посмотреть {film}
    Записаться к стоматологу {day}
    Книга: «{book}»
    {todo} до пятницы
    Спросить у Димы про скальники
""")
CHANNEL_POSTS = _lines("""
    Вышла новая версия Python, главное в одном посте
    Как мы ускорили сборку в 5 раз
    Топ инструментов для разработчика этого года
    Крупный сервис случайно выложил исходники в открытый доступ
    Обзор нового ноутбука: тихо, быстро, дорого
    Что изменилось в правилах работы с персональными данными
""")


class _Renderer:
    def __init__(self, chat: Chat, chat_no: int, seed: int, planted: list[dict]):
        self.chat = chat
        self.no = chat_no
        self.rng = random.Random(f"doppel-sample:{seed}:{chat.key}:text")
        self.planted = planted
        self.photo_no = 0
        self.addr_fem = False

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
        return _fill(template, self.rng, lang, person.fem, self.addr_fem)

    def person_lang(self, person: Person, conv_lang: str) -> str:
        return conv_lang if conv_lang in person.langs else person.langs[0]

    # --- message text for a conversational act ------------------------------------------------------

    def say(self, person: Person, act: int, topic: int, lang: str, state: dict) -> tuple[str, str]:
        """(text with an optional "\0" slot, style kind)."""
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

    # --- parts -> text / text_entities ---------------------------------------------------------------

    @staticmethod
    def text_fields(parts: list[tuple[str, str, str | None]]) -> tuple[object, list[dict]]:
        if not parts:
            return "", []
        if len(parts) > 1:  # the exporter never writes two plain parts in a row
            merged = [parts[0]]
            for p in parts[1:]:
                if p[0] == "plain" and merged[-1][0] == "plain":
                    merged[-1] = ("plain", merged[-1][1] + p[1], None)
                else:
                    merged.append(p)
            parts = merged
        if len(parts) == 1 and parts[0][0] == "plain":
            s = parts[0][1]
            return s, [{"type": "plain", "text": s}]
        text: list[object] = []
        ents: list[dict] = []
        for typ, s, href in parts:
            if typ == "plain":
                text.append(s)
                ents.append({"type": "plain", "text": s})
            elif href is None:
                text.append({"type": typ, "text": s})
                ents.append({"type": typ, "text": s})
            else:
                text.append({"type": typ, "text": s, "href": href})
                ents.append({"type": typ, "text": s, "href": href})
        return text, ents

    def styled_parts(self, person: Person, raw: str, kind: str, lang: str, mid: int, allow_plant: bool,
                     allow_decoy: bool) -> list[tuple[str, str, str | None]]:
        """Style the text; maybe plant private data or a decoy; maybe decorate with entities."""
        rng = self.rng
        chat = self.chat
        value = vtype = None
        if allow_plant and rng.random() < chat.plant_p:
            w = _PLANT_W_SAVED if chat.kind == "saved" else _PLANT_W_CHAT
            pk = rng.choices(_PLANT_KINDS, w)[0]
            value = _phone(rng, lang) if pk == "PHONE" else _PLANT_GEN[pk](rng)
            vtype = "SECRET" if pk.startswith("SECRET") else pk
            tpl = rng.choice(PLANT_TEMPLATES[pk].get(lang) or PLANT_TEMPLATES[pk]["ru"])
            raw = self.fill(tpl, lang, person)
            if rng.random() < 0.15:  # followed by an ordinary sentence
                raw += ". " + self.fill(rng.choice(self.topic_bank(TOPIC_ID["plans"], lang)["s"]), lang, person)
            kind = S
        elif allow_decoy and rng.random() < chat.decoy_p:
            tpl, value = _decoy(rng, lang)
            vtype = DECOY
            raw = self.fill(tpl, lang, person)
            kind = S
        text = _style(person.style, raw, kind, lang, rng)
        if value is None:
            parts: list[tuple[str, str, str | None]] = [("plain", text, None)]
            x = rng.random() if kind in (S, A, N) else 1.0
            if x < 0.012:
                parts = [("plain", text + " ", None), ("link", LINKS[rng.randrange(len(LINKS))](rng), None)]
            elif x < 0.018 and chat.kind == "group":
                other = rng.choice([m for m in chat.members if m.name and m is not person])
                handle = "@" + other.key + rng.choice(("_k", "99", "_msk", ""))
                parts.insert(0, ("mention", handle, None))
                parts.insert(1, ("plain", ", ", None))
            elif x < 0.024 and person.style in ("masha", "oleg", "sofia"):
                words = text.split(" ")
                if len(words) > 2:
                    k = rng.randrange(len(words))
                    before, word, after = " ".join(words[:k]), words[k], " ".join(words[k + 1:])
                    parts = [("plain", before + " ", None)] if before else []
                    parts.append(("bold", word, None))
                    if after:
                        parts.append(("plain", " " + after, None))
            elif x < 0.03 and person.style == "sofia":
                parts = [("plain", text + " ", None),
                         ("text_link", "doc", "https://docs.google.com/document/d/"
                          + "".join(rng.choice(_ALNUM) for _ in range(25)) + "/edit")]
            return [p for p in parts if p[1]] or [("plain", text, None)]
        before, _, after = text.partition("\0")
        ent = _ENTITY_OF.get(vtype)
        ent_type = ent if ent and rng.random() < 0.5 else "plain"
        if ent_type == "plain":
            parts = [("plain", before + value + after, None)]
        else:
            parts = [p for p in (("plain", before, None), (ent_type, value, None), ("plain", after, None)) if p[1]]
        self.planted.append({"chat_id": chat.id, "message_id": mid, "type": vtype, "value": value})
        return parts

    # --- media ----------------------------------------------------------------------------------------

    def photo(self, m: dict, date: str) -> None:
        rng = self.rng
        self.photo_no += 1
        stamp = f"{date[8:10]}-{date[5:7]}-{date[0:4]}_{date[11:13]}-{date[14:16]}-{date[17:19]}"
        if rng.random() < 0.9:
            m["photo"] = f"chats/chat_{self.no:03d}/photos/photo_{self.photo_no}@{stamp}.jpg"
        else:
            m["photo"] = NOT_INCLUDED
        m["photo_file_size"] = rng.randrange(40000, 400000)
        w, h = rng.choice(((1280, 960), (960, 1280), (1280, 720), (720, 1280), (1080, 1080), (1280, 853)))
        m["width"] = w
        m["height"] = h

    def document(self, m: dict, act: int) -> None:
        rng = self.rng
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

    def reactions(self, m: dict, ts: int, sender: Person) -> None:
        rng = self.rng
        others = [p for p in self.chat.members if p is not sender and p.name] or [OWNER]
        emoji = rng.choice(("👍", "❤", "😁", "🔥", "👍", "🤣", "😢", "👌"))
        who = rng.sample(others, min(len(others), 1 + (rng.random() < 0.25)))
        m["reactions"] = [{
            "type": "emoji",
            "count": len(who),
            "emoji": emoji,
            "recent": [{"from": p.name, "from_id": f"user{p.uid}", "date": _date(ts + rng.randrange(5, 7200))}
                       for p in who],
        }]

    # --- the loop -------------------------------------------------------------------------------------

    def messages(self) -> Iterator[dict]:
        chat = self.chat
        rng = self.rng
        members = chat.members
        ts_a, codes, ids = chat.ts, chat.codes, chat.ids
        state: dict = {}
        recent: list[tuple[int, int]] = []  # (message id, sender index) of recent text messages
        last_q: tuple[int, int] | None = None
        for i in range(len(ts_a)):
            ts, code, mid = ts_a[i], codes[i], ids[i]
            si = code & 31
            act = (code >> 5) & 31
            topic = (code >> 10) & 31
            conv_lang = "en" if (code >> 15) & 1 else "ru"
            if (code >> 16) & 1:
                state = {}
                last_q = None
            date = _date(ts)
            m: dict = {"id": mid, "type": "message", "date": date, "date_unixtime": str(ts)}

            if chat.kind == "channel":
                m["from"] = chat.name
                m["from_id"] = f"channel{chat.id}"
                if rng.random() < 0.3:
                    self.photo(m, date)
                title = rng.choice(CHANNEL_POSTS)
                parts = [("bold", title, None), ("plain", "\n\nПодробнее: ", None),
                         ("link", LINKS[rng.randrange(len(LINKS))](rng), None)]
                m["text"], m["text_entities"] = self.text_fields(parts)
                yield m
                continue

            person = members[si]
            name, fid = person.name, f"user{person.uid}"
            self.addr_fem = chat.kind == "dialog" and members[1 - si].fem

            # service messages
            if act in (CALL, PIN, CREATE, MIGRATE, INVITE):
                m["type"] = "service"
                m["actor"] = name
                m["actor_id"] = fid
                if act == CALL:
                    m["action"] = "phone_call"
                    if rng.random() < 0.7:
                        m["duration_seconds"] = 5 + int(rng.expovariate(1 / 300))
                        m["discard_reason"] = "hangup"
                    else:
                        m["discard_reason"] = rng.choice(("missed", "busy", "missed"))
                elif act == PIN:
                    m["action"] = "pin_message"
                    m["message_id"] = recent[-rng.randrange(1, min(len(recent), 5) + 1)][0] if recent else ids[0]
                elif act == CREATE:
                    m["action"] = "create_group"
                    m["title"] = chat.name
                    m["members"] = [p.name for p in members]
                elif act == MIGRATE:
                    m["action"] = "migrate_from_group"
                    m["title"] = chat.name
                else:
                    m["action"] = "invite_members"
                    m["members"] = [rng.choice(("Саша Орлова", "Никита", "Вера Ким", "Tom B."))]
                m["text"] = ""
                m["text_entities"] = []
                yield m
                continue

            if rng.random() < 0.03 and act in (QUESTION, ANSWER, STATEMENT, NOTE):
                edited = ts + rng.randrange(5, 900)
                m["edited"] = _date(edited)
                m["edited_unixtime"] = str(edited)
            m["from"] = name
            m["from_id"] = fid
            lang = self.person_lang(person, conv_lang)
            parts: list[tuple[str, str, str | None]] = []

            if act == LOGIN:
                code_s = str(rng.randrange(10000, 99999))
                if rng.random() < 0.9:
                    parts = [("plain", "Login code: ", None), ("bold", code_s, None),
                             ("plain", ". Do not give this code to anyone, even if they say they are from Telegram!"
                              "\n\n❗️This code can be used to log in to your Telegram account. We never ask it "
                              "for anything else.\n\nIf you didn't request this code by trying to log in on "
                              "another device, simply ignore this message.", None)]
                else:
                    parts = [("plain", f"New login. Dear {OWNER.first}, we detected a login into your account "
                              f"from a new device on {date[:10]} at {date[11:]}.\n\nDevice: Telegram Desktop, "
                              "Windows 11\nLocation: Moscow, Russia\n\nIf this wasn't you, you can terminate "
                              "that session in Settings > Devices (or Privacy & Security > Active Sessions).",
                              None)]
            elif act == CMD:
                city = rng.choice(CITIES_BOT)
                if i == 0:
                    parts = [("bot_command", "/start", None)]
                else:
                    parts = [("bot_command", "/weather", None), ("plain", " " + city, None)]
                state["city"] = city
            elif act == BOTREPLY:
                city = state.get("city", "Москва")
                t = rng.randrange(-20, 32)
                parts = [("bold", city, None),
                         ("plain", f": {t:+d}°C, {rng.choice(WEATHER_BOT)}\nВетер {rng.randrange(0, 12)} м/с, "
                                   f"влажность {rng.randrange(30, 99)}%", None)]
            elif act == NOTE:
                if rng.random() < 0.2:
                    parts = [("link", LINKS[rng.randrange(len(LINKS))](rng), None)]
                else:
                    raw = self.fill(rng.choice(NOTES), "ru", person)
                    parts = self.styled_parts(person, raw, N, "ru", mid, True, True)
            elif act == FORWARD:
                src, src_id, heads = rng.choice(FORWARD_SOURCES)
                m["forwarded_from"] = src
                m["forwarded_from_id"] = src_id
                if rng.random() < 0.3:
                    self.photo(m, date)
                parts = [("plain", rng.choice(heads), None)]
            elif act == LOCATION:
                m["location_information"] = {
                    "latitude": round(55.75 + rng.uniform(-0.12, 0.12), 6),
                    "longitude": round(37.62 + rng.uniform(-0.2, 0.2), 6),
                }
            elif act == PHOTO:
                self.photo(m, date)
                if rng.random() < 0.35:
                    raw, kind = self.say(person, STATEMENT, topic, lang, state) if chat.kind != "saved" else \
                        (self.fill(rng.choice(NOTES), "ru", person), N)
                    parts = self.styled_parts(person, raw, kind, lang, mid, True, False)
            elif act in (STICKER, VOICE, VIDEO_MSG, GIF, FILE):
                if act == GIF and rng.random() < 0.3:
                    m["via_bot"] = "@gif"
                self.document(m, act)
                if act == FILE and rng.random() < 0.5:
                    raw = rng.choice(("Вот, держи.", "Here's the draft.", "Скан.", "Посмотри, пожалуйста.",
                                      "Скан паспорта, серия и номер \0"))
                    text = _style(person.style, raw, S, lang, rng)
                    if "\0" in text:
                        value = _passport(rng)
                        self.planted.append({"chat_id": chat.id, "message_id": mid, "type": "PASSPORT", "value": value})
                        text = text.replace("\0", value)
                    parts = [("plain", text, None)]
            else:  # conversational text
                raw, kind = self.say(person, act, topic, lang, state)
                text_act = act in (ANSWER, STATEMENT)
                parts = self.styled_parts(person, raw, kind, lang, mid, text_act, text_act)
                if act == ANSWER and last_q and last_q[1] != si and rng.random() < chat.reply_p:
                    m["reply_to_message_id"] = last_q[0]
                elif act == REACT and recent and recent[-1][1] != si and rng.random() < chat.reply_p / 2:
                    m["reply_to_message_id"] = recent[-1][0]
                if act == QUESTION:
                    last_q = (mid, si)
            m["text"], m["text_entities"] = self.text_fields(parts)
            if chat.kind in ("dialog", "group") and rng.random() < chat.react_p:
                self.reactions(m, ts, person)
            if parts:
                recent.append((mid, si))
                if len(recent) > 8:
                    del recent[0]
            yield m


# --------------------------------------------------------------------------------------------------------
# The account-level parts of the export
# --------------------------------------------------------------------------------------------------------

def _header(seed: int) -> dict:
    rng = random.Random(f"doppel-sample:{seed}:header")
    stamp = lambda ts: {"date": _date(ts), "date_unixtime": str(ts)}  # noqa: E731
    pics = []
    for k in range(3):
        ts = T_START + rng.randrange(0, T_END - T_START)
        d = _date(ts)
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
        {"last_active": _date(last), "last_active_unixtime": str(last), "last_ip": "203.0.113.45",
         "last_country": "Russia", "last_region": "Moscow", "application_name": "Telegram Desktop",
         "application_version": "5.8.3", "device_model": "Desktop", "platform": "Windows",
         "system_version": "Windows 11", "created": _date(last - 90 * DAY), "created_unixtime": str(last - 90 * DAY)},
        {"last_active": _date(last - 3600), "last_active_unixtime": str(last - 3600), "last_ip": "198.51.100.23",
         "last_country": "Russia", "last_region": "Moscow", "application_name": "Telegram iOS",
         "application_version": "11.4", "device_model": "iPhone 13", "platform": "iOS", "system_version": "18.1",
         "created": _date(last - 700 * DAY), "created_unixtime": str(last - 700 * DAY)},
    ]
    web = [{"last_active": _date(last - 40 * DAY), "last_active_unixtime": str(last - 40 * DAY),
            "last_ip": "203.0.113.45", "last_region": "Moscow", "bot_username": "@discussbot",
            "domain_name": "comments.example.org", "browser": "Chrome 128", "platform": "Windows",
            "created": _date(last - 41 * DAY), "created_unixtime": str(last - 41 * DAY)}]
    return {
        "about": ABOUT,
        "personal_information": {
            "user_id": OWNER.uid, "first_name": OWNER.first, "last_name": OWNER.last, "phone_number": OWNER.phone,
            "username": "@artem_sok", "bio": "кофе, код, скалодром",
        },
        "profile_pictures": pics,
        "contacts": {"about": ABOUT_CONTACTS, "list": contacts},
        "frequent_contacts": {"about": ABOUT_FREQUENT, "list": frequent},
        "sessions": {"about": ABOUT_SESSIONS, "list": sessions},
        "web_sessions": {"about": ABOUT_WEB_SESSIONS, "list": web},
    }


def _chat_head(chat: Chat) -> dict:
    head: dict = {} if chat.type == "saved_messages" else {"name": chat.name}  # the exporter omits it there
    head["type"] = chat.type
    head["id"] = chat.id
    return head


# --------------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------------

def _check(n_messages: int) -> None:
    if int(n_messages) < MIN_MESSAGES:
        raise ValueError(f"n_messages must be at least {MIN_MESSAGES} (got {n_messages})")


def generate(n_messages: int, seed: int) -> tuple[dict, list[dict]]:
    """The export as a dict (the exact content of result.json) and the planted rows (private data + decoys).
    Holds everything in memory: for large sizes use write_sample, which streams."""
    _check(n_messages)
    chats = _plan(int(n_messages), int(seed))
    planted: list[dict] = []
    export = _header(seed)
    lists: dict[bool, list] = {False: [], True: []}
    for no, chat in enumerate(chats, 1):
        c = _chat_head(chat)
        c["messages"] = list(_Renderer(chat, no, seed, planted).messages())
        lists[chat.left].append(c)
    export["chats"] = {"about": ABOUT_CHATS, "list": lists[False]}
    export["left_chats"] = {"about": ABOUT_LEFT_CHATS, "list": lists[True]}
    return export, planted


_INDENT2 = orjson.OPT_INDENT_2


def _reindent(buf: bytes, extra: int, depth: int = 12) -> bytes:
    """orjson's two-space indentation -> the exporter's one space per level, shifted by `extra` spaces.
    Raw newlines only ever occur between tokens (strings escape theirs), so this is exact."""
    for k in range(depth, 0, -1):
        buf = buf.replace(b"\n" + b"  " * k, b"\n" + b"\t" * k)
    if extra:
        buf = buf.replace(b"\n", b"\n" + b" " * extra)
    return buf.replace(b"\t", b" ")


def _quirk_reactions(buf: bytes, key_indent: int = 6) -> bytes:
    """The exporter indents a message's `reactions` array one level deeper than the rest (see the real
    samples): every line after `"reactions": [` up to its `]` carries one more space. `key_indent`: where a
    message's keys sit (6 in a full-account export, 3 in a single-chat one)."""
    start = b"\n" + b" " * key_indent + b'"reactions": ['
    if start not in buf:
        return buf
    end_of_message = b"\n" + b" " * (key_indent - 1) + b"}"
    pieces = buf.split(start)
    out = [pieces[0]]
    for piece in pieces[1:]:
        end = piece.index(end_of_message)
        out.append(start + piece[:end].replace(b"\n", b"\n ") + piece[end:])
    return b"".join(out)


def dumps_like_exporter(export: dict) -> bytes:
    """A whole export (full-account or single-chat) laid out byte for byte as Telegram Desktop writes it.
    (It reproduces the real exports in ../shared/samples exactly.)"""
    text = _reindent(orjson.dumps(export, option=_INDENT2), 0)
    return _quirk_reactions(text, 6 if "chats" in export else 3)


def _dump_messages(msgs: list[dict]) -> bytes:
    raw = orjson.dumps(msgs, option=_INDENT2)
    return _quirk_reactions(_reindent(raw[1:-2], 4))  # strip "[" and "\n]"; messages sit 5 spaces deep


def _write(out_dir: str | Path, n_messages: int, seed: int, planted_path: str | Path | None,
           chunk: int = 4000) -> tuple[Path, dict]:
    _check(n_messages)
    n_messages, seed = int(n_messages), int(seed)
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "result.json"
    tmp = path.with_name(path.name + ".tmp")
    chats = _plan(n_messages, seed)
    planted: list[dict] = []
    n_written = 0
    with open(tmp, "wb", buffering=1 << 20) as f:
        head = _reindent(orjson.dumps(_header(seed), option=_INDENT2), 0)
        f.write(head[:-2])  # drop the closing "\n}"
        for left in (False, True):
            key, about = ("left_chats", ABOUT_LEFT_CHATS) if left else ("chats", ABOUT_CHATS)
            f.write(b',\n "' + key.encode() + b'": {\n  "about": ' + orjson.dumps(about) + b',\n  "list": [')
            first_chat = True
            for no, chat in enumerate(chats, 1):
                if chat.left != left:
                    continue
                f.write(b"\n   {" if first_chat else b",\n   {")
                first_chat = False
                for k, v in _chat_head(chat).items():
                    f.write(b'\n    "' + k.encode() + b'": ' + orjson.dumps(v) + b",")
                f.write(b'\n    "messages": [')
                batch: list[dict] = []
                first = True
                for m in _Renderer(chat, no, seed, planted).messages():
                    batch.append(m)
                    if len(batch) == chunk:
                        f.write(_dump_messages(batch) if first else b"," + _dump_messages(batch))
                        first = False
                        n_written += len(batch)
                        batch = []
                if batch:
                    f.write(_dump_messages(batch) if first else b"," + _dump_messages(batch))
                    n_written += len(batch)
                f.write(b"\n    ]\n   }")
            f.write(b"\n  ]\n }")
        f.write(b"\n}")
    tmp.replace(path)
    if planted_path is not None:
        planted_path = Path(planted_path)
        planted_path.parent.mkdir(parents=True, exist_ok=True)
        with open(planted_path, "wb") as f:
            f.write(b"".join(orjson.dumps(r) + b"\n" for r in planted))
    assert n_written == n_messages, (n_written, n_messages)
    stats = {
        "messages": n_written,
        "chats": len(chats),
        "planted": sum(r["type"] != DECOY for r in planted),
        "decoys": sum(r["type"] == DECOY for r in planted),
        "bytes": path.stat().st_size,
        "seconds": time.perf_counter() - t0,
    }
    return path, stats


def write_sample(out_dir: str | Path, n_messages: int, seed: int, planted_path: str | Path | None = None) -> Path:
    """Write out_dir/result.json (streamed) and, if asked, the planted rows as JSON Lines; returns the path."""
    return _write(out_dir, n_messages, seed, planted_path)[0]


def main(argv: list[str] | None = None) -> int:
    try:
        from doppel.params import load

        params = load("sample")
    except Exception:  # noqa: BLE001 - a missing/odd params.yaml just means the built-in defaults
        params = {}
    parser = argparse.ArgumentParser(
        prog="doppel sample",
        description="Write a deterministic synthetic full-account Telegram Desktop export (DIR/result.json).",
    )
    parser.add_argument("-o", "--out", required=True, type=Path, help="output folder (gets result.json)")
    parser.add_argument("--messages", type=int, default=int(params.get("messages", DEFAULT_MESSAGES)),
                        help="messages in all chats together (default: params.yaml sample.messages, else 20000)")
    parser.add_argument("--seed", type=int, default=int(params.get("seed", DEFAULT_SEED)),
                        help="random seed (default: params.yaml sample.seed, else 7)")
    parser.add_argument("--planted", type=Path, default=None,
                        help="also write the planted private data and decoys here (JSON Lines)")
    args = parser.parse_args(argv)
    if args.messages < MIN_MESSAGES:
        parser.error(f"--messages must be at least {MIN_MESSAGES}")
    path, s = _write(args.out, args.messages, args.seed, args.planted)
    print(f"sample: {s['messages']} messages, {s['chats']} chats, {s['planted']} planted + {s['decoys']} decoys, "
          f"{s['bytes']} bytes, {s['seconds']:.1f} s -> {path}")
    return 0


if __name__ == "__main__":
    from doppel.cli import module_main

    module_main("sample")
