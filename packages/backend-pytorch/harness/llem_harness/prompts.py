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
from dataclasses import dataclass
from typing import Any

from .errors import HarnessError

PROMPT_KEYS = ("prompt", "text", "instruction", "input", "question")
AIENERGYSCORE_FILE = "aienergyscore.jsonl"
AIENERGYSCORE_COUNT = 1000
# The 1,000 AI Energy Score prompts (AIEnergyScore/text_generation, apache-2.0; provenance in the
# file's first line, licence in data/NOTICE), shipped so `dataset: aienergyscore` works offline.
SHIPPED_DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
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
    """Reads prompt records, one JSON object per line: the prompt is its `prompt` key (else the first
    of PROMPT_KEYS), its optional `source` groups it for dataset_order. Blank lines and objects without
    a prompt (a `_provenance` header, metadata) are skipped."""
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
            text = next((obj[k].strip() for k in PROMPT_KEYS if isinstance(obj.get(k), str) and obj[k].strip()),
                        None)
            if text is None:
                continue
            src = obj.get("source")
            records.append(Prompt(text=text, source=src if isinstance(src, str) else None))
    return records


def order_records(records: list[Prompt], n: int, order: str, seed: int, name: str) -> list[Prompt]:
    if len(records) < n:
        raise HarnessError(f"dataset {name} has only {len(records)} prompts (lines with a \"prompt\" key) but "
                           f"n={n} were requested; lower n or use a larger dataset", "dataset")
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


def dataset_dirs() -> list[str]:
    """Where `dataset: aienergyscore` is looked for, in order: LLEM_DATASET_DIR, the copy shipped
    in this package (llem_harness/data), then the user's cache folder (~/.cache/llem/datasets)."""
    dirs = []
    if os.environ.get("LLEM_DATASET_DIR"):
        dirs.append(os.environ["LLEM_DATASET_DIR"])
    dirs.append(SHIPPED_DATA_DIR)
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    dirs.append(os.path.join(cache, "llem", "datasets"))
    return dirs


def locate_aienergyscore() -> str:
    """The AI Energy Score prompts: the first aienergyscore.jsonl of dataset_dirs(). Never downloads."""
    dirs = dataset_dirs()
    for d in dirs:
        candidate = os.path.join(d, AIENERGYSCORE_FILE)
        if os.path.isfile(candidate):
            return candidate
    looked = ", ".join(os.path.join(d, AIENERGYSCORE_FILE) for d in dirs)
    raise HarnessError(f"dataset aienergyscore not found (looked in {looked}). Reinstall llem (it ships the "
                       f"file), or copy aienergyscore.jsonl into one of those folders or into LLEM_DATASET_DIR",
                       "dataset")
