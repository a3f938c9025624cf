"""`builtin:tiny-gpt2`: a seeded, randomly initialised 2-layer GPT-2 and a byte-level tokenizer,
built in process (no download, no network), so tests and CPU demos run anywhere.

Vocabulary: ids 0..255 are raw UTF-8 bytes, 256 is <|endoftext|> (EOS), 257 is <|pad|>.
The EOS row of the tied embedding is scaled up so that sampled sequences do reach EOS
(with 64 new tokens, about half the sequences stop early, greedy or sampled), which makes EOS stopping observable with a random model.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizer

BUILTIN_NAME = "builtin:tiny-gpt2"
EOS_ID = 256
PAD_ID = 257
WEIGHT_SEED = 1234  # fixed: the builtin model is one model, whatever the experiment's random_seed
EOS_ROW_SCALE = 2.0


class ByteTokenizer(PreTrainedTokenizer):
    """Each UTF-8 byte is one token (token string = the latin-1 character of that byte)."""

    model_input_names = ["input_ids", "attention_mask"]

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("eos_token", "<|endoftext|>")
        kwargs.setdefault("pad_token", "<|pad|>")
        kwargs.setdefault("model_max_length", 1024)
        kwargs.setdefault("padding_side", "left")
        super().__init__(**kwargs)

    @property
    def vocab_size(self) -> int:
        return 256

    def get_vocab(self) -> dict[str, int]:
        vocab = {chr(i): i for i in range(256)}
        vocab.update(self.added_tokens_encoder)
        return vocab

    def _tokenize(self, text: str, **kwargs: Any) -> list[str]:
        return [chr(b) for b in text.encode("utf-8")]

    def _convert_token_to_id(self, token: str) -> int:
        return ord(token) if len(token) == 1 and ord(token) < 256 else self.added_tokens_encoder.get(token, 0)

    def _convert_id_to_token(self, index: int) -> str:
        return chr(index) if index < 256 else self.added_tokens_decoder[index].content

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        return bytes(ord(t) for t in tokens if len(t) == 1 and ord(t) < 256).decode("utf-8", errors="replace")

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        return ()


def build_tiny_gpt2() -> tuple[GPT2LMHeadModel, ByteTokenizer]:
    tokenizer = ByteTokenizer()
    assert tokenizer.eos_token_id == EOS_ID and tokenizer.pad_token_id == PAD_ID, "byte tokenizer ids moved"
    config = GPT2Config(
        vocab_size=258,
        n_positions=1024,
        n_embd=64,
        n_layer=2,
        n_head=2,
        bos_token_id=EOS_ID,
        eos_token_id=EOS_ID,
        pad_token_id=PAD_ID,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(WEIGHT_SEED)
        model = GPT2LMHeadModel(config)
        with torch.no_grad():
            model.transformer.wte.weight[EOS_ID].mul_(EOS_ROW_SCALE)
    model.generation_config.eos_token_id = EOS_ID
    model.generation_config.pad_token_id = PAD_ID
    return model, tokenizer
