"""The params checks of the commands' sections (doppel/config/commands.py) exactly at each bound and one past."""
from __future__ import annotations

import pytest

from conftest import cfg
from doppel.errors import InputError


def test_serve_caps_exactly_at_and_one_past():
    assert cfg("serve", port=65535).port == 65535 and cfg("serve", port=0).port == 0
    for bad in (65536, -1):
        with pytest.raises(InputError, match=r"serve\.port"):
            cfg("serve", port=bad)
    assert cfg("serve", max_new_tokens=512, max_tokens_cap=512).max_new_tokens == 512
    with pytest.raises(InputError, match=r"serve\.max_new_tokens: must be at most max_tokens_cap"):
        cfg("serve", max_new_tokens=513, max_tokens_cap=512)


def test_quiz_bounds_exactly_at_and_one_past():
    assert cfg("quiz", port=65535).port == 65535 and cfg("quiz", rounds=1).rounds == 1
    assert cfg("quiz", context_turns=0).context_turns == 0 and cfg("quiz", precision=None).precision is None
    for key, bad in (("port", 65536), ("port", -1), ("rounds", 0), ("context_turns", -1), ("results", ""),
                     ("precision", "fp8")):
        with pytest.raises(InputError, match=rf"quiz\.{key}"):
            cfg("quiz", **{key: bad})
