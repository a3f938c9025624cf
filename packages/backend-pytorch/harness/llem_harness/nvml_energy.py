"""In-process NVML energy counters at the window edges: a cross-check for the host's meter.

Only when pynvml imports and the workload runs on a GPU; otherwise result.energy_cross_check is null.
"""

from __future__ import annotations

import logging
from typing import Any

import torch

log = logging.getLogger("llem_harness")


class NvmlEnergyReader:
    def __init__(self, pynvml: Any, handles: list[tuple[int, str, Any]]) -> None:
        self._nvml = pynvml
        self._handles = handles  # (torch index, uuid, handle)
        self._start: list[int] | None = None
        self._end: list[int] | None = None

    @classmethod
    def open(cls, device: torch.device) -> "NvmlEnergyReader | None":
        if device.type != "cuda":
            return None
        try:
            import pynvml

            pynvml.nvmlInit()
        except Exception as exc:
            log.info("NVML cross-check unavailable: %s", exc)
            return None
        try:
            index = device.index or 0
            handle = _handle_for(pynvml, index)
            uuid = pynvml.nvmlDeviceGetUUID(handle)
            uuid = uuid.decode() if isinstance(uuid, bytes) else str(uuid)
            pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)  # probe: older GPUs lack the counter
            return cls(pynvml, [(index, uuid, handle)])
        except Exception as exc:
            log.info("NVML energy counter unavailable: %s", exc)
            pynvml.nvmlShutdown()
            return None

    def _read(self) -> list[int]:
        return [int(self._nvml.nvmlDeviceGetTotalEnergyConsumption(h)) for _, _, h in self._handles]

    def start(self) -> None:
        self._start = self._read()

    def stop(self) -> None:
        self._end = self._read()

    def result(self) -> dict[str, Any] | None:
        if self._start is None or self._end is None:
            return None
        devices = [{"torch_index": i, "uuid": u, "start_mj": s, "end_mj": e, "energy_j": (e - s) / 1e3}
                   for (i, u, _), s, e in zip(self._handles, self._start, self._end)]
        return {"source": "nvml nvmlDeviceGetTotalEnergyConsumption (mJ), read in-process at the window edges",
                "devices": devices, "total_j": sum(d["energy_j"] for d in devices)}

    def close(self) -> None:
        try:
            self._nvml.nvmlShutdown()
        except Exception:
            pass


def _handle_for(pynvml: Any, torch_index: int) -> Any:
    """Maps a torch device index to an NVML handle by UUID (CUDA_VISIBLE_DEVICES renumbers devices)."""
    try:
        uuid = str(torch.cuda.get_device_properties(torch_index).uuid)
        for prefix in ("GPU-", "MIG-"):
            try:
                return pynvml.nvmlDeviceGetHandleByUUID(prefix + uuid)
            except Exception:
                continue
    except Exception:
        pass
    return pynvml.nvmlDeviceGetHandleByIndex(torch_index)
