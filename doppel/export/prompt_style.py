"""The litgpt prompt style of an exported litgpt dir (`prompt_style.yaml`), for `litgpt chat/generate/serve`.

litgpt builds a prompt style with no arguments from its class path, so the system line the twin was trained
with travels in the class name: `doppel.export.prompt_style.TwinMessage_<hex of the UTF-8 system line>`
(`class_path(system)`); this module makes that class on first access.

What it does with a prompt:
- a conversation already rendered (a line starting `Them: ` or `Me: `, as `litgpt serve --openai_spec` renders
  the chat template): the generation prompt `\\nMe:` is added, as `doppel.prompt.apply` does;
- anything else is one message from the other person: `system\\nThem: <message>\\nMe:`.
Generation stops at EOS and at the turn markers, as in `doppel chat`.
"""
from __future__ import annotations

from functools import cache

from doppel.prompt import OTHER_LABEL, OWNER_LABEL, apply, render_context

PREFIX = "TwinMessage_"


def class_path(system: str) -> str:
    return f"{__name__}.{PREFIX}{system.encode('utf-8').hex()}"


def twin_prompt(prompt: str, system: str) -> str:
    if prompt.endswith(apply("")):
        return prompt
    if any(line.startswith((f"{OTHER_LABEL}: ", f"{OWNER_LABEL}: ")) for line in prompt.split("\n")):
        return apply(prompt)
    return apply(render_context([(False, prompt)], system))


@cache
def _style(hex_system: str):
    from doppel.prompt import TwinChat  # its stop tokens: EOS and the turn markers

    system_line = bytes.fromhex(hex_system).decode("utf-8")

    class TwinMessage(TwinChat):
        system = system_line

        def apply(self, prompt: str, *, sys_prompt: str | None = None, **kwargs) -> str:
            return twin_prompt(prompt, self.system if sys_prompt is None else sys_prompt)

    TwinMessage.__module__ = __name__
    TwinMessage.__name__ = TwinMessage.__qualname__ = PREFIX + hex_system
    return TwinMessage


def __getattr__(name: str):
    if name.startswith(PREFIX):
        try:
            return _style(name[len(PREFIX):])
        except ValueError:  # not hex, or not UTF-8
            pass
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
