"""Redaction of private data in message texts: typed placeholders (Russian and English), with per-type counts.

Placeholders: <PHONE> <EMAIL> <CARD> <IBAN> <ACCOUNT> <PASSPORT> <INN> <SNILS> <SECRET> <SEED_PHRASE>
<CRYPTO_ADDRESS>, and <NAME> with scrub.names.

How it stays fast (1M generated messages in ~0.7 s on one core): everything that touches every row is a
Polars (Rust regex) expression over the whole column; Python only sees the few unique candidate substrings.

1. `TRIGGERS` (two regex scans) pick the rows that may hold anything (~3%); all later work runs on those only.
2. Shapes that need no validation are replaced with `str.replace_all`: e-mails, API keys and tokens (sk-,
   ghp_, AKIA.., JWT, bot tokens, ...), ETH / bech32 / TON addresses.
3. Validated passes: a regex extracts candidates (`str.extract_all`), the unique candidates go through Python
   validators (phonenumbers, Luhn, IBAN mod-97, INN / SNILS checksums, base58check, the BIP39 wordlist), and
   each validated candidate gets its replacement string. The same regex then wraps every candidate in marker
   characters (`str.replace_all`), `str.replace_many` swaps exactly the wrapped validated ones (a wrapped key
   can never match inside a longer number), and the markers go.
   Pass A: "password: ...", "пароль от почты - ...", "pin 1234", ... (keyword + value).
   Pass B: numbers (phones, cards, INN, SNILS, passports with a keyword nearby), IBANs, base58 addresses,
   runs of 12+ lowercase words (seed phrases).
4. Safety net: whatever still matches `PII_PATTERN` is replaced unconditionally, so the dataset check built on
   `PII_PATTERN` can never fail on scrubbed text. `PII_PATTERN` has no anchors or word boundaries and no
   class that takes a newline, so no piece of a scrubbed text, and no texts joined by newlines, match either.

Modules: patterns (the regexes), validators (checksums, phones), secret (pass A), candidate (pass B), shapes
(accounts, passports and passwords with no keyword, Solana/XRP), names (person names, scrub.names), scrub
(the column passes, `scrub_texts`, the stage core `run`), filter (`doppel scrub` as a stdin -> stdout filter), bip39.
`doppel bench scrub` scores all of it on the red-team set in tests/data/redteam/.
"""
