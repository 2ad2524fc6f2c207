"""The redaction rules one by one, each on values that sit on its edges: the checksums (Luhn, INN, SNILS, IBAN,
base58check) on valid numbers and the same numbers one digit off, what `classify_number` calls each shape of
digits, the secret and candidate passes on exact lines. Every expected value here was worked out by hand from
the rule, not read back from the code."""
from __future__ import annotations

import pytest

from doppel.redact import validators as v

# ------------------------------------------------------------------------------------------------- checksums


@pytest.mark.parametrize(("digits", "ok"), [
    ("79927398713", True), ("79927398710", False),  # the textbook Luhn number, and its last digit changed
    ("4111111111111111", True), ("4111111111111112", False),
    ("59", True),   # 9 + (5*2 - 9): a doubled digit above 4 loses 9
    ("49", False),  # 9 + 4*2 = 17
    ("18", True),   # 8 + 1*2 = 10
    ("0", True), ("5", False),
])
def test_luhn(digits, ok):
    assert v.luhn_ok(digits) is ok


@pytest.mark.parametrize(("digits", "ok"), [
    ("7707083893", True), ("7707083894", False),        # 10 digits: one check digit
    ("1234567894", True), ("1234567897", False),        # 279 mod 11 = 4 (every weight counts here)
    ("500100732259", True), ("500100732258", False),    # 12 digits: the last check digit wrong
    ("500100732269", False),                            # the first of the two check digits wrong
    ("770708389", False), ("77070838930", False),       # 9 and 11 digits: no INN
])
def test_inn(digits, ok):
    assert v.inn_ok(digits) is ok


@pytest.mark.parametrize(("digits", "ok"), [
    ("11223344595", True), ("11223344596", False),  # weighted sum 95: the check number is the sum
    ("00123957099", True),   # sum 99: still the sum
    ("00132667900", True),   # sum 100: 00
    ("00132667999", False),  # (not 99 and not 100)
    ("00150881600", True),   # sum 101: 00
    ("00143754501", True),   # sum 102: 102 mod 101 = 01
    ("98765432183", True),   # sum 285: 285 mod 101 = 83
    ("00100199800", False),  # 001-001-998 and below have no check number ...
    ("00100199864", False),  # ... even when it would be right (sum 64)
    ("00100199965", True),   # 001-001-999: the first with one
    ("0100000008", False),   # 10 digits, though 8 would be its check number
    ("1122334459", False),   # 10 digits
])
def test_snils(digits, ok):
    assert v.snils_ok(digits) is ok


@pytest.mark.parametrize(("compact", "ok"), [
    ("DE89370400440532013000", True), ("DE89370400440532013001", False),
    ("NO9386011117947", True),  # 15 characters: the shortest IBANs (Norway)
    ("NO938601111794", False),  # 14
    ("MT84MALT011000012345MTLCAST001S", True),
    ("DE89370400440532013000" + "0" * 13, False),  # 35 characters: longer than any IBAN
    ("LC23ABCD12345678901234567890123456", True),   # 34, the longest (check digits by the ISO 13616 rule)
    ("LC20ABCD123456789012345678901234567", False),  # 35, check digits right for its length: still too long
])
def test_iban(compact, ok):
    assert v.iban_ok(compact) is ok


def test_base58check_and_hand_typed_addresses():
    genesis = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
    assert v.base58check_ok(genesis) is True
    assert v.base58check_ok(genesis[:-1] + "b") is False        # checksum broken
    assert v.base58check_ok("1" * 30) is False                  # decodes to zeros: checksum of nothing
    assert v.base58check_ok(genesis + "zzzz") is False          # over 25 bytes
    assert v.b58decode("2") == b"\x01" and v.b58decode("21") == bytes([58]) and v.b58decode("211") == bytes([13, 36])
    assert v.b58decode("112") == b"\0\0\x01" and v.b58decode("") == b"" and v.b58decode("10") is None
    assert v.b58decode("ps", alphabet="rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz") == bytes([60])
    assert v.crypto_base58_ok(genesis) is True
    assert v.crypto_base58_ok(genesis[:-1] + "b") is True       # typed by hand: digits and both cases
    assert v.crypto_base58_ok("1abcdefghijkmnopqrstuvwxyzabcd") is False   # no upper case
    assert v.crypto_base58_ok("1Abcdefghijkmnopqrstuvwxyzabcd") is True
    assert v.crypto_base58_ok("Abcdefghijkmnopqrstuvwxyzabcd") is False    # only the first letter upper, no digit
    assert v.crypto_base58_ok("ABCDEFGHJKLMNPQRSTUVWXYZ12345") is False    # no lower case


def test_passport_series():
    assert v.passport_series_ok("4510123456") is True
    assert v.passport_series_ok("4597123456") is True and v.passport_series_ok("4530123456") is True
    assert v.passport_series_ok("4531123456") is False and v.passport_series_ok("4596123456") is False
    assert v.passport_series_ok("4500123456") is True and v.passport_series_ok("4599123456") is True
    assert v.passport_series_ok("0010123456") is False  # region 00
    assert v.passport_series_ok("451012345") is False   # 9 digits


def test_thousands_grouped():
    assert v.thousands_grouped(["1", "234", "567"]) is True
    assert v.thousands_grouped(["123", "456"]) is True
    assert v.thousands_grouped(["1234", "567"]) is False
    assert v.thousands_grouped(["12", "34"]) is False
    assert v.thousands_grouped(["123"]) is False
    assert v.thousands_grouped(["", "123"]) is False


@pytest.mark.parametrize(("text", "digits", "keyword", "ok"), [
    ("+79123456789", "79123456789", False, True),
    ("89123456789", "89123456789", False, True),
    ("79123456789", "79123456789", False, True),
    ("9123456789", "9123456789", False, True),
    ("84951234567", "84951234567", False, True),     # a Moscow landline, read as Russian
    ("123456789", "123456789", False, False),        # 9 digits without +
    ("891234567890", "891234567890", False, False),  # 12 digits without +
    ("+4420 7946 0958", "442079460958", False, True),
    ("+1234567", "1234567", False, False),           # 7 digits after +
    ("+1234567890123456", "1234567890123456", False, False),  # 16
    ("0123456789", "0123456789", False, False),
    # +7 9xx / 8 9xx / 9xx: a Russian mobile without asking phonenumbers, which does not know the 930 range
    ("+79300000000", "79300000000", False, True), ("89300000000", "89300000000", False, True),
    ("79300000000", "79300000000", False, True), ("9300000000", "9300000000", False, True),
    ("+79300000000", "793000000001", False, False),            # 12 digits after +7: not one
    ("+68820123", "68820123", False, True),                    # 8 digits: the shortest (Tuvalu)
    ("+498001234567890", "498001234567890", False, True),      # 15: the longest E.164 number
    ("+376712345", "376712345", False, True),                  # 9 (Andorra)
    ("+0123456789", "0123456789", False, False),               # no country code 0: phonenumbers refuses it
    ("+35512345", "35512345", False, False), ("+35512345", "35512345", True, True),  # possible, not valid
])
def test_phone(text, digits, keyword, ok):
    assert v.phone_ok(text, digits, keyword) is ok


def _span(text: str) -> tuple[str, list[str], list[str]]:
    """(text, digit groups, separators) of a digit span, as the candidate pass hands them to classify_number."""
    import re

    groups = re.findall(r"[0-9]+", text)
    bounds = [m.span() for m in re.finditer(r"[0-9]+", text)]
    seps = [text[bounds[k][1]:bounds[k + 1][0]] for k in range(len(bounds) - 1)]
    return text, groups, seps


@pytest.mark.parametrize(("text", "keyword", "kind"), [
    ("912.345.67.89", None, "PHONE"),           # dotted: a phone only when it is a mobile
    ("8.912.345.67.89", None, "PHONE"),
    ("8.495.123.45.67", None, None),            # a dotted landline is more often not a phone
    ("12.03.2026", None, None),                 # a date
    ("4111.1111.1111.1111", None, "CARD"),      # 16 dotted digits: not a phone, a card
    ("123456", "PASSPORT", "PASSPORT"), ("12345", "PASSPORT", None), ("1234567890", "PASSPORT", "PASSPORT"),
    ("+123456", "PASSPORT", None),
    ("40817810", "ACCOUNT", "ACCOUNT"), ("1 234 567", "ACCOUNT", None),  # an amount after "счёт"
    ("40817 810 0 9999 1234567", "ACCOUNT", "ACCOUNT"),                  # 20 digits: an account even grouped
    ("123-45-67", None, "PHONE"), ("123 45 67", None, None), ("123-45-678", None, None),
    ("212) 555-0142", None, "PHONE"), ("112) 555-0142", None, None),     # (212) 555-0142, area codes 2-9
    ("4510 123456", None, "PASSPORT"), ("45 10 123456", None, "PASSPORT"),
    ("4550 123456", None, None),                 # blank year 50: not a passport
    ("4510-123456", None, None),                 # a passport is written with spaces
    ("4510 123456", "PHONE", "PHONE"),           # after "тел" it is read as a phone
    ("1234567890", "INN", "INN"), ("123456789012", "INN", "INN"), ("12345678901", "INN", None),
    ("12345678901", "SNILS", "SNILS"), ("1234567890", "SNILS", None),
    ("4111111111111111", None, "CARD"), ("4111 1111 1111 1111", None, "CARD"),
    ("4222222222222", None, "CARD"),                # 13 digits: the shortest card (old Visa)
    ("4000000000000000006", None, "CARD"),          # 19: the longest
    ("40000000000000000002", None, None),           # 20 digits pass Luhn, but no card is that long
    ("2720000000000005", None, "CARD"),             # 27xx: the end of Mastercard's 2-series
    ("4222.2222.2222.2", "CARD", "CARD"),           # dotted and 13 digits: a card, not a phone or a date
    ("40817.810.0.9999.1234567", "ACCOUNT", "ACCOUNT"),  # dotted, 20 digits
    ("4111.1111.1111.1112", None, "CARD"), ("4111\u00a01111\u00a01111\u00a01112", None, "CARD"),
    ("12345678901", "PASSPORT", None),              # 11 digits: no passport
    ("123456", "ACCOUNT", "ACCOUNT"), ("12345", "ACCOUNT", None),
    ("123456789012345678901", "ACCOUNT", None),     # 21
    ("40 817 810 099 910 004 312", "ACCOUNT", "ACCOUNT"),  # 20 digits in threes is an account, not an amount
    ("+376 712 345", None, "PHONE"),                # 9 digits after +: still a phone
    ("5001 0073 2259", None, None),                 # a valid INN, but an INN is written in one piece
    ("4111 111111 11111", None, None),           # 4-6-5 is a card grouping, but 41111111111111111 fails Luhn
    ("3782 822463 10005", None, "CARD"),         # American Express, 4-6-5
    ("1111111111111117", None, None),            # Luhn-valid, but no card starts with 1
    ("1111111111111117", "CARD", "CARD"),        # ... unless the message says it is a card
    ("2221000000000009", None, "CARD"),          # 22xx: Mastercard's 2-series
    ("2821000000000001", None, None),
    ("4111 1111 1111 1112", None, "CARD"),       # the 4-4-4-4 shape is a card even with a typo
    ("4111-1111-1111-1112", None, "CARD"), ("4111/1111/1111/1112", None, None),
    ("1111 1111 1111 1112", None, None),
    ("112-233-445 95", None, "SNILS"), ("112-233-445 96", None, None),
    ("+7 912 345 67 89", None, "PHONE"), ("+44 20 7946 0958", None, "PHONE"),
    ("8 912 345 67 89", None, "PHONE"), ("9123456789", None, "PHONE"),
    ("1 234 567 890", None, None),               # thousands: an amount
    ("+1 234 567 890", None, None),              # the + makes it a phone candidate, but not a valid one
    ("7707083893", None, "INN"), ("500100732259", None, "INN"), ("11223344595", None, "SNILS"),
    ("7707083894", None, None), ("500100732258", None, None), ("11223344596", None, None),
])
def test_classify_number(text, keyword, kind):
    assert v.classify_number(*_span(text), keyword) == kind


# ------------------------------------------------------------------------------- pass A: keyword and value
SEED8 = "abandon ability able about above absent absorb abstract"
SEED12 = SEED8 + " absurd abuse access accident"


@pytest.mark.parametrize(("line", "expected"), [
    ("password: correcthorse", "password: <SECRET>"),          # a strong keyword and ':': any uncommon word
    ("password - correcthorse", "password - correcthorse"),    # other separators need a digit or a symbol
    ("password - correct7horse", "password - <SECRET>"),
    ("token: correcthorse", "token: correcthorse"),            # not a strong keyword: needs a digit or symbol
    ("token: abc123xyz", "token: <SECRET>"),
    ("пароль: Qwerty123!, потом", "пароль: <SECRET>, потом"),  # trailing punctuation stays
    ("пароль = abc", "пароль = abc"),                          # 3 letters: too short
    ("пароль: 123", "пароль: <SECRET>"),                       # 3 digits: a CVV-like code
    ("password: None", "password: None"), ("password: required", "password: required"),
    ("password is incorrect", "password is incorrect"),
    ("password: http://example.com/reset", "password: http://example.com/reset"),
    ('token: typing.Union[bytes, str]', 'token: typing.Union[bytes, str]'),  # code
    ("pin 1234", "pin <SECRET>"), ("cvv 123", "cvv <SECRET>"),   # no separator: the next token
    ("pin code", "pin code"),
    ("пароль от почты abc123", "пароль от почты <SECRET>"),     # after a short "of what"
    ("password for wifi Xy7#kq!2 ok", "password for wifi <SECRET> ok"),
    ("password for home wifi: Xy7kq2", "password for home wifi: <SECRET>"),  # three words, then ':'
    ("the password is Xy7kq2.", "the password is <SECRET>."),
    ("пароль это Xy7kq2", "пароль это <SECRET>"),
    (f"seed: {SEED8}", "seed: <SEED_PHRASE>"),                  # a seed keyword: 6+ BIP39 words
    ("seed: abandon ability able about above", "seed: abandon ability able about above"),  # 5
    (f"recovery phrase is {SEED8} ok", "recovery phrase is <SEED_PHRASE> ok"),
    ("пароль: это Qwerty1", "пароль: это <SECRET>"), ("пароль: это correcthorse", "пароль: это <SECRET>"), ("пароль — это Xy7kq2", "пароль — это <SECRET>"),
    ("re:пароль: Qwerty1", "re:пароль: <SECRET>"),
    ("(пароль: correcthorse)", "(пароль: <SECRET>)"),         # the keyword after a bracket is still strong
    ("password for home wifi: correcthorse", "password for home wifi: <SECRET>"),  # 3 words: still strong
    ("password for my home wifi: Xy7kq2", "password for my home wifi: Xy7kq2"),    # 4 words: too far
    ("password for my home wifi Xy7kq2", "password for my home wifi Xy7kq2"),
    ("password for Xy7kq2", "password for <SECRET>"),
    ("pin my 1234", "pin my 1234"),                  # no separator: only the very next token
    # a token-shaped value whatever its characters (not a well-formed JWT), also after up to 2 plain words
    ("токен бота eyJhbGciOi...X.Y", "токен бота <SECRET>"),
    ("токен бота: eyJhbGciOi...X.Y", "токен бота: <SECRET>"),
    ("токен моего бота eyJhbGciOi...X.Y, держи", "токен моего бота <SECRET>, держи"),
    ("токен самого нового бота eyJhbGciOi...X.Y", "токен самого нового бота eyJhbGciOi...X.Y"),  # 3 words: far
    ("токен бота eyJhbGciOiXY", "токен бота <SECRET>"),        # 12 characters after words: exactly the cap
    ("токен бота eyJhbGciOiX", "токен бота eyJhbGciOiX"),      # 11: one short
    ("token: abc.defg", "token: <SECRET>"),                    # right after ':' 8 characters count
    ("token: abc.def", "token: abc.def"),                      # 7: one short
    ("token: .abcdefg", "token: .abcdefg"),                    # punctuation only at an end: a word
    ("токен бота лежит в .env.production", "токен бота лежит в .env.production"),
    ("токен бота https://t.me/abc.def/xyz", "токен бота https://t.me/abc.def/xyz"),
    ("pin 1234.", "pin <SECRET>."), ("pin 1234 1234", "pin <SECRET> 1234"),
    ("мой сид: abandon ability able about above absent", "мой сид: <SEED_PHRASE>"),
    ("(сид: abandon ability able about above absent)", "(сид: <SEED_PHRASE>)"),
    (f"пароль: {SEED12}", "пароль: <SEED_PHRASE>"),             # a 12-word seed phrase given as a password
    (f"пароль: {SEED8}", "пароль: <SECRET> " + SEED8[8:]),      # 8 words after a password keyword: one word
])
def test_secret_pass(line, expected):
    from doppel.redact.scrub import scrub_texts
    import polars as pl

    out, counts = scrub_texts(pl.Series([line]), names=False)
    assert out.to_list() == [expected]
    assert sum(counts.values()) == expected.count("<")


@pytest.mark.parametrize(("value", "explicit", "ok"), [
    ("123", False, True), ("12a", False, False), ("1234", False, True), ("abcd", True, True),
    ("abcd", False, False), ("ab!d", False, True), ("None", True, False), ("www.site", False, False),
    ("Http7", False, False), ("www.s1te.ru", False, False), ("a(1)b", False, False), ("x'12", False, False), ("abc", True, False),
])
def test_looks_like_secret(value, explicit, ok):
    from doppel.redact.secret import looks_like_secret

    assert looks_like_secret(value, explicit) is ok


# ------------------------------------------------------------------------------ pass B: validated candidates
@pytest.mark.parametrize(("line", "expected"), [
    ("IBAN DE89 3704 0044 0532 0130 00 EUR", "IBAN <IBAN> EUR"),
    ("BE68 5390 0754 7034 ABCD", "<IBAN> ABCD"),             # a word after it that looks like a group: trimmed
    ("BE68 5390 0754 7035", "BE68 5390 0754 7035"),          # mod-97 fails
    ("AB12 CDEF GHIJ", "AB12 CDEF GHIJ"),                    # letters only
    ("account IBAN: DE89370400440532013000", "account IBAN: <IBAN>"),
    ("send to 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa please", "send to <CRYPTO_ADDRESS> please"),
    ("Tabcdefghijkmnopqrstuvwxyzab", "Tabcdefghijkmnopqrstuvwxyzab"),
    ("7EcDhSYGxXyscszYEp35KHN8vvw3svAuLKTzXwCFLtV", "<CRYPTO_ADDRESS>"),    # Solana
    ("xrp rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh", "xrp <CRYPTO_ADDRESS>"),     # XRP, checksum ok
    ("xrp rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTj", "xrp rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTj"),
    ("abandon ability able about above absent absorb abstract absurd abuse access accident", "<SEED_PHRASE>"),
    ("abandon ability able about above absent absorb abstract absurd abuse access",  # 11 words
     "abandon ability able about above absent absorb abstract absurd abuse access"),
    ("4510 123456 выдан ОВД", "<PASSPORT> выдан ОВД"),
    ("passport number C01X00T47", "passport number <PASSPORT>"),
    ("passport number ABCDEFGH", "passport number ABCDEFGH"),
    ("паспорт 45 10 № 123456", "паспорт <PASSPORT>"),
    ("паспорт AB 1234567", "паспорт <PASSPORT>"),            # a letter series goes with the number
    ("позвони 123-45-67", "позвони <PHONE>"),
    ("мой Xy7#kq!2abc", "мой <SECRET>"), ("@Xy7#kq!2abc", "@Xy7#kq!2abc"), ("(Xy7#kq!2abc)", "(<SECRET>)"),
    ("р/с 40817810099910004312", "р/с <ACCOUNT>"),
    ("40817810099910004312", "<ACCOUNT>"),                  # a client's account in roubles: no keyword needed
    ("12345678901234567890", "12345678901234567890"),
    ("счёт 12345678901234567890", "счёт <ACCOUNT>"),
    ("инн 7707083893", "инн <INN>"), ("ИНН: 7707083894", "ИНН: <INN>"),   # after the keyword: any 10 digits
    ("снилс 112-233-445 95", "снилс <SNILS>"),
    ("тел. 495 123-45-67", "тел. <PHONE>"),
    ("card 1111 1111 1111 1117", "card <CARD>"),
    ("заказ №3012345678 и трек 80012345678901", "заказ №3012345678 и трек 80012345678901"),
    ("order #9123456789", "order #9123456789"),
    ("8 912 345 67 89 или 8 912 345 67 90", "<PHONE> или <PHONE>"),
    ("номер 7707083893, ИНН", "номер <INN>, ИНН"),
    ("BE68 5390 0754 7034 ABCD EFGH", "<IBAN> ABCD EFGH"),
    ("Abandon ability able about above absent absorb abstract absurd abuse access accident", "<SEED_PHRASE>"),
    ("abandon ability able about above absent Absorb abstract absurd abuse access accident",  # a capital inside
     "abandon ability able about above absent Absorb abstract absurd abuse access accident"),
    (f"{SEED12} xylophone {SEED12}", "<SEED_PHRASE> xylophone <SEED_PHRASE>"),
    (f"{SEED12} qwerty {SEED12}", "<SEED_PHRASE> qwerty <SEED_PHRASE>"),  # one run of words, two phrases
    ("#9123456789", "#9123456789"), ("№ 9123456789", "№ 9123456789"),   # after № or #: an id, not a phone
    ("тел 8 123 456 78 90", "тел <PHONE>"),         # after "тел" a possible number is enough
    ("8 123 456 78 90", "8 123 456 78 90"),           # ... without it, it must be a valid one
    ("карта 45 10 № 123456", "карта <PASSPORT>"),   # not a card; the shape of a passport, whatever the keyword
    ("паспорт ЛО 45 10 № 123456", "паспорт ЛО <PASSPORT>"),
    ("паспорт 45 10 № 123456 и 45 11 № 654321", "паспорт <PASSPORT> и <PASSPORT>"),  # the second, no keyword
    ("45 11 № 654321", "<PASSPORT>"), ("12 34 № 1234567", "12 34 № 1234567"),   # a series, №, 6 digits
])
def test_candidate_pass(line, expected):
    from doppel.redact.scrub import scrub_texts
    import polars as pl

    out, counts = scrub_texts(pl.Series([line]), names=False)
    assert out.to_list() == [expected]
    assert sum(counts.values()) == expected.count("<")


def test_an_iban_shape_that_fails_mod97_still_goes_through_the_number_rules():
    from doppel.redact.candidate import redact_candidate

    assert redact_candidate("AB12 4111 1111 1111 1111") == "AB12 <CARD>"
    assert redact_candidate("AB12 CDEF GHIJ") == "AB12 CDEF GHIJ"


@pytest.mark.parametrize(("line", "start", "keyword", "expected"), [
    ("4111111111111111 x 9123456789", 17, "PHONE", "4111111111111111 x <PHONE>"),  # only what follows `start`
    ("4111111111111111 x 9123456789", 0, None, "<CARD> x <PHONE>"),
    ("8 912 345 67 89 8 912 345 67 90", 0, None, "<PHONE> <PHONE>"),
    ("12 9123456789 34", 0, None, "12 <PHONE> 34"),
    # a span starts at any group: twelve single digits in front do not hide the phone
    ("1 2 3 4 5 6 7 8 9 1 2 3 8 912 345 67 89", 0, None, "1 2 3 4 5 6 7 8 9 1 2 3 <PHONE>"),
    ("a 123456", 0, "PASSPORT", "a <PASSPORT>"), ("a 12345", 0, "PASSPORT", "a 12345"),   # 6 digits at least
    ("4081781009991000431", 0, "ACCOUNT", "<ACCOUNT>"),        # 19 digits: the longest span read here
    ("40817810099910004312", 0, "ACCOUNT", "40817810099910004312"),  # 20: left to the account rule
    ("4111 1111 1111 1111 1111", 0, None, "<CARD> 1111"),      # the longest valid span, then the rest
    ("call +7 912 345 67 89", 0, None, "call <PHONE>"),         # the + goes with the number ...
    ("call + 7 912 345 67 89", 0, None, "call <PHONE>"),        # ... also with a space after it
    ("x (495) 123-45-67", 0, None, "x <PHONE>"),                # and an opening bracket
    ("+ 44 20 7946 0958", 0, None, "<PHONE>"),
    ("tel: +7 912 345 67 89", 4, "PHONE", "tel: <PHONE>"),
    ("555 123 4567 8", 0, None, "555 123 4567 8"),
    ("+33 6 12 34 56 78", 0, None, "<PHONE>"),            # the first two groups may be single digits
    ("8 912 345 67 89 123-45-67", 0, None, "<PHONE> <PHONE>"),  # a local number after a mobile
    ("тел 12 123-45-67", 3, "PHONE", "тел 12 <PHONE>"),     # separators of the span itself, not from group 0
    ("тел (+44 20 7946 0958)", 3, "PHONE", "тел <PHONE>)"),  # the bracket goes, the + reads as international
    ("4000 0000 0000 0000 006", 0, None, "<CARD>"),         # a 19-digit card in 5 groups
])
def test_redact_numbers(line, start, keyword, expected):
    from doppel.redact.candidate import redact_numbers

    assert redact_numbers(line, start, keyword) == expected
