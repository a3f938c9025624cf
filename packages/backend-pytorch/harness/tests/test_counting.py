import torch

from llem_harness.counting import count_input_tokens, count_output_tokens

EOS, PAD = 256, 257


def test_output_counts_stop_at_first_eos_and_include_it():
    generated = torch.tensor([
        [5, 6, EOS, PAD, PAD],   # EOS at step 2 -> 3 tokens, padding after it ignored
        [5, 6, 7, 8, 9],         # no EOS -> every step
        [EOS, PAD, PAD, PAD, PAD],
        [1, EOS, 3, EOS, PAD],   # only the first EOS ends the request
    ])
    assert count_output_tokens(generated, [EOS]) == [3, 5, 1, 2]


def test_output_counts_when_pad_is_eos_and_with_several_eos_ids():
    generated = torch.tensor([[4, 9, 9, 9], [9, 9, 9, 9], [4, 4, 7, 4]])
    assert count_output_tokens(generated, [9]) == [2, 1, 4]
    assert count_output_tokens(generated, [9, 7]) == [2, 1, 3]


def test_output_counts_without_eos_or_steps():
    assert count_output_tokens(torch.tensor([[1, 2, 3]]), []) == [3]
    assert count_output_tokens(torch.zeros((2, 0), dtype=torch.long), [EOS]) == [0, 0]


def test_input_counts_exclude_left_padding():
    mask = torch.tensor([[0, 0, 1, 1], [1, 1, 1, 1], [0, 0, 0, 1]])
    assert count_input_tokens(mask) == [2, 4, 1]
