import pytest

from llem_harness.latency import latency_section, request_timings, stats

MS = 1_000_000


def test_per_request_ttft_itl_tpot_from_step_timestamps():
    start = 1_000 * MS
    steps = [start + 50 * MS, start + 60 * MS, start + 75 * MS, start + 80 * MS]
    a, b, c = request_timings(start, steps, [4, 2, 1])
    assert a.ttft_ms == pytest.approx(50) and a.e2e_ms == pytest.approx(80)
    assert a.itl_ms == pytest.approx((10, 15, 5))
    assert a.tpot_ms == pytest.approx((80 - 50) / 3)
    assert b.itl_ms == pytest.approx((10,)) and b.e2e_ms == pytest.approx(60) and b.tpot_ms == pytest.approx(10)
    assert c.itl_ms == () and c.tpot_ms is None and c.e2e_ms == pytest.approx(50)


def test_stats_use_linear_percentiles_and_handle_empty():
    s = stats([float(x) for x in range(1, 101)])
    assert s["count"] == 100 and s["mean"] == pytest.approx(50.5)
    assert s["p50"] == pytest.approx(50.5) and s["p90"] == pytest.approx(90.1) and s["p99"] == pytest.approx(99.01)
    assert (s["min"], s["max"]) == (1.0, 100.0)
    assert stats([]) == {"count": 0, "mean": None, "p50": None, "p90": None, "p99": None, "min": None, "max": None}


def test_latency_section_pools_itl_over_requests_and_skips_single_token_tpot():
    start = 0
    timings = request_timings(start, [10 * MS, 20 * MS, 40 * MS], [3, 1])
    section = latency_section(timings)
    assert section["ttft_ms"]["count"] == 2
    assert section["itl_ms"]["count"] == 2 and section["itl_ms"]["max"] == pytest.approx(20)
    assert section["tpot_ms"]["count"] == 1
    assert set(section) == {"ttft_ms", "itl_ms", "tpot_ms", "e2e_ms", "method"}
