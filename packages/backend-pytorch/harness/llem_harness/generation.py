"""Batched generation with left padding, per-step timestamps and honest counts."""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass
from typing import Any

import torch
from transformers import LogitsProcessor, LogitsProcessorList
from transformers.generation.streamers import BaseStreamer

from .counting import count_input_tokens, count_output_tokens
from .errors import HarnessError
from .latency import RequestTiming, request_timings
from .model_loader import LoadedModel
from .prompts import Prompt
from .settings import Settings

log = logging.getLogger("llem_harness")

# pytorch-section keys forwarded to generate() when set.
GENERATE_KEYS = ("use_cache", "cache_implementation", "num_beams", "early_stopping", "length_penalty",
                 "no_repeat_ngram_size", "prompt_lookup_num_tokens")


class StepClock(BaseStreamer):
    """Records when each generation step's tokens reach the host. generate() first puts the prompt
    (ignored), then one tensor of next tokens per step; the .cpu() copy it makes for us syncs."""

    def __init__(self) -> None:
        self.step_ns: list[int] = []
        self._prompt_seen = False

    def put(self, value: torch.Tensor) -> None:
        now = time.monotonic_ns()
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        self.step_ns.append(now)

    def end(self) -> None:
        pass


@dataclass
class BatchOutcome:
    start_ns: int
    end_ns: int
    input_tokens: list[int]
    output_tokens: list[int]
    generated: torch.Tensor  # [batch, steps] new token ids, on the CPU
    step_ns: list[int]
    timings: list[RequestTiming] | None  # None when per-step timestamps do not map to tokens


def build_generation_config(loaded: LoadedModel, settings: Settings) -> Any:
    gc = copy.deepcopy(loaded.model.generation_config)
    d = settings.decoder
    gc.max_new_tokens = settings.max_output_tokens
    gc.max_length = None
    gc.min_new_tokens = d.min_new_tokens
    gc.repetition_penalty = d.repetition_penalty
    gc.pad_token_id = loaded.pad_token_id
    gc.eos_token_id = loaded.eos_token_ids or None
    if d.greedy:
        gc.do_sample = False
        gc.temperature = gc.top_k = gc.top_p = gc.min_p = None
    else:
        gc.do_sample = True
        gc.temperature, gc.top_k, gc.top_p, gc.min_p = d.temperature, d.top_k, d.top_p, d.min_p
    for key in GENERATE_KEYS:
        if settings.pytorch.get(key) is not None:
            setattr(gc, key, settings.pytorch[key])
    return gc


class BatchGenerator:
    def __init__(self, loaded: LoadedModel, settings: Settings,
                 extra_logits_processors: list[LogitsProcessor] | None = None) -> None:
        self.loaded = loaded
        self.settings = settings
        self.generation_config = build_generation_config(loaded, settings)
        self.logits_processors = LogitsProcessorList(extra_logits_processors or [])
        self.warnings: list[str] = []
        self.max_input_tokens = self._effective_max_input()
        gc = self.generation_config
        # beam search and prompt lookup do not hand over one token per request per step
        self.timed = (gc.num_beams or 1) == 1 and not gc.prompt_lookup_num_tokens

    def _effective_max_input(self) -> int:
        limit = self.settings.max_input_tokens
        max_pos = self.loaded.max_positions
        if max_pos is not None and limit + self.settings.max_output_tokens > max_pos:
            room = max_pos - self.settings.max_output_tokens
            if room < 1:
                raise HarnessError(f"max_output_tokens={self.settings.max_output_tokens} leaves no room for input "
                                   f"in the model's {max_pos} positions", "config")
            message = f"max_input_tokens lowered from {limit} to {room} to fit the model's {max_pos} positions"
            log.warning(message)
            self.warnings.append(message)
            limit = room
        return limit

    def encode(self, prompts: list[Prompt]) -> Any:
        tok = self.loaded.tokenizer
        if all(p.token_ids is not None for p in prompts):
            ids = [list(p.token_ids or ())[: self.max_input_tokens] for p in prompts]
            return tok.pad({"input_ids": ids}, padding=True, return_tensors="pt")
        return tok([p.text for p in prompts], padding=True, truncation=True, max_length=self.max_input_tokens,
                   return_tensors="pt")

    def run_batch(self, prompts: list[Prompt]) -> BatchOutcome:
        start_ns = time.monotonic_ns()
        enc = self.encode(prompts)
        input_ids = enc["input_ids"].to(self.loaded.device)
        attention_mask = enc["attention_mask"].to(self.loaded.device)
        clock = StepClock() if self.timed else None
        try:
            with torch.inference_mode():
                out = self.loaded.model.generate(input_ids=input_ids, attention_mask=attention_mask,
                                                 generation_config=self.generation_config,
                                                 logits_processor=self.logits_processors, streamer=clock)
        except torch.OutOfMemoryError as exc:
            raise HarnessError(f"out of memory during generation (batch of {len(prompts)}): {exc}. Lower "
                               f"pytorch.batch_size or max_input_tokens, or use fp16/bf16", "oom") from exc
        end_ns = time.monotonic_ns()
        generated = out[:, input_ids.shape[1]:].cpu()
        outputs = count_output_tokens(generated, self.loaded.eos_token_ids)
        timings = None
        if clock is not None:
            if len(clock.step_ns) == generated.shape[1]:
                timings = request_timings(start_ns, clock.step_ns, outputs)
            else:
                self.warnings.append(f"latency: {len(clock.step_ns)} timed steps for {generated.shape[1]} "
                                     "generated positions; per-token latency left out")
        return BatchOutcome(start_ns=start_ns, end_ns=end_ns, input_tokens=count_input_tokens(attention_mask.cpu()),
                            output_tokens=outputs, generated=generated,
                            step_ns=clock.step_ns if clock else [], timings=timings)


def batches(prompts: list[Prompt], size: int) -> list[list[Prompt]]:
    return [prompts[i: i + size] for i in range(0, len(prompts), size)]
