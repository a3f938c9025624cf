"""Shared fixtures: real torch + transformers on the CPU with builtin:tiny-gpt2, never the network."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

# Set before transformers is imported anywhere: no test may reach the network or a GPU.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["LLEM_HARNESS_DEVICE"] = "cpu"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
import torch  # noqa: E402

HARNESS_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HARNESS_DIR))

from llem_harness.model_loader import LoadedModel, load_model  # noqa: E402
from llem_harness.settings import Settings, settings_from_document  # noqa: E402

torch.set_num_threads(1)  # the suite shares 2 cores with other work


def base_config(**overrides: Any) -> dict[str, Any]:
    """A resolved config as the host would send it (small: tiny model, few prompts)."""
    cfg: dict[str, Any] = {
        "model": "builtin:tiny-gpt2", "backend": "pytorch", "n": 4,
        "dataset": {"source": "synthetic", "input_len": 8}, "dataset_order": "interleaved",
        "precision": "fp32", "random_seed": 42, "max_input_tokens": 64, "max_output_tokens": 16, "gpus": None,
        "decoder": {"temperature": 1, "do_sample": True, "top_k": 50, "top_p": 1, "repetition_penalty": 1,
                    "min_p": None, "min_new_tokens": None},
        "warmup": {"enabled": True, "n_warmup": 1, "convergence_detection": False, "cv_threshold": 0.05,
                   "window_size": 3, "min_prompts": 1, "max_prompts": 5, "thermal_floor_seconds": 0},
        "baseline": {"enabled": False, "duration_seconds": 30, "cache_ttl_seconds": 1800},
        "energy": {"enabled": True, "samplers": "auto"},
        "pytorch": {"batch_size": 2},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key] = {**cfg[key], **value}
        else:
            cfg[key] = value
    return cfg


def make_settings(**overrides: Any) -> Settings:
    return settings_from_document({"experiment_id": "test", "config_hash": "0" * 16, "config": base_config(**overrides)})


def write_config(tmp_path: Path, **overrides: Any) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"experiment_id": "exp-1", "config_hash": "f" * 16, "config": base_config(**overrides)}))
    return path


@pytest.fixture(scope="session")
def tiny() -> LoadedModel:
    return load_model(make_settings())
