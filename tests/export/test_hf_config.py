"""doppel.export.hf_config: generation_config.json carries the chat sampling as transformers reads it."""
from __future__ import annotations

import pytest

from support import twin as F
from doppel.export.hf_config import generation_config_json


@pytest.mark.parametrize("temperature", [0.0, 0])
def test_temperature_0_is_greedy_not_sampling(temperature):
    out = generation_config_json(F.sampling(max_new_tokens=7, temperature=temperature, top_k=40, top_p=0.9),
                                 ["\nThem:"], 1, 2)
    assert out == {"bos_token_id": 1, "eos_token_id": 2, "max_new_tokens": 7, "stop_strings": ["\nThem:"],
                   "do_sample": False}


@pytest.mark.parametrize("temperature,top_k,want_k", [(0.01, 40, 40), (0.8, None, 0), (1.5, 3, 3)])
def test_any_positive_temperature_samples_with_the_chat_settings(temperature, top_k, want_k):
    out = generation_config_json(F.sampling(max_new_tokens=5, temperature=temperature, top_k=top_k, top_p=0.95),
                                 [], None, 0)
    assert out["do_sample"] is True and out["temperature"] == temperature and out["top_p"] == 0.95
    assert out["top_k"] == want_k and out["max_new_tokens"] == 5 and out["stop_strings"] == []
