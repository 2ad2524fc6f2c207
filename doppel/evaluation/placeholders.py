"""How often a model's replies show a scrub placeholder: `placeholder_share_base` / `placeholder_share_tuned`
in metrics/eval.json, the share of the generated replies with a placeholder in them: "<" and a placeholder
type (<PHONE>, <NAME>, ... and cut ones such as "<PHONE:"), or the type's name written bare in capitals
("трёхNAME": patterns.BARE_TYPE_RE)."""
from __future__ import annotations

import re

from doppel.redact.patterns import BARE_TYPE_RE, TYPES

PLACEHOLDER = re.compile("<(?:" + "|".join(TYPES) + ")|" + BARE_TYPE_RE)


def share(replies: list[str]) -> float:
    """Share of replies with a placeholder in them (0.0 for no replies)."""
    if not replies:
        return 0.0
    return round(sum(bool(PLACEHOLDER.search(r)) for r in replies) / len(replies), 4)


def shares(base: list[str], tuned: list[str]) -> dict[str, float]:
    return {"placeholder_share_base": share(base), "placeholder_share_tuned": share(tuned)}
