"""`doppel chat`: talk to the twin in the terminal.

You speak as the other person ("Them"), the twin answers as the owner ("Me"). The conversation so far is
the context (rendered like a training row, with the build stage's system prompt), trimmed from the oldest
turn to fit the model's context; the reply streams to stdout as it is generated.

    doppel chat                          # base + models/adapter; /reset starts over, /quit or Ctrl-D ends
    doppel chat --message "are you in?"  # one reply, then exit
    doppel chat --no-adapter             # the base model alone, for comparison
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from doppel import config
from doppel.model.checkpoint import HINT, resolve_checkpoint, validate_adapter, validate_checkpoint
from doppel.model.conversation import Conversation
from doppel.stage import ArgumentParser

COMMANDS = {"/reset": "forget the conversation so far", "/quit": "end the chat (also Ctrl-D)", "/help": "this list"}


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = ArgumentParser(prog="doppel chat", description="Talk to the twin in the terminal.")
    p.add_argument("-m", "--message", help="reply to this one message and exit")
    p.add_argument("--base", type=Path,
                   help="base checkpoint dir (default: the base stage's, from base.checkpoint_dir)")
    p.add_argument("--adapter", help="LoRA adapter dir (default: chat.adapter)")
    p.add_argument("--no-adapter", action="store_true", help="the base model alone")
    p.add_argument("--max-new-tokens", type=int, help="longest reply, in tokens (default: chat.max_new_tokens)")
    p.add_argument("--temperature", type=float, help="0: greedy (default: chat.temperature)")
    p.add_argument("--top-k", type=int, help="sample from the k likeliest tokens (default: chat.top_k)")
    p.add_argument("--top-p", type=float, help="nucleus sampling share (default: chat.top_p)")
    p.add_argument("--seed", type=int, help="reproducible replies: reply n uses seed + n (default: chat.seed)")
    p.add_argument("--device", help="auto, cpu, cuda, cuda:1 ... (default: chat.device)")
    p.add_argument("--precision", help="32-true, bf16-true, 16-true (default: chat.precision; null: bf16 on GPU, "
                                       "32-true on CPU)")
    p.add_argument("--params", type=Path, default=config.PARAMS_FILE,
                   help="params file: sections chat, build and base (default: params.yaml)")
    return p.parse_args(argv)


SAMPLING_KEYS = ("max_new_tokens", "temperature", "top_k", "top_p", "seed")


def load_twin(args: argparse.Namespace, cfg: config.ChatConfig):
    """The base (--base, else the base stage's) + the adapter unless --no-adapter, checked before loading."""
    from doppel.model.load import load

    base = args.base or resolve_checkpoint(config.load("base", args.params))
    base = validate_checkpoint(base.expanduser().resolve(), "base checkpoint", hint=HINT)
    adapter = None if args.no_adapter else validate_adapter(cfg.adapter)
    return load(base, adapter, device=cfg.device, precision=cfg.precision), base, adapter


def main(argv: list[str] | None = None, stdin: TextIO | None = None, stdout: TextIO | None = None,
         stderr: TextIO | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    flags = {k: getattr(args, k) for k in ("adapter", *SAMPLING_KEYS, "device", "precision")}
    cfg = config.load("chat", args.params, overrides={k: v for k, v in flags.items() if v is not None})
    build = config.load("build", args.params)
    twin, checkpoint, adapter = load_twin(args, cfg)
    chat = Conversation(twin, build.system_prompt, {k: getattr(cfg, k) for k in SAMPLING_KEYS},
                        cfg.context_tokens or build.context_tokens)

    def write(piece: str) -> None:
        stdout.write(piece)
        stdout.flush()

    if args.message is not None:
        chat.say(args.message, write)
        write("\n")
        return 0

    tty = stdin.isatty() and stdout.isatty()
    who = f"adapter {adapter}" if adapter else "base model, no adapter"
    print(f"doppel chat: {checkpoint.name} + {who} (context {twin.block_size} tokens). "
          "You are 'Them'; /reset starts over, /quit or Ctrl-D ends.", file=stderr)
    if tty:
        try:
            import readline  # noqa: F401  (line editing and history for input())
        except ImportError:
            pass
    while True:
        try:
            line = (input("you> ") + "\n") if tty else stdin.readline()
        except (EOFError, KeyboardInterrupt):
            line = ""
        if not line:  # EOF (Ctrl-D), or Ctrl-C at the prompt
            if tty:
                write("\n")
            return 0
        text = line.rstrip("\r\n")
        command = text.strip().lower()
        if not command:
            continue
        if command in ("/quit", "/exit", "/q"):
            return 0
        if command == "/reset":
            chat.reset()
            print("(conversation reset)", file=stderr)
            continue
        if command in ("/help", "/?"):
            print("\n".join(f"  {c:<7} {t}" for c, t in COMMANDS.items()), file=stderr)
            continue
        if tty:
            write("twin> ")
        try:
            chat.say(text, write)
        except KeyboardInterrupt:
            write(" [interrupted]")
        write("\n")


if __name__ == "__main__":
    from doppel.cli import main as doppel_main

    sys.exit(doppel_main(["chat", *sys.argv[1:]]))
