"""The params checks of doppel.config at their edges: a value exactly at each bound and one step past it, each
refused with its own message (not another check's wording)."""
from __future__ import annotations

import pytest

from conftest import cfg
from doppel.errors import InputError


@pytest.mark.parametrize("value,message", [
    (0, "build.val_share: input should be greater than 0 (got 0)"),
    (0.0, "build.val_share: input should be greater than 0 (got 0.0)"),
    (1, "build.val_share: input should be less than 1 (got 1)"),
    (-0.0001, "build.val_share: input should be greater than 0 (got -0.0001)"),
])
def test_val_share_bounds_are_refused_each_with_its_own_message(value, message):
    with pytest.raises(InputError) as err:
        cfg("build", val_share=value)
    assert str(err.value) == f"{err.value.path}: {message}" and err.value.path.endswith("params.yaml")


@pytest.mark.parametrize("value", [0.0001, 0.5, 0.9999])
def test_val_share_inside_the_bounds_is_taken(value):
    assert cfg("build", val_share=value).val_share == value
