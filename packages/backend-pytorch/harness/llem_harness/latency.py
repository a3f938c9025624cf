"""Per-request latency from per-step timestamps, named as vLLM and AIPerf define them.

For a request whose batch started at t0 (before tokenization) and whose k-th token was available
at t[k] (k = 0 .. out-1, out = its tokens up to and including EOS):
- TTFT = t[0] - t0
- ITL  = t[k] - t[k-1] for k >= 1 (pooled over all requests, as vLLM does)
- E2E  = t[out-1] - t0
- TPOT = (E2E - TTFT) / (out - 1), only for requests with out >= 2
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

METHOD = ("per-step timestamps: time.monotonic_ns() when generate() hands each step's tokens to a "
          "streamer (after the device-to-host copy, so the token exists); request start = batch start "
          "before tokenization; steps after a sequence's first EOS are not attributed to it")


@dataclass(frozen=True)
class RequestTiming:
    ttft_ms: float
    e2e_ms: float
    itl_ms: tuple[float, ...]
    tpot_ms: float | None


def request_timings(start_ns: int, step_ns: list[int], output_tokens: list[int]) -> list[RequestTiming]:
    timings = []
    for out in output_tokens:
        if out == 0:
            continue
        t = step_ns[:out]
        ttft = (t[0] - start_ns) / 1e6
        e2e = (t[-1] - start_ns) / 1e6
        itl = tuple((b - a) / 1e6 for a, b in zip(t, t[1:]))
        tpot = (e2e - ttft) / (out - 1) if out >= 2 else None
        timings.append(RequestTiming(ttft_ms=ttft, e2e_ms=e2e, itl_ms=itl, tpot_ms=tpot))
    return timings


def stats(values: list[float]) -> dict[str, float | int | None]:
    """count/mean/p50/p90/p99/min/max (numpy linear-interpolated percentiles, like vLLM's benchmarks)."""
    if not values:
        return {"count": 0, "mean": None, "p50": None, "p90": None, "p99": None, "min": None, "max": None}
    arr = np.asarray(values, dtype=np.float64)
    p50, p90, p99 = np.percentile(arr, [50, 90, 99])
    return {"count": int(arr.size), "mean": float(arr.mean()), "p50": float(p50), "p90": float(p90),
            "p99": float(p99), "min": float(arr.min()), "max": float(arr.max())}


def latency_section(timings: list[RequestTiming]) -> dict[str, object]:
    return {
        "ttft_ms": stats([t.ttft_ms for t in timings]),
        "itl_ms": stats([x for t in timings for x in t.itl_ms]),
        "tpot_ms": stats([t.tpot_ms for t in timings if t.tpot_ms is not None]),
        "e2e_ms": stats([t.e2e_ms for t in timings]),
        "method": METHOD,
    }
