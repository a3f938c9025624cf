#!/usr/bin/env bash
# Installs the peer load generator for `pnpm bench loadgen`: AIPerf 0.13.0 from PyPI into its own
# venv under ~/.cache/llem/bench-venvs (never the harness venv), and a byte-level tokenizer
# directory that AIPerf can load with no network (its `builtin` tokenizer downloads a tiktoken
# file; a local path loads only when HF_HUB_OFFLINE is unset). Idempotent.
set -euo pipefail
root="${LLEM_BENCH_VENVS:-$HOME/.cache/llem/bench-venvs}"
venv="$root/aiperf"
mkdir -p "$root"
if [ ! -x "$venv/bin/aiperf" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "aiperf==0.13.0"
fi
tok="$root/byte-tokenizer"
if [ ! -f "$tok/tokenizer.json" ]; then
  "$venv/bin/python" - "$tok" <<'PY'
import sys
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast
vocab = {ch: i for i, ch in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
vocab["<|endoftext|>"] = len(vocab)
tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tok.decoder = decoders.ByteLevel()
PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", bos_token="<|endoftext|>",
                        unk_token="<|endoftext|>").save_pretrained(sys.argv[1])
PY
fi
"$venv/bin/aiperf" --version 2>/dev/null || "$venv/bin/pip" show aiperf | grep -i '^version'
