"""Loads the model and tokenizer: builtin:tiny-gpt2, an HF id or a local path."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import torch

from .errors import HarnessError
from .settings import Settings
from .tiny_gpt2 import BUILTIN_NAME, build_tiny_gpt2

log = logging.getLogger("llem_harness")

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}

# pytorch-section keys the loader itself consumes; any other key goes to the generate call or is ignored.
_FROM_PRETRAINED_KEYS = ("attn_implementation", "revision", "device_map", "max_memory")


def from_pretrained_kwargs(pt: dict[str, Any]) -> dict[str, Any]:
    """The section's loader keys plus the user's `from_pretrained_kwargs:` (the only place for free
    keys; the plugin's schema already refused ones that would fight a managed key)."""
    kwargs: dict[str, Any] = {k: pt[k] for k in _FROM_PRETRAINED_KEYS if pt.get(k) is not None}
    kwargs.update(pt.get("from_pretrained_kwargs") or {})
    return kwargs


@dataclass
class LoadedModel:
    model: Any
    tokenizer: Any
    device: torch.device
    dtype: torch.dtype
    eos_token_ids: list[int]
    pad_token_id: int
    max_positions: int | None


def select_device(gpus: list[int] | None, cuda_available: bool, device_count: int,
                  force_cpu: bool = False) -> torch.device:
    """CUDA when available and allowed. `gpus` lists physical indices; when the host has already
    narrowed CUDA_VISIBLE_DEVICES to those GPUs, the first visible one is cuda:0."""
    if force_cpu or not cuda_available or device_count == 0:
        return torch.device("cpu")
    if gpus is None or os.environ.get("CUDA_VISIBLE_DEVICES"):
        return torch.device("cuda:0")
    if gpus[0] >= device_count:
        raise HarnessError(f"config.gpus asks for GPU {gpus[0]} but only {device_count} are visible", "config")
    return torch.device(f"cuda:{gpus[0]}")


def _eos_ids(model: Any, tokenizer: Any) -> list[int]:
    eos = getattr(model.generation_config, "eos_token_id", None)
    if eos is None:
        eos = tokenizer.eos_token_id
    if eos is None:
        return []
    return [int(e) for e in eos] if isinstance(eos, (list, tuple)) else [int(eos)]


def _max_positions(model: Any) -> int | None:
    cfg = model.config
    for key in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(cfg, key, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def load_model(settings: Settings) -> LoadedModel:
    dtype = DTYPES[settings.precision]
    device = select_device(settings.gpus, torch.cuda.is_available(), torch.cuda.device_count(),
                           force_cpu=os.environ.get("LLEM_HARNESS_DEVICE") == "cpu")
    pt = settings.pytorch
    for key in ("load_in_4bit", "load_in_8bit"):
        if pt.get(key):
            raise HarnessError(f"pytorch.{key} needs bitsandbytes, which this harness does not install; "
                               "remove it or use precision fp16/bf16", "config")
    if settings.model == BUILTIN_NAME:
        model, tokenizer = build_tiny_gpt2()
        model = model.to(device=device, dtype=dtype)
    else:
        model, tokenizer = _load_pretrained(settings.model, pt, dtype, device, settings.trust_remote_code)
    tokenizer.padding_side = "left"  # decoder-only batches must be left padded (original bug 15.1)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    if tokenizer.pad_token_id is None:
        raise HarnessError(f"the tokenizer of {settings.model} has neither a pad nor an EOS token", "model-load")
    model.eval()
    if pt.get("torch_compile"):
        try:
            model.forward = torch.compile(model.forward, mode=pt.get("torch_compile_mode") or "default",
                                          backend=pt.get("torch_compile_backend") or "inductor")
        except Exception as exc:  # compile is an optimisation: report, do not fail the experiment
            log.warning("torch.compile failed, running eager: %s", exc)
    return LoadedModel(model=model, tokenizer=tokenizer, device=_model_device(model, device), dtype=dtype,
                       eos_token_ids=_eos_ids(model, tokenizer), pad_token_id=int(tokenizer.pad_token_id),
                       max_positions=_max_positions(model))


def _model_device(model: Any, fallback: torch.device) -> torch.device:
    try:
        return next(model.parameters()).device
    except StopIteration:
        return fallback


def _load_pretrained(name: str, pt: dict[str, Any], dtype: torch.dtype, device: torch.device,
                     trust_remote_code: bool) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs = from_pretrained_kwargs(pt)
    try:
        tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=trust_remote_code,
                                                  revision=kwargs.get("revision"))
        model = AutoModelForCausalLM.from_pretrained(name, dtype=dtype, trust_remote_code=trust_remote_code,
                                                     **kwargs)
    except (OSError, ValueError, EnvironmentError) as exc:
        hint = ""
        if os.environ.get("HF_HUB_OFFLINE") == "1":
            hint = " (HF_HUB_OFFLINE=1: only models already in the HF cache or local paths can load)"
        raise HarnessError(f"cannot load model {name!r}: {exc}{hint}", "model-load") from exc
    if "device_map" not in kwargs:
        model = model.to(device)
    return model, tokenizer
