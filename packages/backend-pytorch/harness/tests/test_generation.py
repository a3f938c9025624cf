"""Generation against the real tiny GPT-2: padding, truncation, honest counts, EOS, seeds."""

import torch
from transformers import LogitsProcessor

from llem_harness.generation import BatchGenerator
from llem_harness.prompts import Prompt
from llem_harness.workload import seed_everything

from conftest import make_settings

EOS, PAD = 256, 257
TEXTS = ["Hi", "The quick brown fox jumps", "Energy per token", "a", "Measure twice, cut once."]


class ForceEosAtStep(LogitsProcessor):
    """Test fixture: row r emits EOS exactly at generation step steps[r] (0-based), never before."""

    def __init__(self, prompt_len, steps):
        self.prompt_len, self.steps = prompt_len, steps

    def __call__(self, input_ids, scores):
        step = input_ids.shape[1] - self.prompt_len
        for row, at in enumerate(self.steps):
            if step == at:
                scores[row, :] = -float("inf")
                scores[row, EOS] = 0.0
            else:
                scores[row, EOS] = -float("inf")
        return scores


class BoostEos(LogitsProcessor):
    """Test fixture: makes EOS the likeliest token wherever the earlier processors allow it."""

    def __call__(self, input_ids, scores):
        scores[:, EOS] += 1000.0
        return scores


def greedy(**kw):
    return make_settings(decoder={"temperature": 0, "do_sample": False}, **kw)


def test_batches_are_left_padded_and_input_counts_exclude_padding(tiny):
    gen = BatchGenerator(tiny, greedy())
    enc = gen.encode([Prompt("ab"), Prompt("abcde")])
    assert enc["input_ids"].tolist() == [[PAD, PAD, PAD, 97, 98], [97, 98, 99, 100, 101]]
    assert enc["attention_mask"].tolist() == [[0, 0, 0, 1, 1], [1, 1, 1, 1, 1]]
    assert gen.run_batch([Prompt("ab"), Prompt("abcde")]).input_tokens == [2, 5]


def test_max_input_tokens_truncates_text_and_token_prompts(tiny):
    gen = BatchGenerator(tiny, greedy(max_input_tokens=4, max_output_tokens=2))
    out = gen.run_batch([Prompt("abcdefgh"), Prompt("xy")])
    assert out.input_tokens == [4, 2]
    out = gen.run_batch([Prompt("", token_ids=tuple(range(10)))])
    assert out.input_tokens == [4]


def test_batched_counts_equal_an_independent_unbatched_count(tiny):
    """Every prompt alone through plain HF generate (no padding; batch of one stops at EOS), versus
    our batched, left-padded run: same tokens, and our counts equal the independent lengths."""
    settings = greedy(max_output_tokens=24)
    outcome = BatchGenerator(tiny, settings).run_batch([Prompt(t) for t in TEXTS])
    expected_in, expected_out = [], []
    for row, text in enumerate(TEXTS):
        ids = torch.tensor([list(text.encode())])
        alone = tiny.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=24,
                                    do_sample=False, eos_token_id=EOS, pad_token_id=PAD)
        new = alone[0, ids.shape[1]:].tolist()
        expected_in.append(ids.shape[1])
        expected_out.append(len(new))
        assert outcome.generated[row, : len(new)].tolist() == new
    assert outcome.input_tokens == expected_in
    assert outcome.output_tokens == expected_out
    # the case matters only if some rows stopped early while others ran on (padding present)
    assert min(expected_out) < 24 and max(expected_out) == 24
    assert outcome.generated.shape[1] == 24


def test_eos_stops_counting_with_padding_after_it(tiny):
    settings = make_settings(max_output_tokens=12, dataset={"source": "synthetic", "input_len": 6})
    steps = [0, 4, 99, 7]  # 99: never, runs to max_output_tokens
    gen = BatchGenerator(tiny, settings, [ForceEosAtStep(6, steps)])
    prompts = [Prompt("", token_ids=tuple(range(40 + i, 46 + i))) for i in range(4)]
    outcome = gen.run_batch(prompts)
    assert outcome.output_tokens == [1, 5, 12, 8]
    assert outcome.input_tokens == [6, 6, 6, 6]
    for row, count in enumerate(outcome.output_tokens):
        tail = outcome.generated[row, count:].tolist()
        assert tail == [PAD] * len(tail)
    assert [len(t.itl_ms) for t in outcome.timings] == [0, 4, 11, 7]
    assert len(outcome.step_ns) == 12 and outcome.step_ns == sorted(outcome.step_ns)
    assert all(t.ttft_ms > 0 and t.e2e_ms >= t.ttft_ms for t in outcome.timings)


def test_min_new_tokens_keeps_eos_away(tiny):
    settings = make_settings(max_output_tokens=10, decoder={"min_new_tokens": 5})
    gen = BatchGenerator(tiny, settings, [BoostEos()])
    outcome = gen.run_batch([Prompt("", token_ids=(1, 2, 3))])
    # steps 0..4 may not be EOS (HF counts new tokens before the step), so EOS is the 6th token
    assert outcome.output_tokens == [6]
    assert BatchGenerator(tiny, make_settings(max_output_tokens=10), [BoostEos()]).run_batch(
        [Prompt("", token_ids=(1, 2, 3))]).output_tokens == [1]


def test_same_seed_same_tokens_other_seed_other_tokens(tiny):
    settings = make_settings(max_output_tokens=16)  # sampling on
    gen = BatchGenerator(tiny, settings)
    prompts = [Prompt(t) for t in TEXTS[:3]]

    def sample(seed):
        seed_everything(seed)
        return gen.run_batch(prompts).generated.tolist()

    first = sample(7)
    assert sample(7) == first
    assert sample(8) != first


def test_input_is_cut_to_fit_the_model_positions(tiny):
    gen = BatchGenerator(tiny, greedy(max_input_tokens=1020, max_output_tokens=10))
    assert gen.max_input_tokens == 1014
    assert gen.warnings == ["max_input_tokens lowered from 1020 to 1014 to fit the model's 1024 positions"]
