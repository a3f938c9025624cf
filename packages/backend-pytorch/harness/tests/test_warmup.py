from llem_harness.settings import WarmupSettings
from llem_harness.warmup import run_warmup, thermal_wait


def feed(latencies):
    calls = []

    def measure(i):
        calls.append(i)
        return latencies[i]

    return measure, calls


def test_fixed_mode_runs_n_warmup_prompts_in_batches():
    measure, calls = feed([10.0] * 10)
    record = run_warmup(WarmupSettings(n_warmup=5), 2, measure)
    assert calls == [0, 1, 2]
    assert record["prompts"] == 6 and record["iterations"] == 3 and record["mode"] == "fixed"
    assert record["latencies_ms"] == [10.0, 10.0, 10.0]


def test_cv_mode_stops_when_the_window_is_stable_but_not_before_the_floor():
    measure, calls = feed([100.0, 50.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0])
    cfg = WarmupSettings(convergence_detection=True, window_size=3, min_prompts=1, n_warmup=1, max_prompts=9,
                         cv_threshold=0.05)
    record = run_warmup(cfg, 1, measure)
    assert record["converged"] is True and record["iterations"] == 5 and record["final_cv"] == 0.0
    # n_warmup is a floor in CV mode (the original ignored it)
    measure, calls = feed([10.0] * 9)
    record = run_warmup(WarmupSettings(convergence_detection=True, window_size=3, min_prompts=1, n_warmup=7,
                                       max_prompts=9), 1, measure)
    assert record["iterations"] == 7 and record["converged"] is True


def test_cv_mode_gives_up_at_max_prompts():
    measure, calls = feed([10.0, 30.0] * 5)
    record = run_warmup(WarmupSettings(convergence_detection=True, window_size=3, min_prompts=3, n_warmup=1,
                                       max_prompts=6), 1, measure)
    assert record["converged"] is False and record["iterations"] == 6 and record["final_cv"] > 0.05


def test_disabled_warmup_runs_nothing_and_skips_the_thermal_wait():
    measure, calls = feed([])
    record = run_warmup(WarmupSettings(enabled=False), 4, measure)
    assert calls == [] and record["prompts"] == 0
    slept = []
    assert thermal_wait(WarmupSettings(enabled=False, thermal_floor_seconds=30), slept.append) == 0.0
    thermal_wait(WarmupSettings(thermal_floor_seconds=30), slept.append)
    assert slept == [30]


def test_cv_mode_with_large_batches_still_fills_one_window():
    measure, calls = feed([10.0] * 9)
    record = run_warmup(WarmupSettings(convergence_detection=True, window_size=3, min_prompts=3, n_warmup=5,
                                       max_prompts=12), 8, measure)
    assert record["iterations"] == 3 and record["converged"] is True and record["prompts"] == 24
