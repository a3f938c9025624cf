import json
import os

import pytest

import llem_harness.prompts as prompts_module
from llem_harness.errors import HarnessError
from llem_harness.prompts import SHIPPED_DATA_DIR, load_prompts, locate_aienergyscore, synthetic_prompts


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


def test_jsonl_lines_without_a_prompt_are_skipped_and_errors_name_the_file(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_text('{"prompt": "ok"}\n{"nothing": 1}\n{"prompt": "   "}\n{"prompt": "two"}\n')
    assert texts(load_prompts({"source": "jsonl", "path": str(path)}, 2, "interleaved", 1)) == ["ok", "two"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "ok"}\nnot json\n')
    with pytest.raises(HarnessError, match=r"bad\.jsonl:2: not valid JSON") as info:
        load_prompts({"source": "jsonl", "path": str(bad)}, 1, "interleaved", 1)
    assert info.value.kind == "dataset"
    with pytest.raises(HarnessError, match="cannot read dataset file"):
        load_prompts({"source": "jsonl", "path": str(tmp_path / "missing.jsonl")}, 1, "interleaved", 1)
    with pytest.raises(HarnessError, match="has only 1 prompts"):
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


def test_aienergyscore_ships_with_the_package_and_works_offline(tmp_path, monkeypatch):
    monkeypatch.delenv("LLEM_DATASET_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path = locate_aienergyscore()
    assert path == os.path.join(SHIPPED_DATA_DIR, "aienergyscore.jsonl")
    with open(path, encoding="utf-8") as fh:
        header = json.loads(fh.readline())
    assert header["_provenance"] == "AIEnergyScore/text_generation" and header["_license"] == "apache-2.0"
    assert os.path.isfile(os.path.join(SHIPPED_DATA_DIR, "NOTICE"))
    prompts = load_prompts({"source": "aienergyscore"}, 1000, "interleaved", 1)
    assert len(prompts) == 1000 and all(p.text for p in prompts)
    with pytest.raises(HarnessError, match="has only 1000 prompts"):
        load_prompts({"source": "aienergyscore"}, 1001, "interleaved", 1)


def test_llem_dataset_dir_comes_before_the_shipped_copy(tmp_path, monkeypatch):
    monkeypatch.setenv("LLEM_DATASET_DIR", str(tmp_path / "empty"))
    assert locate_aienergyscore() == os.path.join(SHIPPED_DATA_DIR, "aienergyscore.jsonl")
    write_jsonl(tmp_path / "aienergyscore.jsonl", [{"prompt": "mine"}])
    monkeypatch.setenv("LLEM_DATASET_DIR", str(tmp_path))
    assert locate_aienergyscore() == str(tmp_path / "aienergyscore.jsonl")


def test_aienergyscore_missing_everywhere_names_the_places(tmp_path, monkeypatch):
    monkeypatch.setenv("LLEM_DATASET_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(prompts_module, "SHIPPED_DATA_DIR", str(tmp_path / "stripped"))
    with pytest.raises(HarnessError, match="not found") as info:
        locate_aienergyscore()
    assert info.value.kind == "dataset"
    assert str(tmp_path / "empty" / "aienergyscore.jsonl") in info.value.message
    assert str(tmp_path / "cache" / "llem" / "datasets" / "aienergyscore.jsonl") in info.value.message


def test_synthetic_prompts_have_exact_token_length_and_follow_the_seed(tiny):
    a = synthetic_prompts(tiny.tokenizer, 3, 37, 5, "interleaved")
    assert [len(p.token_ids) for p in a] == [37, 37, 37]
    assert a == synthetic_prompts(tiny.tokenizer, 3, 37, 5, "interleaved")
    assert a != synthetic_prompts(tiny.tokenizer, 3, 37, 6, "interleaved")
