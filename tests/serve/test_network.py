"""serve/network.py: the API-key strength warning, at the cap and one short of it, and that `doppel serve` prints
it (before it loads anything: a missing base ends the run right after)."""
from __future__ import annotations

import pytest

from conftest import ROOT, doppel
from doppel.serve.network import MIN_KEY_CHARS, weak_key_warning


@pytest.mark.parametrize("key,warned", [(None, False), ("", False), ("k" * 15, True), ("k" * 16, False),
                                        ("k" * 1, True), ("k" * 64, False)])
def test_a_key_shorter_than_16_characters_is_warned_about(key, warned):
    assert MIN_KEY_CHARS == 16
    warning = weak_key_warning(key)
    assert (warning is not None) == warned
    if warned:
        assert warning.startswith(f"doppel serve: warning: the API key is {len(key)} characters; use at least 16")


@pytest.mark.parametrize("length", [15, 16])
def test_serve_prints_the_warning_for_a_short_key(length, tmp_path):
    proc = doppel("serve", "--api-key", "k" * length, "--port", "0", "--base", tmp_path / "no-base", cwd=ROOT)
    assert proc.returncode == 2   # the missing base, after the warning
    lines = proc.stderr.splitlines()
    assert ("doppel serve: warning: the API key is 15 characters" in proc.stderr) == (length == 15), proc.stderr
    assert lines[-1].startswith("doppel serve: error:") and "no-base" in lines[-1]
