import json
import os
import subprocess
import sys

from llem_harness.preflight import check_model, probe

HARNESS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_builtin_and_local_models_pass_without_the_hub(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert check_model("builtin:tiny-gpt2")["ok"]
    assert not check_model("builtin:nope")["ok"]
    (tmp_path / "m").mkdir()
    assert "no config.json" in check_model(str(tmp_path / "m"))["error"]
    (tmp_path / "m" / "config.json").write_text("{}")
    assert check_model(str(tmp_path / "m"))["ok"]
    assert "does not exist" in check_model(str(tmp_path / "missing"))["error"]


def test_an_uncached_model_offline_fails_without_a_download(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    answer = check_model("no-such-org/no-such-model")
    assert not answer["ok"] and answer["offline"] and "not in the Hugging Face cache" in answer["error"]
    assert not (tmp_path / "hf").exists() or not any((tmp_path / "hf").rglob("*.safetensors"))


def test_probe_reports_imports_models_and_the_shipped_dataset(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("LLEM_DATASET_DIR", str(tmp_path / "not-a-dir"))
    answer = probe({"models": ["builtin:tiny-gpt2"], "aienergyscore": True})
    assert answer["imports"] is None and answer["torch"] and answer["transformers"]
    assert answer["models"]["builtin:tiny-gpt2"]["ok"]
    assert answer["aienergyscore"]["ok"] and answer["aienergyscore"]["path"].endswith("aienergyscore.jsonl")
    assert "is not a directory" in answer["dataset_dir"]


def test_the_module_prints_one_json_object():
    request = json.dumps({"models": ["builtin:tiny-gpt2"]})
    done = subprocess.run([sys.executable, "-m", "llem_harness.preflight", request], cwd=HARNESS_DIR,
                          capture_output=True, text=True, check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert json.loads(done.stdout)["models"]["builtin:tiny-gpt2"] == {"ok": True, "where": "builtin"}
