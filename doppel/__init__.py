"""doppel: a Telegram history -> LoRA-tuned digital twin, as a DVC pipeline.

Two layers: the DVC stages are short scripts in the project's `stages/` folder; everything they share is this
library. Each data stage has a pure core here (ingest, redact.scrub, segment, build: frames in, frames out; base,
training, evaluation), each other command a package whose `command.py` parses flags and calls the library
(chat, serve, bot, export, sample, bench, telegram.fetch). `doppel.cli` is the `doppel` command. Values come
only from params.yaml, read through `doppel.config`.
"""
