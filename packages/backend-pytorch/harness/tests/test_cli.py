"""The real entry point in a subprocess: protocol on stdout, result file, error path."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import HARNESS_DIR, write_config

REPO_ROOT = HARNESS_DIR.parents[2]
TSX = REPO_ROOT / "node_modules" / ".bin" / "tsx"
EVENT_PREFIX = "@@llem "
# One thread per child: on a shared 2-core machine OpenMP spin-waits would multiply the run time.
CHILD_ENV = {"PYTHONPATH": str(HARNESS_DIR), "OMP_NUM_THREADS": "1"}


def start_harness(config: Path, out: Path, **env: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "llem_harness", "--config", str(config), "--out", str(out)],
                            cwd=HARNESS_DIR, env={**os.environ, **CHILD_ENV, **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen) -> subprocess.CompletedProcess:
    stdout, stderr = proc.communicate(timeout=180)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def run_harness(config: Path, out: Path, **env: str) -> subprocess.CompletedProcess:
    return finish(start_harness(config, out, **env))


def events(stdout: str) -> list[dict]:
    lines = stdout.splitlines()
    assert all(line.startswith(EVENT_PREFIX) for line in lines), f"non-protocol output on stdout: {lines}"
    return [json.loads(line[len(EVENT_PREFIX):]) for line in lines]


# Every key of WorkloadResultSchema (packages/core/src/results/workload-result.ts); nested ones are strict.
RESULT_KEYS = {"workload_schema_version", "backend", "backend_version", "model", "window", "requests", "batches",
               "tokens", "throughput", "latency", "warmup", "memory", "flops", "environment",
               "energy_cross_check", "warnings", "extra"}
STATS_KEYS = {"count", "mean", "p50", "p90", "p99", "min", "max"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The successful run and the bad-model run, started together to halve the wall time."""
    tmp = tmp_path_factory.mktemp("run")
    prompts = tmp / "prompts.jsonl"
    prompts.write_text("\n".join([json.dumps({"_provenance": "test"})] +
                                 [json.dumps({"prompt": f"Prompt number {i} " * (i + 1)}) for i in range(5)]))
    config = write_config(tmp, n=5, dataset={"source": "jsonl", "path": str(prompts)}, max_output_tokens=8,
                          pytorch={"batch_size": 2})
    bad_dir = tmp / "bad"
    bad_dir.mkdir()
    bad_config = write_config(bad_dir, model="llem-test/no-such-model")
    happy = start_harness(config, tmp / "out")
    bad = start_harness(bad_config, bad_dir / "out")
    return {"happy": (finish(happy), tmp / "out"), "bad": (finish(bad), bad_dir / "out")}


@pytest.fixture(scope="module")
def happy_run(runs):
    return runs["happy"]


def test_events_come_in_protocol_order_and_stdout_holds_nothing_else(happy_run):
    proc, out = happy_run
    assert proc.returncode == 0, proc.stderr
    evs = events(proc.stdout)
    names = [e["event"] for e in evs]
    assert names == ["loaded", "warmup-done", "window-start", "progress", "progress", "progress", "window-end",
                     "result"]
    assert [(e["done"], e["total"]) for e in evs if e["event"] == "progress"] == [(2, 5), (4, 5), (5, 5)]
    assert all(e["v"] == 1 and isinstance(e["t_mono_ns"], str) and e["t_mono_ns"].isdigit() for e in evs)
    times = [int(e["t_mono_ns"]) for e in evs]
    assert times == sorted(times)
    assert evs[-1]["path"] == str(out / "workload-result.json")
    assert evs[1]["prompts"] == 2  # n_warmup=1 with batch_size 2 -> one warmup batch of 2 prompts


def test_result_file_matches_the_window_events_and_the_schema_keys(happy_run):
    proc, out = happy_run
    result = json.loads((out / "workload-result.json").read_text())
    evs = {e["event"]: e for e in events(proc.stdout)}
    assert set(result) == RESULT_KEYS
    assert result["window"]["start_mono_ns"] == evs["window-start"]["t_mono_ns"]
    assert result["window"]["end_mono_ns"] == evs["window-end"]["t_mono_ns"]
    assert set(result["window"]) == {"start_mono_ns", "end_mono_ns", "start_utc", "end_utc", "duration_s"}
    assert result["requests"] == 5 and result["batches"] == 3
    tokens = result["tokens"]
    assert set(tokens) == {"input", "output", "total", "per_request_output"}
    # one token per byte, the longest prompt cut at max_input_tokens=64
    assert tokens["input"] == sum(min(64, len((f"Prompt number {i} " * (i + 1)).strip().encode())) for i in range(5))
    assert tokens["output"] == sum(tokens["per_request_output"]) and tokens["total"] == tokens["input"] + tokens["output"]
    assert all(1 <= n <= 8 for n in tokens["per_request_output"])
    assert set(result["throughput"]) == {"output_tokens_per_s", "total_tokens_per_s", "requests_per_s"}
    latency = result["latency"]
    assert set(latency) == {"ttft_ms", "itl_ms", "tpot_ms", "e2e_ms", "method"}
    assert all(set(latency[k]) == STATS_KEYS for k in ("ttft_ms", "itl_ms", "tpot_ms", "e2e_ms"))
    assert latency["ttft_ms"]["count"] == 5
    assert latency["itl_ms"]["count"] == tokens["output"] - 5
    assert result["energy_cross_check"] is None  # CPU run
    assert result["warmup"]["iterations"] == 1 and result["flops"]["value"] > 0
    assert result["environment"]["torch"] and result["extra"]["config_hash"] == "f" * 16
    assert not list(out.glob(".tmp-*")) and not (out / "error.json").exists()


@pytest.mark.skipif(not TSX.exists() or shutil.which("node") is None, reason="node/tsx not installed")
def test_result_and_events_validate_against_the_core_zod_schemas(happy_run, tmp_path):
    proc, out = happy_run
    stdout = tmp_path / "stdout.txt"
    stdout.write_text(proc.stdout)
    check = subprocess.run([str(TSX), str(HARNESS_DIR / "tests" / "validate_with_core.ts"),
                            str(out / "workload-result.json"), str(stdout)],
                           cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr + check.stdout


def test_bad_model_gives_error_event_error_json_and_non_zero_exit(runs):
    proc, out = runs["bad"]
    assert proc.returncode == 1
    evs = events(proc.stdout)
    assert [e["event"] for e in evs] == ["error"]
    assert evs[0]["kind"] == "model-load" and "no-such-model" in evs[0]["message"]
    error = json.loads((out / "error.json").read_text())
    assert error["kind"] == "model-load" and error["message"] == evs[0]["message"]
    assert "Traceback" in error["traceback"]
    assert not (out / "workload-result.json").exists()


def test_bad_config_file_exits_2_with_a_config_error(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"config": {"model": "builtin:tiny-gpt2", "precision": "int3"}}))
    proc = run_harness(config, tmp_path / "out")
    assert proc.returncode == 2
    assert [e["event"] for e in events(proc.stdout)] == ["error"]
    assert json.loads((tmp_path / "out" / "error.json").read_text())["kind"] == "config"


def test_sigterm_during_the_thermal_wait_reports_interrupted(tmp_path):
    import signal

    config = write_config(tmp_path, warmup={"thermal_floor_seconds": 600})
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "llem_harness", "--config", str(config), "--out", str(out)],
                            cwd=HARNESS_DIR, env={**os.environ, **CHILD_ENV},
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        seen = []
        for line in proc.stdout:
            seen.append(json.loads(line[len(EVENT_PREFIX):])["event"])
            if seen[-1] == "warmup-done":
                proc.send_signal(signal.SIGTERM)
                break
        rest = proc.stdout.read()
        assert proc.wait(timeout=60) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
    assert seen == ["loaded", "warmup-done"]
    assert [e["event"] for e in events(rest)] == ["error"] and events(rest)[0]["kind"] == "interrupted"
    assert json.loads((out / "error.json").read_text())["kind"] == "interrupted"
