"""The twin's prompt as a Jinja chat template, for every runtime that formats OpenAI-style messages itself.

`chat_template(system)` renders a conversation into exactly the prompt doppel builds (`prompt.apply` of
`prompt.render_context`): the system line (a `system` message replaces the trained default), one
`Them: ...` line per user message and one `Me: ...` line per assistant message, oldest first, joined by
newlines; the generation prompt is `\\nMe:`. With `bos=True` the text starts with `{{ bos_token }}`, because
the twin's prompts start with BOS and the runtimes tokenize a rendered chat without adding special tokens.

The template writes nothing outside `{{- -}}` / `{%- -%}` tags, so it renders the same with and without
transformers' trim_blocks/lstrip_blocks (litgpt serve uses a plain `jinja2.Template`).
"""
from __future__ import annotations

import json

from doppel.prompt import OTHER_LABEL, OWNER_LABEL, apply

ROLES = {"user": OTHER_LABEL, "assistant": OWNER_LABEL}
SYSTEM_ROLES = ("system", "developer")


def literal(text: str) -> str:
    """`text` as a Jinja string literal. Jinja reads a literal's escapes as Python's unicode-escape, so
    non-ASCII characters stay as they are (no surrogate pairs) and quotes, backslashes, newlines are escaped."""
    return json.dumps(text, ensure_ascii=False)


def chat_template(system: str, bos: bool) -> str:
    """The Jinja chat template for a twin trained with the system line `system`."""
    role_lines = "".join(
        f"{{%- elif message['role'] == {literal(role)} -%}}"
        f"{{%- set ns.lines = ns.lines + [{literal(label + ': ')} + ns.text] -%}}\n"
        for role, label in ROLES.items()
    )
    system_test = " or ".join(f"message['role'] == {literal(r)}" for r in SYSTEM_ROLES)
    return (
        f"{{%- set ns = namespace(system={literal(system)}, lines=[], text='') -%}}\n"
        "{%- for message in messages -%}\n"
        "{%- if message['content'] is string -%}{%- set ns.text = message['content'] -%}\n"
        "{%- elif message['content'] is none -%}{%- set ns.text = '' -%}\n"
        "{%- else -%}{%- set ns.text = message['content'] | selectattr('type', 'equalto', 'text')"
        " | map(attribute='text') | join('\\n') -%}{%- endif -%}\n"
        f"{{%- if {system_test} -%}}{{%- set ns.system = ns.text -%}}\n"
        f"{role_lines}"
        "{%- else -%}{{- raise_exception('the twin knows the roles system, user (Them) and assistant (Me), not '"
        " + message['role']) -}}{%- endif -%}\n"
        "{%- endfor -%}\n"
        + ("{{- bos_token -}}\n" if bos else "")
        + "{{- (([ns.system] if ns.system else []) + ns.lines) | join('\\n') -}}\n"
        f"{{%- if add_generation_prompt -%}}{{{{- {literal(apply(''))} -}}}}{{%- endif -%}}"
    )


def render(messages: list[dict], system: str) -> str:
    """What the template renders with the generation prompt (no BOS): doppel's own prompt for `messages`.
    The reference the template is tested against, and what the litgpt prompt style builds."""
    from doppel.prompt import render_context

    turns: list[tuple[bool, str]] = []
    for m in messages:
        text = m.get("content") or ""
        if not isinstance(text, str):
            text = "\n".join(p["text"] for p in text if p.get("type") == "text")
        if m["role"] in SYSTEM_ROLES:
            system = text
        elif m["role"] in ROLES:
            turns.append((m["role"] == "assistant", text))
        else:
            raise ValueError(f"unknown role {m['role']!r}")
    return apply(render_context(turns, system))
