import json

import pytest

from llem_harness.errors import HarnessError
from llem_harness.prompts import load_prompts, locate_aienergyscore, synthetic_prompts


def write_jsonl(path, records, header=True):
    lines = [json.dumps({"_provenance": "test", "_license": "x"})] if header else []
    lines += [json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n\n")
    return path


def texts(prompts):
    return [p.text for p in prompts]


def test_jsonl_skips_the_metadata_line_and_reads_prompt_fields(tmp_path):
    path = write_jsonl(tmp_path / "p.jsonl", [{"prompt": " one "}, {"text": "two"}, {"question": "three"}])
    prompts = load_prompts({"source": "jsonl", "path": str(path)}, 3, "interleaved", 1)
    assert texts(prompts) == ["one", "two", "three"]


def test_jsonl_errors_name_the_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"prompt": "ok"}\n{"nothing": 1}\n')
    with pytest.raises(HarnessError, match=r"bad\.jsonl:2: no non-empty prompt field") as info:
        load_prompts({"source": "jsonl", "path": str(path)}, 1, "interleaved", 1)
    assert info.value.kind == "dataset"
    with pytest.raises(HarnessError, match="cannot read dataset file"):
        load_prompts({"source": "jsonl", "path": str(tmp_path / "missing.jsonl")}, 1, "interleaved", 1)
    with pytest.raises(HarnessError, match="has only 1 prompts but n=5"):
        load_prompts({"source": "jsonl", "path": str(write_jsonl(tmp_path / "s.jsonl", [{"prompt": "a"}]))},
                     5, "interleaved", 1)


def test_orders_interleaved_grouped_and_seeded_shuffle(tmp_path):
    records = [{"prompt": f"{s}{i}", "source": s} for s in "ab" for i in range(3)]  # a0 a1 a2 b0 b1 b2
    ds = {"source": "jsonl", "path": str(write_jsonl(tmp_path / "o.jsonl", records))}
    assert texts(load_prompts(ds, 4, "interleaved", 1)) == ["a0", "b0", "a1", "b1"]
    assert texts(load_prompts(ds, 4, "grouped", 1)) == ["a0", "a1", "a2", "b0"]
    shuffled = texts(load_prompts(ds, 6, "shuffled", 7))
    assert sorted(shuffled) == sorted(r["prompt"] for r in records)
    assert texts(load_prompts(ds, 6, "shuffled", 7)) == shuffled
    others = {tuple(texts(load_prompts(ds, 6, "shuffled", seed))) for seed in range(8, 14)}
    assert len(others | {tuple(shuffled)}) > 1


def test_aienergyscore_is_found_in_llem_dataset_dir(tmp_path, monkeypatch):
    write_jsonl(tmp_path / "aienergyscore.jsonl", [{"prompt": f"p{i}"} for i in range(5)])
    monkeypatch.setenv("LLEM_DATASET_DIR", str(tmp_path))
    assert texts(load_prompts({"source": "aienergyscore"}, 3, "interleaved", 1)) == ["p0", "p1", "p2"]


def test_aienergyscore_offline_fails_clearly_without_fetching(tmp_path, monkeypatch):
    monkeypatch.setenv("LLEM_DATASET_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    fetched = []
    with pytest.raises(HarnessError, match="not found .*offline") as info:
        locate_aienergyscore(fetch=fetched.append)
    assert fetched == [] and info.value.kind == "dataset"
    assert str(tmp_path / "cache" / "llem" / "datasets" / "aienergyscore.jsonl") in info.value.message


def test_aienergyscore_fetch_goes_to_the_cache_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("LLEM_DATASET_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")

    def fake_fetch(target):
        (tmp_path / "llem" / "datasets").mkdir(parents=True)
        write_jsonl(tmp_path / "llem" / "datasets" / "aienergyscore.jsonl", [{"prompt": "x"}])
        assert target == str(tmp_path / "llem" / "datasets" / "aienergyscore.jsonl")

    assert locate_aienergyscore(fetch=fake_fetch).endswith("llem/datasets/aienergyscore.jsonl")

    def failing_fetch(target):
        raise OSError("network unreachable")

    (tmp_path / "llem" / "datasets" / "aienergyscore.jsonl").unlink()
    with pytest.raises(HarnessError, match="fetching it from huggingface.co failed: network unreachable"):
        locate_aienergyscore(fetch=failing_fetch)


def test_synthetic_prompts_have_exact_token_length_and_follow_the_seed(tiny):
    a = synthetic_prompts(tiny.tokenizer, 3, 37, 5, "interleaved")
    assert [len(p.token_ids) for p in a] == [37, 37, 37]
    assert a == synthetic_prompts(tiny.tokenizer, 3, 37, 5, "interleaved")
    assert a != synthetic_prompts(tiny.tokenizer, 3, 37, 6, "interleaved")
