"""The measured workload, in the order the host relies on:
load -> warmup -> thermal wait -> window-start -> measured generation -> window-end -> result.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import time
from typing import Any

import numpy as np
import torch

from . import __version__
from .atomic_write import write_json_atomic
from .environment import collect_environment
from .flops import estimate_flops
from .generation import BatchGenerator, BatchOutcome, batches
from .latency import latency_section
from .memory import memory_section, model_memory, reset_peak
from .model_loader import load_model
from .nvml_energy import NvmlEnergyReader
from .prompts import Prompt, load_prompts
from .protocol import ProtocolWriter
from .settings import Settings
from .warmup import run_warmup, thermal_wait, timed

log = logging.getLogger("llem_harness")

RESULT_FILE = "workload-result.json"


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # seeds every CUDA device too


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _utc(ns_since_epoch: int) -> str:
    return dt.datetime.fromtimestamp(ns_since_epoch / 1e9, tz=dt.timezone.utc).isoformat().replace("+00:00", "Z")


def run_workload(settings: Settings, out_dir: str, protocol: ProtocolWriter,
                 extra_logits_processors: list[Any] | None = None) -> str:
    """Runs the experiment and writes `<out_dir>/workload-result.json`; returns its path."""
    seed_everything(settings.random_seed)
    t_load = time.monotonic()
    synthetic = settings.dataset.get("source") == "synthetic"
    prompts: list[Prompt] = [] if synthetic else load_prompts(
        settings.dataset, settings.n, settings.dataset_order, settings.random_seed)  # fail fast, before the model
    loaded = load_model(settings)
    if synthetic:
        prompts = load_prompts(settings.dataset, settings.n, settings.dataset_order, settings.random_seed,
                               loaded.tokenizer)
    model_mb = model_memory(loaded.device)
    protocol.emit("loaded", load_seconds=round(time.monotonic() - t_load, 3))

    generator = BatchGenerator(loaded, settings, extra_logits_processors)
    size = settings.batch_size

    def warmup_batch(i: int) -> None:
        generator.run_batch([prompts[(i * size + k) % len(prompts)] for k in range(size)])

    warmup = run_warmup(settings.warmup, size, timed(warmup_batch))
    protocol.emit("warmup-done", prompts=int(warmup["prompts"]))  # type: ignore[call-overload]
    warmup["thermal_floor_wait_s"] = thermal_wait(settings.warmup)

    seed_everything(settings.random_seed)  # measured outputs do not depend on how much warmup ran
    energy = NvmlEnergyReader.open(loaded.device)
    reset_peak(loaded.device)
    synchronize(loaded.device)
    if energy:
        energy.start()
    start_ns = time.monotonic_ns()
    start_wall = time.time_ns()
    protocol.emit("window-start", t_mono_ns=start_ns)

    outcomes: list[BatchOutcome] = []
    done = 0
    for batch in batches(prompts, size):
        outcomes.append(generator.run_batch(batch))
        done += len(batch)
        protocol.emit("progress", done=done, total=len(prompts))

    synchronize(loaded.device)
    end_ns = time.monotonic_ns()
    if energy:
        energy.stop()
    end_wall = start_wall + (end_ns - start_ns)
    protocol.emit("window-end", t_mono_ns=end_ns)

    result = build_result(settings, loaded, outcomes, warmup, start_ns, end_ns, start_wall, end_wall,
                          memory_section(loaded.device, model_mb), energy.result() if energy else None,
                          generator)
    if energy:
        energy.close()
    path = os.path.join(out_dir, RESULT_FILE)
    write_json_atomic(path, result)
    protocol.emit("result", path=os.path.abspath(path))
    return path


def build_result(settings: Settings, loaded: Any, outcomes: list[BatchOutcome], warmup: dict[str, Any],
                 start_ns: int, end_ns: int, start_wall: int, end_wall: int, memory: dict[str, Any],
                 energy: dict[str, Any] | None, generator: BatchGenerator) -> dict[str, Any]:
    import transformers

    duration = (end_ns - start_ns) / 1e9
    inputs = [x for o in outcomes for x in o.input_tokens]
    outputs = [x for o in outcomes for x in o.output_tokens]
    n_in, n_out = sum(inputs), sum(outputs)
    all_timed = all(o.timings is not None for o in outcomes)
    latency = latency_section([t for o in outcomes for t in (o.timings or [])]) if all_timed and outcomes else None
    warnings = list(generator.warnings)
    if duration <= 0:
        warnings.append("the measured window has zero length")
    rate = (lambda x: x / duration) if duration > 0 else (lambda x: 0.0)
    try:
        flops = estimate_flops(loaded.model, inputs, outputs, duration)
    except Exception as exc:  # an estimate must not sink a measurement
        flops = None
        warnings.append(f"flops estimate failed: {exc}")
    gc = generator.generation_config
    return {
        "workload_schema_version": 1,
        "backend": "pytorch",
        "backend_version": transformers.__version__,
        "model": settings.model,
        "window": {"start_mono_ns": str(start_ns), "end_mono_ns": str(end_ns), "start_utc": _utc(start_wall),
                   "end_utc": _utc(end_wall), "duration_s": duration},
        "requests": len(outputs),
        "batches": len(outcomes),
        "tokens": {"input": n_in, "output": n_out, "total": n_in + n_out, "per_request_output": outputs},
        "throughput": {"output_tokens_per_s": rate(n_out), "total_tokens_per_s": rate(n_in + n_out),
                       "requests_per_s": rate(len(outputs))},
        "latency": latency,
        "warmup": warmup,
        "memory": memory,
        "flops": flops,
        "environment": collect_environment(loaded.device),
        "energy_cross_check": energy,
        "warnings": warnings,
        "extra": {
            "harness_version": __version__,
            "experiment_id": settings.experiment_id,
            "config_hash": settings.config_hash,
            "device": str(loaded.device),
            "dtype": str(loaded.dtype).replace("torch.", ""),
            "batch_size": settings.batch_size,
            "max_input_tokens_effective": generator.max_input_tokens,
            "per_request_input": inputs,
            "dataset": {**settings.dataset, "order": settings.dataset_order, "n": settings.n},
            "random_seed": settings.random_seed,
            "eos_token_ids": loaded.eos_token_ids,
            "generation": {k: getattr(gc, k, None) for k in (
                "do_sample", "temperature", "top_k", "top_p", "min_p", "repetition_penalty", "min_new_tokens",
                "max_new_tokens", "num_beams", "use_cache")},
            "token_counting": "input = attention-mask sum (no padding); output = new tokens up to and including "
                              "the first EOS (no post-EOS padding)",
        },
    }
