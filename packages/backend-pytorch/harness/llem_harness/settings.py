"""A typed view of the resolved experiment config the host hands over.

The host has already validated and defaulted the config (packages/core/src/config/experiment.ts);
defaults here only matter when the harness is run by hand with a partial file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .errors import HarnessError


@dataclass(frozen=True)
class DecoderSettings:
    temperature: float = 1.0
    do_sample: bool = True
    top_k: int = 50
    top_p: float = 1.0
    repetition_penalty: float = 1.0
    min_p: float | None = None
    min_new_tokens: int | None = None

    @property
    def greedy(self) -> bool:
        return self.temperature == 0 or not self.do_sample


@dataclass(frozen=True)
class WarmupSettings:
    enabled: bool = True
    n_warmup: int = 5
    convergence_detection: bool = False
    cv_threshold: float = 0.05
    window_size: int = 5
    min_prompts: int = 5
    max_prompts: int = 20
    thermal_floor_seconds: float = 0.0


@dataclass(frozen=True)
class Settings:
    experiment_id: str
    config_hash: str
    model: str
    n: int = 100
    dataset: dict[str, Any] = field(default_factory=lambda: {"source": "aienergyscore"})
    dataset_order: str = "interleaved"
    precision: str = "bf16"
    random_seed: int = 42
    max_input_tokens: int = 512
    max_output_tokens: int = 128
    gpus: list[int] | None = None
    decoder: DecoderSettings = field(default_factory=DecoderSettings)
    warmup: WarmupSettings = field(default_factory=WarmupSettings)
    pytorch: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def batch_size(self) -> int:
        value = self.pytorch.get("batch_size")
        return 1 if value is None else int(value)

    @property
    def trust_remote_code(self) -> bool:
        return bool(self.pytorch.get("trust_remote_code") or False)


def _pick(cls: type, data: Any, where: str) -> Any:
    if data is None:
        return cls()
    if not isinstance(data, dict):
        raise HarnessError(f"config.{where} must be an object, got {type(data).__name__}", "config")
    known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
    return cls(**known)


def settings_from_document(doc: Any) -> Settings:
    """Builds Settings from `{experiment_id, config_hash, config}`."""
    if not isinstance(doc, dict) or not isinstance(doc.get("config"), dict):
        raise HarnessError("the config file must be a JSON object with a `config` object", "config")
    cfg: dict[str, Any] = doc["config"]
    model = cfg.get("model")
    if not isinstance(model, str) or not model:
        raise HarnessError("config.model is required (an HF id, a local path or builtin:tiny-gpt2)", "config")
    backend = cfg.get("backend", "pytorch")
    if backend != "pytorch":
        raise HarnessError(f"config.backend is {backend!r}; this harness runs only the pytorch backend", "config")
    dataset = cfg.get("dataset", {"source": "aienergyscore"})
    if isinstance(dataset, str):  # shorthand, in case the host did not expand it
        dataset = {"source": "jsonl", "path": dataset} if dataset.endswith(".jsonl") else {"source": dataset}
    pytorch = cfg.get("pytorch") or {}
    if not isinstance(pytorch, dict):
        raise HarnessError("config.pytorch must be an object", "config")
    # gpus may be null on purpose (= all visible); other nulls mean "use the default".
    scalar_keys = ("n", "dataset_order", "precision", "random_seed", "max_input_tokens", "max_output_tokens")
    base: dict[str, Any] = {k: cfg[k] for k in scalar_keys if cfg.get(k) is not None}
    base["gpus"] = cfg.get("gpus")
    if base.get("precision", "bf16") not in ("fp32", "fp16", "bf16"):
        raise HarnessError(f"config.precision must be fp32, fp16 or bf16, got {base['precision']!r}", "config")
    if base.get("dataset_order", "interleaved") not in ("interleaved", "grouped", "shuffled"):
        raise HarnessError("config.dataset_order must be interleaved, grouped or shuffled", "config")
    return Settings(
        experiment_id=str(doc.get("experiment_id") or "unnamed"),
        config_hash=str(doc.get("config_hash") or ""),
        model=model,
        dataset=dataset,
        decoder=_pick(DecoderSettings, cfg.get("decoder"), "decoder"),
        warmup=_pick(WarmupSettings, cfg.get("warmup"), "warmup"),
        pytorch=pytorch,
        raw=cfg,
        **base,
    )


def load_settings(path: str) -> Settings:
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except OSError as exc:
        raise HarnessError(f"cannot read the config file {path}: {exc.strerror}", "config") from exc
    except json.JSONDecodeError as exc:
        raise HarnessError(f"the config file {path} is not valid JSON: {exc}", "config") from exc
    return settings_from_document(doc)
