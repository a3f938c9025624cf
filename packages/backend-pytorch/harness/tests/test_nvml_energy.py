"""The NVML cross-check arithmetic, against a stand-in for pynvml (this machine has no GPU/NVML)."""

import torch

from llem_harness.nvml_energy import NvmlEnergyReader


class FakeNvml:
    """Boundary stand-in: a total-energy counter (mJ) that advances 1500 mJ per read."""

    def __init__(self):
        self.counter = 10_000
        self.shutdowns = 0

    def nvmlDeviceGetTotalEnergyConsumption(self, handle):
        self.counter += 1500
        return self.counter

    def nvmlShutdown(self):
        self.shutdowns += 1


def test_energy_between_window_edges_in_joules():
    nvml = FakeNvml()
    reader = NvmlEnergyReader(nvml, [(0, "GPU-abc", object())])
    assert reader.result() is None
    reader.start()
    reader.stop()
    result = reader.result()
    assert result["devices"][0] == {"torch_index": 0, "uuid": "GPU-abc", "start_mj": 11_500, "end_mj": 13_000,
                                    "energy_j": 1.5}
    assert result["total_j"] == 1.5
    reader.close()
    assert nvml.shutdowns == 1


def test_no_cross_check_on_cpu():
    assert NvmlEnergyReader.open(torch.device("cpu")) is None
