"""Analytic FLOPs estimate for the tokens actually processed (no padding).

FLOPs = 2 * N_compute * sum(T_i) + 2 * n_layer * d_model * sum(T_i * (T_i + 1))
where T_i = input + output tokens of request i, N_compute = parameters outside nn.Embedding
modules (GPT-2's wte/wpe are lookups and excluded, bug 15.6; a tied lm_head is a matmul and
counted), and the second term is causal attention (QK^T and AV, 2 FLOPs per multiply-add, for a
token at position p attending to p positions).
"""

from __future__ import annotations

from typing import Any

import torch

FORMULA = ("2 * N_compute * sum(T_i) + 2 * n_layer * d_model * sum(T_i * (T_i + 1)); T_i = input + output "
           "tokens of request i (no padding); N_compute = parameters outside nn.Embedding (lm_head counted "
           "even when tied)")


def compute_params(model: torch.nn.Module) -> int:
    seen: set[int] = set()
    total = 0
    for module in model.modules():
        if isinstance(module, torch.nn.Embedding):
            continue
        for p in module.parameters(recurse=False):
            if id(p) not in seen:
                seen.add(id(p))
                total += p.numel()
    return total


def _dims(config: Any) -> tuple[int | None, int | None]:
    layers = next((getattr(config, k) for k in ("num_hidden_layers", "n_layer", "num_layers")
                   if isinstance(getattr(config, k, None), int)), None)
    width = next((getattr(config, k) for k in ("hidden_size", "n_embd", "d_model")
                  if isinstance(getattr(config, k, None), int)), None)
    return layers, width


def estimate_flops(model: torch.nn.Module, input_tokens: list[int], output_tokens: list[int],
                   duration_s: float) -> dict[str, Any]:
    n = compute_params(model)
    lengths = [i + o for i, o in zip(input_tokens, output_tokens)]
    linear = 2 * n * sum(lengths)
    layers, width = _dims(getattr(model, "config", None))
    attention = 2 * layers * width * sum(t * (t + 1) for t in lengths) if layers and width else None
    total = linear + (attention or 0)
    out_total = sum(output_tokens)
    return {
        "value": float(total),
        "linear_flops": float(linear),
        "attention_flops": None if attention is None else float(attention),
        "n_compute_params": n,
        "n_layer": layers,
        "d_model": width,
        "formula": FORMULA if attention is not None else FORMULA + " (attention term omitted: no layer/width)",
        "method": "analytic",
        "flops_per_output_token": total / out_total if out_total else None,
        "flops_per_second": total / duration_s if duration_s > 0 else None,
    }
