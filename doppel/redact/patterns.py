"""The regexes of redaction: the placeholder types, the shapes always redacted, the candidates that validators
judge, the trigger scans that pick the rows worth a look, and `PII_PATTERN` (the safety net that the dataset's
contract checks too).
"""
from __future__ import annotations

TYPES = (
    "PHONE", "EMAIL", "CARD", "IBAN", "ACCOUNT", "PASSPORT", "INN", "SNILS", "SECRET", "SEED_PHRASE",
    "CRYPTO_ADDRESS", "NAME",
)
PH = {t: f"<{t}>" for t in TYPES}
# A placeholder's name written bare ("трёхNAME", "PHONE>"): a twin that learned "<NAME>" can write it without
# its "<". In capitals, with no Latin letter right before or after it ("NAMES", "INNER", "name" are words).
BARE_TYPE_RE = r"(?<![A-Za-z])(?:" + "|".join(sorted(TYPES, key=len, reverse=True)) + r")(?![A-Za-z])"
# The export's own entity types (ingest passes them as PHONE/EMAIL/CARD; the raw names are accepted too).
HINT_TYPES = {"phone": "PHONE", "email": "EMAIL", "bank_card": "CARD", **{t: t for t in TYPES}}

B = r"(?-u:\b)"  # ASCII word boundary: the lazy DFA handles it on Cyrillic text (a Unicode \b would not)
CYR = "а-яёА-ЯЁ"
SEP = r"[ \t\u00a0().\-\u2010-\u2015]"  # what may stand between the digits of one number

# --------------------------------------------------------------------------- always-redacted shapes

EMAIL_RE = (
    rf"[A-Za-z0-9{CYR}._%+\-]+@[A-Za-z0-9{CYR}](?:[A-Za-z0-9{CYR}\-]*[A-Za-z0-9{CYR}])?"
    rf"(?:\.[A-Za-z0-9{CYR}](?:[A-Za-z0-9{CYR}\-]*[A-Za-z0-9{CYR}])?)*\.[A-Za-z{CYR}]{{2,24}}"
)
# The shapes below are redacted whatever the validators say. None has a word boundary, so no longer number
# around one, and no text cut later in the middle of a number, can leave a matching shape behind.
# +7 / +1 and 10 more digits, +44 and 9-10:
PII_PHONE_RE = r"\+[ \t]?(?:7|1)(?:[ \t\u00a0().\-]{0,2}[0-9]){10}|\+[ \t]?44(?:[ \t\u00a0().\-]{0,2}[0-9]){9,10}"
# 4 groups of 4 digits that start like a card (Visa 4, MC 5 / 22-27, Mir 220x, Amex/JCB 3, Maestro 6), Luhn
# or not ("2020 2021 2022 2023", a list of years, starts with 20: not a card):
PII_CARD_RE = r"(?:[3-6][0-9]{3}|2[2-7][0-9]{2})[ .\-\u00a0][0-9]{4}[ .\-\u00a0][0-9]{4}[ .\-\u00a0][0-9]{4}"
PII_PARTS = {"EMAIL": EMAIL_RE, "PHONE": PII_PHONE_RE, "CARD": PII_CARD_RE}
PII_PATTERN = "|".join(f"(?:{p})" for p in PII_PARTS.values())

SECRET_TOKEN_RE = "|".join([
    rf"{B}sk-(?:proj-|ant-|live-|test-)?[A-Za-z0-9_\-]{{20,}}",          # OpenAI / Anthropic style
    rf"{B}(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{{16,}}",                  # Stripe
    rf"{B}gh[pousr]_[A-Za-z0-9]{{30,}}",                                   # GitHub
    rf"{B}github_pat_[A-Za-z0-9_]{{30,}}",
    rf"{B}glpat-[A-Za-z0-9_\-]{{20,}}",                                    # GitLab
    rf"{B}(?:hf|npm)_[A-Za-z0-9]{{30,}}",                                  # Hugging Face, npm
    rf"{B}xox[abposr]-[A-Za-z0-9\-]{{10,}}",                               # Slack
    rf"{B}AIza[0-9A-Za-z_\-]{{35}}",                                       # Google API key
    rf"{B}(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA)[A-Z0-9]{{16}}{B}",  # AWS key id
    rf"{B}[0-9]{{6,12}}:[A-Za-z0-9_\-]{{30,}}",                            # Telegram bot token
    rf"{B}eyJ[A-Za-z0-9_\-]{{5,}}\.eyJ[A-Za-z0-9_\-]{{5,}}\.[A-Za-z0-9_\-]*",  # JWT
    rf"{B}SG\.[A-Za-z0-9_\-]{{22}}\.[A-Za-z0-9_\-]{{43}}",                 # SendGrid
    rf"{B}[MNO][A-Za-z0-9_\-]{{23,25}}\.[A-Za-z0-9_\-]{{6}}\.[A-Za-z0-9_\-]{{27,38}}",  # Discord bot
    rf"{B}pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{{50,}}",                        # PyPI
    rf"{B}(?:y0_|dop_v1_|shpat_|shpss_|glsa_|xapp-|sq0atp-|sk_live_)[A-Za-z0-9_\-]{{20,}}",  # Yandex, DO, ...
    r"-----BEGIN [A-Z ]*PRIVATE KEY(?: BLOCK)?-----(?s:.)*?(?:-----END [A-Z ]*PRIVATE KEY(?: BLOCK)?-----|$)",
])
CRYPTO_RE = "|".join([
    rf"{B}0x[0-9a-fA-F]{{40}}{B}",                                          # ETH / EVM
    rf"{B}(?:bc1|tb1|ltc1)[02-9ac-hj-np-z]{{25,87}}{B}",                     # bech32 (BTC, LTC)
    rf"{B}(?:BC1|TB1)[02-9AC-HJ-NP-Z]{{25,87}}{B}",
    rf"{B}[EUk0]Q[A-Za-z0-9_\-]{{46}}",                                     # TON user-friendly
    rf"(?:{B}|-)[01]:[0-9a-fA-F]{{64}}{B}",                                 # TON raw
])
SIMPLE_PASSES = (("EMAIL", EMAIL_RE), ("SECRET", SECRET_TOKEN_RE), ("CRYPTO_ADDRESS", CRYPTO_RE))

# --------------------------------------------------------------------------- validated candidates

SEED_KW_EN = r"seed(?:[ _\-]?phrase)?|mnemonic|(?:secret |backup )?recovery (?:phrase|words)|(?:secret|backup) phrase"
SEED_KW_RU = r"сид(?:[ \-]?фраз[а-яё]*)?|мнемоник[а-яё]*|фраз[а-яё]* восстановления|слова сида"
# Pass A: a secret keyword, up to 3 words, a separator, a value (or a seed phrase after the keyword).
SECRET_KW = (
    r"(?:"
    rf"{B}(?i:{SEED_KW_EN}"
    r"|passwords?|passwd|passcode|passphrase|pass|pwd|pin(?:[ \-]?code)?|cvv2?|cvc2?|secret(?:[ _\-]?key)?"
    r"|client[ _\-]?secret|api[ _\-]?key|apikey|access[ _\-]?key|(?:access|auth|api|bearer|refresh)[ _\-]?token"
    r"|token|private[ _\-]?key|aws_secret_access_key|otp|2fa|(?:verification|sms|login|security)[ _\-]?code"
    r"|api_hash|twilio|mailchimp|sendgrid)"
    rf"|(?:^|[^A-Za-z{CYR}])"
    r"(?i:парол[а-яё]*|пасс|пин(?:[ \-]?код[а-яё]*)?|код[а-яё]* (?:доступа|из смс|из sms|подтверждения)"
    r"|секретн[а-яё]* (?:ключ|слово|код|фраз[а-яё]*)|токен[а-яё]*|(?:api|апи)[ \-]?ключ[а-яё]*"
    r"|ключ[а-яё]* (?:api|апи|доступа)|приватн[а-яё]* ключ[а-яё]*"
    rf"|{SEED_KW_RU})"
    r")"
)
SEED_RUN = r"[A-Za-z][a-z]{2,7}(?:[ \t\r\n,.;]+(?:[0-9]{1,2}[.)][ \t]*)?[a-z]{3,8}){11,}"
SEED_SHORT = r"[A-Za-z][a-z]{2,7}(?:[ \t\r\n,.;]+(?:[0-9]{1,2}[.)][ \t]*)?[a-z]{3,8}){5,}"  # after a seed keyword
SECRET_RE = (  # a seed keyword and 6+ words first, then a keyword and one value
    rf"(?:{B}(?i:{SEED_KW_EN})|(?:^|[^A-Za-z{CYR}])(?i:{SEED_KW_RU}))[^A-Za-z\n<]{{0,25}}{SEED_SHORT}{B}|"
    rf"{SECRET_KW}(?:[ \t]+[^\s:=<]{{1,24}}){{0,3}}"
    r"(?:[ \t]*[:=][ \t]*|[ \t]+(?i:is|was|это|будет)[ \t]+|[ \t]*[\-\u2013\u2014][ \t]*|[ \t]+)"
    r"(?:(?i:это)[ \t]+)?"  # "пароль: это Qwerty1"
    rf"(?:{SEED_RUN}{B}|{SEED_SHORT}{B}|[^\s<]{{3,}})"
)
# Pass B: numbers (with an optional keyword in front), IBANs, base58 addresses, seed phrases.
NUM_KW = (
    r"(?:"
    rf"(?:(?:^|[^A-Za-z{CYR}])(?i:инн|снилс|паспорт[а-яё]*|серия|серии|карт(?:а|у|ы|е|ой|очка|очку|очки)"
    r"|тел(?:ефон)?[а-яё]*\.?|моб(?:ильный|\.)?|ватсап|вотсап|вайбер|пасп\.|р/сч?|р\\с|к/с|сч[её]т(?:а|у|ом|е)?)"
    r"|(?:^|[^<A-Za-z0-9_])(?i:inn|snils|passport|card|phone|tel|mobile|whatsapp|viber|account|acct|acc)"
    rf"{B})"  # "<PASSPORT> ...": a placeholder is no keyword
    rf"(?:[^0-9\n<A-Za-z{CYR}][^0-9\n<]{{0,24}})?"  # the keyword ends where a letter would go on
    # ... or an id-like label right before the number: not a phone / INN ("заказ №3012345678", "order #...")
    rf"|(?:(?:^|[^A-Za-z{CYR}])(?i:заказ[а-яё]*|трек[а-яё\-]*|артикул[а-яё]*|накладн[а-яё]*)"
    rf"|{B}(?i:order|tracking|track|sku|id))[ \t]*(?:№|#|(?i:no?\.?)|номер)?[ \t]*"
    r"|№[ \t]*|#"
    r")"
)
NUMBER = rf"(?:\+[ \t]?\(?|\(|{B})[0-9](?:{SEP}{{0,3}}[0-9]){{8,47}}{B}"  # 48 digits at most per candidate
LOCAL7 = rf"{B}[0-9]{{3}}-[0-9]{{2}}-[0-9]{{2}}{B}"  # 123-45-67: a local phone number
PASSPORT_AFTER = (  # 4510123456 выдан ...: the words after the number say what it is
    rf"{B}[0-9]{{2}} ?[0-9]{{2}} ?(?:№ ?)?[0-9]{{6}}{B}[ \t,.;:]*(?i:выдан|кем выдан|код подразделения|issued)"
)
PASSPORT_ALNUM = (  # passport + a letters-and-digits number ("passport number C01X00T47")
    rf"{B}(?i:passport|паспорт)[ \t]*(?i:number|no\.?|номер|№|#)?[ \t:]*[A-Z0-9]{{6,12}}{B}"
)
PASSPORT_NO = rf"{B}[0-9]{{2}} ?[0-9]{{2}}[ \t]*№[ \t]*[0-9]{{6}}{B}"  # 45 11 № 654321: a series, №, a number
PASSWORD_BARE = (  # a password-shaped token with no keyword: a digit and a symbol in it (letters: checked)
    r"(?:^|[\s\"'«(:])[A-Za-z0-9_.!#$%^&*?~@\-]*(?:[0-9][A-Za-z0-9_.!#$%^&*?~@\-]*[!#$%^&*?~@]"
    r"|[!#$%^&*?~@][A-Za-z0-9_.!#$%^&*?~@\-]*[0-9])[A-Za-z0-9_.!#$%^&*?~@\-]*"
)
SOLANA_RE = rf"{B}[1-9A-HJ-NP-Za-km-z]{{32,44}}{B}"  # Solana / XRP (r...): checked by decoding
NUMBER_AFTER_KW = rf"(?:\+[ \t]?\(?|\()?[0-9](?:{SEP}{{0,3}}[0-9]){{5,47}}{B}"
PASSPORT_RU = (  # "серия 45 10 номер 123456": a word between the series and the number
    rf"(?:(?:^|[^A-Za-z{CYR}])(?i:паспорт[а-яё]*|серия|серии)|{B}(?i:passport))[^0-9\n<]{{0,25}}"
    rf"[0-9]{{2}} ?[0-9]{{2}}[ \t]*(?i:№|n|no\.?|номер|#)[ \t]*[0-9]{{6}}{B}"
)
IBAN_RE = rf"{B}[A-Z]{{2}}[0-9]{{2}}(?: ?[A-Z0-9]{{4}}){{2,7}}(?: ?[A-Z0-9]{{1,3}})?{B}"
BASE58_RE = rf"{B}[13LMDT][1-9A-HJ-NP-Za-km-z]{{25,34}}{B}"
CANDIDATE_RE = "|".join([
    PASSPORT_RU, PASSPORT_AFTER, PASSPORT_ALNUM, f"{NUM_KW}{NUMBER_AFTER_KW}", PASSPORT_NO, IBAN_RE, BASE58_RE, SOLANA_RE,
    f"{B}{SEED_RUN}{B}", NUMBER, LOCAL7, PASSWORD_BARE,
])

# Rows that may need any work: a superset of what every pass above can change, as three regexes (one union of
# everything overflows the lazy DFA's cache and runs several times slower than these scans together).
TRIGGERS = (
    "|".join([EMAIL_RE, CRYPTO_RE, BASE58_RE, IBAN_RE, SECRET_TOKEN_RE, NUMBER, PII_PATTERN, f"{B}{SEED_RUN}{B}"]),
    "|".join([LOCAL7, SOLANA_RE, PASSWORD_BARE, PASSPORT_NO]),
    "|".join([
        SECRET_KW,
        rf"(?:(?:^|[^A-Za-z{CYR}])(?i:инн|снилс|паспорт|пасп|серия|серии|карт|тел|моб|ватсап|вотсап|вайбер|р/с|р\\с"
        rf"|к/с|сч[её]т)|{B}(?i:inn|snils|passport|card|phone|tel|mobile|whatsapp|viber|acc))[^0-9\n]{{0,27}}[0-9]",
    ]),
)

MARK_OPEN, MARK_CLOSE = "\ufdd0", "\ufdd1"  # Unicode noncharacters: internal use only
MARKS_RE = "[\ufdd0\ufdd1]"
COUNT_RE = "<(" + "|".join(TYPES) + ")>"
