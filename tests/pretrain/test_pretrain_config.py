"""PretrainConfig.from_dict reads values as strictly as the fine-tuning configs (E402) and validate checks ranges."""

from __future__ import annotations

import pytest

from biobert.errors import ConfigError
from biobert.pretrain.loop import PretrainConfig


def test_yaml_strings_that_are_numbers() -> None:
    # PyYAML reads `lr: 2e-5` as a string
    cfg = PretrainConfig.from_dict({"corpus": "a.txt", "lr": "2e-5", "max_steps": "3", "batch_size": 4.0})
    assert cfg.lr == 2e-5 and cfg.max_steps == 3 and cfg.batch_size == 4 and cfg.corpus == ["a.txt"]
    cfg.validate()


@pytest.mark.parametrize("key, value", [
    ("mask_prob", "abc"),
    ("whole_word_mask", "false"),  # bool("false") would turn whole-word masking on
    ("cpu", "no"),
    ("batch_size", 2.5),
    ("max_steps", True),
    ("model_config", 5),
    ("corpus", 3),
    ("warmup_steps", "x"),
])
def test_bad_types_are_config_errors(key: str, value: object) -> None:
    with pytest.raises(ConfigError) as exc:
        PretrainConfig.from_dict({"corpus": ["a.txt"], key: value})
    assert str(exc.value).startswith(f"E402 {key}")


def test_optional_and_mapping_values() -> None:
    cfg = PretrainConfig.from_dict({"corpus": ["a.txt"], "warmup_steps": None, "model_config": {"hidden_size": 64},
                                    "whole_word_mask": True, "cpu": False})
    assert cfg.model_config == {"hidden_size": 64} and cfg.whole_word_mask is True and cfg.cpu is False


@pytest.mark.parametrize("key, value", [("lr", -1.0), ("lr", 0.0), ("warmup_ratio", 1.0), ("warmup_steps", -1),
                                        ("weight_decay", -0.1), ("generator_scale", 0.0), ("generator_scale", 1.5)])
def test_ranges(key: str, value: float) -> None:
    with pytest.raises(ConfigError, match=f"E470 {key}"):
        PretrainConfig.from_dict({"corpus": ["a.txt"], key: value}).validate()
