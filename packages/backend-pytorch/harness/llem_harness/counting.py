"""Honest token counts (original bug 15.2): input without padding, output up to and including EOS."""

from __future__ import annotations

import torch


def count_input_tokens(attention_mask: torch.Tensor) -> list[int]:
    """Real prompt tokens per row: the attention mask is 0 on padding."""
    return [int(x) for x in attention_mask.sum(dim=1).tolist()]


def count_output_tokens(generated: torch.Tensor, eos_token_ids: list[int]) -> list[int]:
    """Tokens per row up to and including the first EOS; rows without EOS count every step.

    `generated` is [batch, steps]: only the new tokens. Whatever follows a row's first EOS is
    padding that generate() adds while other rows are still running, so it is never counted.
    """
    steps = generated.shape[1]
    if steps == 0:
        return [0] * generated.shape[0]
    if not eos_token_ids:
        return [steps] * generated.shape[0]
    is_eos = torch.isin(generated, torch.tensor(eos_token_ids, device=generated.device))
    has_eos = is_eos.any(dim=1)
    first_eos = is_eos.int().argmax(dim=1)  # index of the first True (0 when none: masked below)
    counts = torch.where(has_eos, first_eos + 1, torch.full_like(first_eos, steps))
    return [int(c) for c in counts.tolist()]
