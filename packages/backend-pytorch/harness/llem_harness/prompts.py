"""Prompts from config.dataset: a JSONL file, the AI Energy Score set, or synthetic token prompts.

Order (config.dataset_order), all seeded by random_seed:
- interleaved: round-robin across the records' `source` field (file order when there is none);
- grouped: records of one source together (stable, sources in order of first appearance);
- shuffled: a seeded shuffle of all records, then the first n.
"""

from __future__ import annotations

import json
import os
import random
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable

from .errors import HarnessError

PROMPT_KEYS = ("prompt", "text", "instruction", "input", "question")
AIENERGYSCORE_FILE = "aienergyscore.jsonl"
AIENERGYSCORE_COUNT = 1000
AIENERGYSCORE_SOURCE = ("https://datasets-server.huggingface.co/rows?dataset=AIEnergyScore%2Ftext_generation"
                        "&config=default&split=train&offset={offset}&length={length}")
SYNTHETIC_WORDS = ("Hello", "world", "the", "a", "is", "it", "this", "that", "with", "for")


@dataclass(frozen=True)
class Prompt:
    """Text prompts are tokenized in the measured loop; synthetic prompts are exact token ids."""

    text: str
    token_ids: tuple[int, ...] | None = None
    source: str | None = None


def load_prompts(dataset: dict[str, Any], n: int, order: str, seed: int, tokenizer: Any = None) -> list[Prompt]:
    source = dataset.get("source")
    if source == "synthetic":
        if tokenizer is None:
            raise HarnessError("synthetic prompts need the tokenizer", "internal")
        return synthetic_prompts(tokenizer, n, int(dataset.get("input_len", 128)), seed, order)
    if source == "jsonl":
        path = dataset.get("path")
        if not isinstance(path, str) or not path:
            raise HarnessError("config.dataset.path is required for source: jsonl", "config")
        records = read_jsonl(os.path.abspath(path))
        name = path
    elif source == "aienergyscore":
        records = read_jsonl(locate_aienergyscore())
        name = "aienergyscore"
    else:
        raise HarnessError(f"config.dataset.source {source!r} is unknown (use jsonl, aienergyscore or synthetic)",
                           "config")
    return order_records(records, n, order, seed, name)


def read_jsonl(path: str) -> list[Prompt]:
    """Reads prompt records; lines whose keys all start with `_` (a metadata header) are skipped."""
    try:
        fh = open(path, encoding="utf-8")
    except OSError as exc:
        raise HarnessError(f"cannot read dataset file {path}: {exc.strerror}. Give an existing .jsonl path "
                           "(absolute, or relative to the harness working directory)", "dataset") from exc
    records: list[Prompt] = []
    with fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise HarnessError(f"{path}:{lineno}: not valid JSON ({exc.msg})", "dataset") from exc
            if not isinstance(obj, dict):
                raise HarnessError(f"{path}:{lineno}: each line must be a JSON object like {{\"prompt\": \"...\"}}",
                                   "dataset")
            if obj and all(str(k).startswith("_") for k in obj):
                continue
            text = next((obj[k].strip() for k in PROMPT_KEYS if isinstance(obj.get(k), str) and obj[k].strip()),
                        None)
            if text is None:
                raise HarnessError(f"{path}:{lineno}: no non-empty prompt field (one of {', '.join(PROMPT_KEYS)})",
                                   "dataset")
            src = obj.get("source")
            records.append(Prompt(text=text, source=src if isinstance(src, str) else None))
    return records


def order_records(records: list[Prompt], n: int, order: str, seed: int, name: str) -> list[Prompt]:
    if len(records) < n:
        raise HarnessError(f"dataset {name} has only {len(records)} prompts but n={n} were requested; "
                           f"lower n or use a larger dataset", "dataset")
    if order == "shuffled":
        shuffled = list(records)
        random.Random(seed).shuffle(shuffled)
        return shuffled[:n]
    groups: dict[str | None, list[Prompt]] = {}
    for r in records:
        groups.setdefault(r.source, []).append(r)
    if order == "grouped":
        return [r for g in groups.values() for r in g][:n]
    # interleaved: round-robin over sources
    out: list[Prompt] = []
    queues = [list(g) for g in groups.values()]
    i = 0
    while len(out) < n:
        q = queues[i % len(queues)]
        if q:
            out.append(q.pop(0))
        i += 1
    return out


def synthetic_prompts(tokenizer: Any, n: int, input_len: int, seed: int, order: str) -> list[Prompt]:
    """Prompts of exactly input_len tokens: seeded words, tokenized, cut at input_len tokens."""
    rng = random.Random(seed)
    word_ids = [tokenizer.encode(" " + w, add_special_tokens=False) for w in SYNTHETIC_WORDS]
    prompts = []
    for _ in range(n):
        ids: list[int] = []
        while len(ids) < input_len:
            ids.extend(rng.choice(word_ids))
        ids = ids[:input_len]
        prompts.append(Prompt(text=tokenizer.decode(ids), token_ids=tuple(ids), source="synthetic"))
    return prompts  # all prompts have one shape, so every order is the same workload


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def dataset_dirs() -> list[str]:
    dirs = []
    if os.environ.get("LLEM_DATASET_DIR"):
        dirs.append(os.environ["LLEM_DATASET_DIR"])
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    dirs.append(os.path.join(cache, "llem", "datasets"))
    return dirs


def locate_aienergyscore(fetch: Callable[[str], None] | None = None) -> str:
    """Finds aienergyscore.jsonl in LLEM_DATASET_DIR or the cache dir; else fetches it into the cache."""
    dirs = dataset_dirs()
    for d in dirs:
        candidate = os.path.join(d, AIENERGYSCORE_FILE)
        if os.path.isfile(candidate):
            return candidate
    target = os.path.join(dirs[-1], AIENERGYSCORE_FILE)
    looked = ", ".join(os.path.join(d, AIENERGYSCORE_FILE) for d in dirs)
    if _env_true("HF_HUB_OFFLINE") or _env_true("LLEM_OFFLINE"):
        raise HarnessError(f"dataset aienergyscore not found (looked in {looked}) and the harness is offline "
                           f"(HF_HUB_OFFLINE/LLEM_OFFLINE=1). Copy aienergyscore.jsonl into one of those folders "
                           f"or set LLEM_DATASET_DIR", "dataset")
    try:
        (fetch or fetch_aienergyscore)(target)
    except Exception as exc:
        raise HarnessError(f"dataset aienergyscore not found (looked in {looked}) and fetching it from "
                           f"huggingface.co failed: {exc}. Copy aienergyscore.jsonl into one of those folders "
                           f"or set LLEM_DATASET_DIR", "dataset") from exc
    return target


def fetch_aienergyscore(target: str) -> None:
    """Downloads the first 1000 non-empty `text` rows of AIEnergyScore/text_generation (train)."""
    prompts: list[str] = []
    offset = 0
    while len(prompts) < AIENERGYSCORE_COUNT:
        url = AIENERGYSCORE_SOURCE.format(offset=offset, length=100)
        with urllib.request.urlopen(url, timeout=30) as resp:  # noqa: S310 (fixed https URL)
            rows = json.load(resp).get("rows", [])
        if not rows:
            raise HarnessError(f"the source ran out after {len(prompts)} prompts", "dataset")
        for row in rows:
            text = row.get("row", {}).get("text")
            if isinstance(text, str) and text.strip() and len(prompts) < AIENERGYSCORE_COUNT:
                prompts.append(text)
        offset += len(rows)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    tmp = target + ".part"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(json.dumps({"_provenance": "AIEnergyScore/text_generation", "_license": "apache-2.0",
                             "_description": "first 1000 non-empty rows of split train"}) + "\n")
        for p in prompts:
            fh.write(json.dumps({"prompt": p}, ensure_ascii=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)
