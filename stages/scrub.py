"""scrub: messages -> kept messages with private data in their text replaced by typed placeholders.

<PHONE>, <EMAIL>, <CARD>, <IBAN>, <ACCOUNT>, <PASSPORT>, <INN>, <SNILS>, <SECRET>, <SEED_PHRASE>,
<CRYPTO_ADDRESS> (doppel.redact), <NAME> with `scrub.names`; the export's own phone/email/card entities too.
`doppel scrub` with none of --input/--output/--report filters stdin to stdout instead (doppel/redact/filter.py).
"""
import sys
import time

from doppel import config, io
from doppel.shell import script_main, stage_parser
from doppel.redact import scrub
from doppel.tables import MESSAGE


def main(argv: list[str] | None = None) -> int:
    args = stage_parser("scrub", __doc__, input=("data/interim/messages.parquet", "message table from ingest"),
                        output=("data/interim/messages_clean.parquet", "redacted message table"),
                        report="reports/scrub.json").parse_args(argv)
    cfg = config.load("scrub", args.params)
    start = time.perf_counter()
    messages = io.read_table(args.input, scrub.COLUMNS_READ, MESSAGE)
    clean, report = scrub.run(cfg, messages)
    io.write_parquet(clean, args.output)
    io.write_json(args.report, report)
    print(f"{scrub.summary(report)} in {time.perf_counter() - start:.2f}s -> {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    script_main(main)
