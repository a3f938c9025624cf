"""The plugin forwards free from_pretrained keys only under `from_pretrained_kwargs:`."""

from llem_harness.model_loader import from_pretrained_kwargs


def test_managed_keys_and_free_kwargs_are_merged():
    pt = {"revision": "main", "device_map": None, "batch_size": 4,
          "from_pretrained_kwargs": {"low_cpu_mem_usage": True, "use_safetensors": True}}
    assert from_pretrained_kwargs(pt) == {"revision": "main", "low_cpu_mem_usage": True, "use_safetensors": True}


def test_generation_keys_never_reach_from_pretrained():
    assert from_pretrained_kwargs({"batch_size": 2, "num_beams": 3}) == {}
