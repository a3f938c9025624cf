"""Warmup before the measured window (original spec 5.6, without its bugs 15.7: results are kept,
and n_warmup is honoured in CV mode as a floor).

One iteration is one batch of pytorch.batch_size prompts, cycled from the dataset.
- fixed mode: ceil(n_warmup / batch_size) iterations;
- CV mode: stop when the CV (population std / mean) of the last window_size batch latencies falls
  below cv_threshold; run at least max(min_prompts, n_warmup) prompts and window_size batches, and
  at most max_prompts prompts (raised to one full window when batches are large).
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Callable

from .settings import WarmupSettings


def coefficient_of_variation(values: list[float]) -> float:
    mean = statistics.fmean(values)
    return 0.0 if mean == 0 else statistics.pstdev(values) / mean


def run_warmup(cfg: WarmupSettings, batch_size: int, measure: Callable[[int], float]) -> dict[str, object]:
    """`measure(i)` runs warmup batch i and returns its latency in ms (see `timed`); returns the
    record kept in result.warmup."""
    record: dict[str, object] = {
        "enabled": cfg.enabled, "mode": "cv" if cfg.convergence_detection else "fixed", "iterations": 0,
        "prompts": 0, "latencies_ms": [], "converged": None, "final_cv": None, "target_cv": None,
        "thermal_floor_wait_s": 0.0,
    }
    if not cfg.enabled:
        return record
    latencies: list[float] = []
    if cfg.convergence_detection:
        window = cfg.window_size
        floor = max(math.ceil(max(cfg.min_prompts, cfg.n_warmup) / batch_size), window)
        cap = max(floor, math.ceil(cfg.max_prompts / batch_size))
        converged, cv = False, None
        while len(latencies) < cap:
            latencies.append(measure(len(latencies)))
            if len(latencies) >= floor:
                cv = coefficient_of_variation(latencies[-window:])
                if cv < cfg.cv_threshold:
                    converged = True
                    break
        record.update(converged=converged, final_cv=cv, target_cv=cfg.cv_threshold)
    else:
        for i in range(math.ceil(cfg.n_warmup / batch_size)):
            latencies.append(measure(i))
        tail = latencies[-cfg.window_size:]
        record.update(final_cv=coefficient_of_variation(tail) if len(tail) >= 2 else None)
    record.update(iterations=len(latencies), prompts=len(latencies) * batch_size, latencies_ms=latencies)
    return record


def timed(run_batch: Callable[[int], None]) -> Callable[[int], float]:
    """Wraps a batch runner into a `measure` that returns wall-clock milliseconds."""

    def measure(i: int) -> float:
        t0 = time.perf_counter()
        run_batch(i)
        return (time.perf_counter() - t0) * 1e3

    return measure


def thermal_wait(cfg: WarmupSettings, sleep: Callable[[float], None] = time.sleep) -> float:
    """Waits thermal_floor_seconds after warmup (only when warmup ran); returns the seconds waited."""
    if not cfg.enabled or cfg.thermal_floor_seconds <= 0:
        return 0.0
    t0 = time.monotonic()
    sleep(cfg.thermal_floor_seconds)
    return time.monotonic() - t0
