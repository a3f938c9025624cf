"""The whole workload in process (synthetic prompts, forced EOS): counts and latency end to end."""

import io
import json

import pytest

from llem_harness.protocol import ProtocolWriter
from llem_harness.workload import run_workload

from conftest import make_settings
from test_generation import ForceEosAtStep


def test_forced_eos_counts_flow_into_the_result(tmp_path):
    settings = make_settings(n=4, dataset={"source": "synthetic", "input_len": 8}, max_output_tokens=10,
                             pytorch={"batch_size": 2}, warmup={"enabled": False})
    stream = io.StringIO()
    path = run_workload(settings, str(tmp_path), ProtocolWriter(stream), [ForceEosAtStep(8, [2, 99])])
    result = json.loads(open(path).read())
    # each batch: row 0 stops at step 2 (3 tokens with EOS), row 1 runs to max_output_tokens
    assert result["tokens"]["per_request_output"] == [3, 10, 3, 10]
    assert result["tokens"] | {"per_request_output": None} == {"input": 32, "output": 26, "total": 58,
                                                                "per_request_output": None}
    assert result["latency"]["ttft_ms"]["count"] == 4
    assert result["latency"]["itl_ms"]["count"] == 26 - 4
    assert result["latency"]["tpot_ms"]["count"] == 4
    assert result["warmup"]["enabled"] is False and result["warmup"]["iterations"] == 0
    assert result["throughput"]["output_tokens_per_s"] * result["window"]["duration_s"] == \
        pytest.approx(26)
    names = [json.loads(line[len("@@llem "):])["event"] for line in stream.getvalue().splitlines()]
    assert names == ["loaded", "warmup-done", "window-start", "progress", "progress", "window-end", "result"]
