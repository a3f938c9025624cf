"""Memory figures: CUDA allocator peaks on GPU, process RSS on CPU."""

from __future__ import annotations

import resource
from typing import Any

import torch

MIB = 1024 * 1024


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def model_memory(device: torch.device) -> float | None:
    return torch.cuda.memory_allocated(device) / MIB if device.type == "cuda" else None


def memory_section(device: torch.device, model_mb: float | None) -> dict[str, Any]:
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device) / MIB
        return {"kind": "cuda", "model_mb": model_mb, "peak_allocated_mb": peak,
                "peak_reserved_mb": torch.cuda.max_memory_reserved(device) / MIB,
                "inference_mb": None if model_mb is None else max(0.0, peak - model_mb),
                "scope": "peak over the measured window (allocator stats reset at window start)"}
    hwm = _status_kib("VmHWM")
    rss = _status_kib("VmRSS")
    return {"kind": "cpu-rss",
            "peak_rss_mb": (hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024,
            "rss_mb": None if rss is None else rss / 1024,
            "scope": "process peak RSS since start (model load included)"}
