import json

import pytest
import torch

from llem_harness.errors import HarnessError
from llem_harness.flops import compute_params, estimate_flops
from llem_harness.model_loader import load_model, select_device
from llem_harness.settings import load_settings, settings_from_document

from conftest import base_config, make_settings


def test_device_selection_follows_cuda_and_gpus():
    assert select_device(None, False, 0).type == "cpu"
    assert select_device([0], True, 2, force_cpu=True).type == "cpu"
    assert str(select_device(None, True, 2)) == "cuda:0"
    assert str(select_device([1], True, 2)) == "cuda:1"
    with pytest.raises(HarnessError, match="GPU 3 but only 2"):
        select_device([3], True, 2)


def test_tiny_model_loads_offline_with_left_padding_and_the_asked_precision(tiny):
    assert tiny.tokenizer.padding_side == "left"
    assert tiny.eos_token_ids == [256] and tiny.pad_token_id == 257
    assert tiny.dtype == torch.float32 and tiny.device.type == "cpu"
    bf16 = load_model(make_settings(precision="bf16"))
    assert next(bf16.model.parameters()).dtype == torch.bfloat16


def test_tiny_model_weights_do_not_depend_on_the_experiment_seed():
    a = load_model(make_settings(random_seed=1)).model.transformer.h[0].attn.c_attn.weight
    b = load_model(make_settings(random_seed=2)).model.transformer.h[0].attn.c_attn.weight
    assert torch.equal(a, b)


def test_unknown_model_is_a_model_load_error():
    with pytest.raises(HarnessError) as info:
        load_model(make_settings(model="llem-test/definitely-not-a-model"))
    assert info.value.kind == "model-load" and "definitely-not-a-model" in info.value.message


def test_flops_exclude_embeddings_but_count_the_tied_lm_head(tiny):
    model = tiny.model
    all_params = sum(p.numel() for p in model.parameters())  # tied lm_head counted once (as wte)
    wpe = model.transformer.wpe.weight.numel()
    assert compute_params(model) == all_params - wpe
    flops = estimate_flops(model, [3, 5], [2, 1], 2.0)
    n = compute_params(model)
    attention = 2 * 2 * 64 * (5 * 6 + 6 * 7)
    assert flops["value"] == 2 * n * 11 + attention
    assert flops["flops_per_output_token"] == flops["value"] / 3
    assert flops["flops_per_second"] == flops["value"] / 2.0


def test_settings_reject_bad_documents(tmp_path):
    with pytest.raises(HarnessError, match="precision must be") as info:
        settings_from_document({"config": base_config(precision="int4")})
    assert info.value.kind == "config"
    with pytest.raises(HarnessError, match="config.model is required"):
        settings_from_document({"config": {"backend": "pytorch"}})
    with pytest.raises(HarnessError, match="only the pytorch backend"):
        settings_from_document({"config": base_config(backend="vllm")})
    bad = tmp_path / "c.json"
    bad.write_text("{not json")
    with pytest.raises(HarnessError, match="not valid JSON"):
        load_settings(str(bad))


def test_settings_read_the_resolved_config():
    s = settings_from_document({"experiment_id": "e", "config_hash": "h",
                                "config": base_config(pytorch={"batch_size": 3, "trust_remote_code": True},
                                                      decoder={"temperature": 0})})
    assert s.batch_size == 3 and s.trust_remote_code is True and s.decoder.greedy
    assert json.loads(json.dumps(s.dataset)) == {"source": "synthetic", "input_len": 8}
    assert make_settings(pytorch=None).trust_remote_code is False and make_settings(pytorch=None).batch_size == 1
