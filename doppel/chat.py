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
from typing import Callable, TextIO

from doppel import params as params_mod
from doppel.prompt import render_context

DEFAULTS = {
    "adapter": "models/adapter",
    "max_new_tokens": 128,
    "temperature": 0.8,
    "top_k": 50,
    "top_p": 0.95,
    "seed": None,       # an int makes replies reproducible (reply n of a conversation uses seed + n)
    "device": "auto",
    "precision": None,
    "context_tokens": None,  # conversation kept as context; null: build.context_tokens (what training saw)
}
COMMANDS = {"/reset": "forget the conversation so far", "/quit": "end the chat (also Ctrl-D)", "/help": "this list"}


class Conversation:
    """The running chat: turns (is_owner, text), oldest first, and how to ask the twin for the next reply."""

    def __init__(self, twin, system: str = "", sampling: dict | None = None, context_tokens: int | None = None):
        self.twin = twin
        self.system = system
        self.context_tokens = context_tokens
        self.sampling = dict(sampling or {})
        self.turns: list[tuple[bool, str]] = []
        self.replies = 0

    def reset(self) -> None:
        self.turns.clear()
        self.replies = 0

    def prompt(self) -> str:
        """The prompt for the next reply; the oldest turns are dropped (for good) until it fits."""
        new = int(self.sampling.get("max_new_tokens") or self.twin.defaults["max_new_tokens"])
        _, keep = self.twin._budget(new)
        if self.context_tokens:
            keep = min(keep, int(self.context_tokens))
        while True:
            prompt = self.twin.prompt_for(render_context(self.turns, self.system))
            if len(self.turns) <= 1 or self.twin.count_tokens(prompt) <= keep:
                return prompt  # a single over-long message is cut from the left by the twin itself
            self.turns.pop(0)

    def say(self, text: str, write: Callable[[str], object] = lambda s: None) -> str:
        """Add the other person's message, stream the twin's reply through `write`, return it."""
        self.turns.append((False, text))
        seed = self.sampling.get("seed")
        kwargs = {k: self.sampling.get(k) for k in ("max_new_tokens", "temperature", "top_k", "top_p")}
        pieces: list[str] = []
        try:
            for piece in self.twin.stream(self.prompt(), seed=None if seed is None else int(seed) + self.replies, **kwargs):
                pieces.append(piece)
                write(piece)
        finally:  # Ctrl-C mid-reply keeps what was said so far
            reply = "".join(pieces)
            self.replies += 1
            if reply:
                self.turns.append((True, reply))
        return reply


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="doppel chat", description="Talk to the twin in the terminal.")
    p.add_argument("-m", "--message", help="reply to this one message and exit")
    p.add_argument("--checkpoint", help="base litgpt checkpoint dir (default: the base stage's)")
    p.add_argument("--adapter", help="LoRA adapter dir (default: params chat.adapter, models/adapter)")
    p.add_argument("--no-adapter", action="store_true", help="the base model alone")
    p.add_argument("--max-new-tokens", type=int)
    p.add_argument("--temperature", type=float)
    p.add_argument("--top-k", type=int)
    p.add_argument("--top-p", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--device", help="auto, cpu, cuda, ...")
    p.add_argument("--precision", help="32-true, bf16-true, 16-true (default: bf16 on GPU, 32 on CPU)")
    p.add_argument("--params", default=str(params_mod.PARAMS_FILE), help="params file (sections `chat`, `build`)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None, stdin: TextIO | None = None, stdout: TextIO | None = None,
         stderr: TextIO | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    cfg = {**DEFAULTS, **params_mod.load("chat", args.params)}
    for key in ("adapter", "max_new_tokens", "temperature", "top_k", "top_p", "seed", "device", "precision"):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    build = params_mod.load("build", args.params)
    system = build.get("system_prompt", "") or ""
    context_tokens = cfg["context_tokens"] or build.get("context_tokens")

    from doppel import twin as twin_mod

    checkpoint = twin_mod.check_checkpoint(twin_mod.base_checkpoint(args.checkpoint, args.params))
    adapter = None if args.no_adapter else twin_mod.check_adapter(cfg["adapter"])
    twin = twin_mod.load(checkpoint, adapter, device=cfg["device"], precision=cfg["precision"])
    chat = Conversation(twin, system, {k: cfg[k] for k in ("max_new_tokens", "temperature", "top_k", "top_p", "seed")},
                        context_tokens)

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
    from doppel.cli import module_main

    module_main("chat")
