"""Planted private data: values shaped like the real thing (valid checksums where it has one), the sentences
they are planted in, and decoys (prices, dates, times, order numbers...) that look numeric but are not private.
"""
from __future__ import annotations

import hashlib
import random

from doppel.redact.bip39 import WORDS as BIP39_WORDS
from doppel.sample.words import DECOY_TEMPLATES, EMAIL_DOMAINS, EMAIL_LOCALS, MONTHS_EN, MONTHS_GEN

PLANTED_TYPES = (
    "PHONE", "EMAIL", "CARD", "IBAN", "PASSPORT", "INN", "SNILS", "SECRET", "SEED_PHRASE", "CRYPTO_ADDRESS",
)
DECOY = "DECOY"

ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

# Seed phrases draw from the real BIP39 English word list (scrub's detector uses the same list).
SEED_WORDS = tuple(sorted(BIP39_WORDS))


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def phone(rng: random.Random, lang: str = "ru") -> str:
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


def email(rng: random.Random) -> str:
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


def card(rng: random.Random) -> str:
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


def iban(rng: random.Random) -> str:
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


def passport(rng: random.Random) -> str:
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


def inn(rng: random.Random) -> str:
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


def snils(rng: random.Random) -> str:
    nine = str(rng.randrange(2_000_000, 999_999_999)).zfill(9)
    c = snils_checksum(nine)
    sep = " " if rng.random() < 0.85 else "-"
    return f"{nine[:3]}-{nine[3:6]}-{nine[6:]}{sep}{c:02d}"


def password(rng: random.Random) -> str:
    n = rng.randrange(8, 15)
    chars = [rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ"), rng.choice("abcdefghijkmnopqrstuvwxyz"),
             rng.choice("23456789"), rng.choice("!#$%&*?@")]
    chars += [rng.choice(ALNUM + "!#$%&*?@") for _ in range(n - 4)]
    rng.shuffle(chars)
    return "".join(chars)


def token(rng: random.Random) -> str:
    kind = rng.randrange(5)
    if kind == 0:
        return "sk-" + "".join(rng.choice(ALNUM) for _ in range(48))
    if kind == 1:
        return "sk-proj-" + "".join(rng.choice(ALNUM + "_-") for _ in range(40))
    if kind == 2:
        return "ghp_" + "".join(rng.choice(ALNUM) for _ in range(36))
    if kind == 3:
        return f"{rng.randrange(10**8, 10**10)}:AA" + "".join(rng.choice(ALNUM + "_-") for _ in range(33))
    return "AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))


def seed_phrase(rng: random.Random) -> str:
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


def crypto(rng: random.Random) -> str:
    kind = rng.random()
    raw = bytes(rng.randrange(256) for _ in range(20))
    if kind < 0.35:
        return _bech32_address(raw)
    if kind < 0.7:
        return "0x" + raw.hex()
    if kind < 0.85:
        return _b58check(b"\x00" + raw)  # legacy BTC, starts with 1
    return _b58check(b"\x41" + raw)  # TRON (USDT TRC20), starts with T


PLANT_GEN = {
    "PHONE": phone, "EMAIL": email, "CARD": card, "IBAN": iban, "PASSPORT": passport, "INN": inn,
    "SNILS": snils, "SECRET_PW": password, "SECRET_TOKEN": token, "SEED_PHRASE": seed_phrase,
    "CRYPTO_ADDRESS": crypto,
}
PLANT_KINDS = tuple(PLANT_GEN)
# In conversations people share contacts more than wallets; in saved messages, the reverse.
PLANT_W_CHAT = (24, 15, 12, 5, 5, 5, 4, 9, 5, 3, 8)
PLANT_W_SAVED = (4, 4, 10, 8, 8, 8, 8, 16, 14, 10, 10)
ENTITY_OF = {"PHONE": "phone", "EMAIL": "email", "CARD": "bank_card"}


def decoy(rng: random.Random, lang: str) -> tuple[str, str]:
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
