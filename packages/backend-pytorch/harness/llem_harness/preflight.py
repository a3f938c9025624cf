"""The preflight probe: `python -m llem_harness.preflight '<request json>'` prints one JSON object.

Run once per python before a study starts (the host's preflight, src/preflight.ts): can this python
import torch and transformers, is each model loadable without a download it cannot make (builtin, a
local directory, the Hugging Face cache, or reachable when online), and is the AI Energy Score set
found. It never downloads a model or a dataset: an online check asks the Hub for the model's
metadata only.

Request: {"models": [name, ...], "aienergyscore": bool}
Answer: {"python": version, "imports": null | error, "torch": ..., "transformers": ...,
         "models": {name: {"ok": bool, "where": ..., "error": ...}}, "aienergyscore": {...} | null}
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

HUB_TIMEOUT_S = 10.0


def _true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def offline() -> bool:
    return _true("HF_HUB_OFFLINE") or _true("TRANSFORMERS_OFFLINE") or _true("LLEM_OFFLINE")


def check_model(name: str) -> dict[str, Any]:
    if name.startswith("builtin:"):
        from .tiny_gpt2 import BUILTIN_NAME

        if name == BUILTIN_NAME:
            return {"ok": True, "where": "builtin"}
        return {"ok": False, "error": f"there is no builtin model {name!r} (the one builtin is {BUILTIN_NAME})"}
    path = os.path.expanduser(name)
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "config.json")):
            return {"ok": True, "where": f"local directory {os.path.abspath(path)}"}
        return {"ok": False, "error": f"the directory {path} has no config.json (not a saved transformers model)"}
    if name.startswith(("/", "./", "../", "~")) or os.path.isabs(name):
        return {"ok": False, "error": f"{name} does not exist"}
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(name, "config.json")
    except Exception as exc:  # an invalid repo id (HFValidationError) and the like
        return {"ok": False, "error": f"{name!r} is neither a local directory nor a valid model id: "
                                      f"{str(exc).splitlines()[0]}"}
    if isinstance(cached, str):
        return {"ok": True, "where": "the Hugging Face cache"}
    if offline():
        return {"ok": False, "offline": True, "error": f"{name} is not in the Hugging Face cache and the Hub is "
                                                       "offline (HF_HUB_OFFLINE)"}
    try:
        from huggingface_hub import HfApi

        HfApi().model_info(name, timeout=HUB_TIMEOUT_S)
        return {"ok": True, "where": "the Hub (downloaded by the first run)"}
    except Exception as exc:
        kind = type(exc).__name__
        if kind == "GatedRepoError":
            return {"ok": True, "where": "the Hub (gated: HF_TOKEN must grant access)"}
        if kind in ("RepositoryNotFoundError", "RevisionNotFoundError"):
            return {"ok": False, "error": f"{name} is not a model on the Hub (or it is private and no token "
                                          "grants access)"}
        return {"ok": False, "unreachable": True,
                "error": f"{name} is not in the Hugging Face cache and the Hub cannot be reached "
                         f"({kind}: {str(exc).splitlines()[0] if str(exc) else 'no answer'})"}


def check_aienergyscore() -> dict[str, Any]:
    from .errors import HarnessError
    from .prompts import locate_aienergyscore

    try:
        return {"ok": True, "path": locate_aienergyscore()}
    except HarnessError as exc:
        return {"ok": False, "error": exc.message}


def probe(request: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = {"python": sys.version.split()[0], "executable": sys.executable, "imports": None,
                              "models": {}, "aienergyscore": None}
    dataset_dir = os.environ.get("LLEM_DATASET_DIR")
    if dataset_dir and not os.path.isdir(dataset_dir):
        answer["dataset_dir"] = f"{dataset_dir} is not a directory"
    if request.get("aienergyscore"):
        answer["aienergyscore"] = check_aienergyscore()
    try:
        import torch
        import transformers
    except Exception as exc:  # ImportError, or a broken install raising anything
        answer["imports"] = f"{type(exc).__name__}: {exc}"
        return answer
    answer["torch"] = torch.__version__
    answer["transformers"] = transformers.__version__
    for name in request.get("models", []):
        answer["models"][name] = check_model(name)
    return answer


def main(argv: list[str]) -> int:
    request = json.loads(argv[1]) if len(argv) > 1 else {}
    print(json.dumps(probe(request)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
