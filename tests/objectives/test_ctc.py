import math

import torch

from ssltk.objectives.ctc import ctc_loss


def test_ctc_step_is_finite_and_backpropagates():
    logits = torch.randn(2, 30, 6, requires_grad=True)
    loss = ctc_loss(logits, torch.tensor([30, 20]), [[1, 2, 2, 3], [4, 5]])
    loss.backward()
    assert math.isfinite(loss.item()) and logits.grad.abs().sum() > 0
    assert logits.grad[1, 20:].abs().sum() == 0, "padded frames get no gradient"


def test_known_value_and_impossible_targets():
    # one frame, one token: -log softmax(logits)[token]
    logits = torch.tensor([[[0.0, 2.0, 0.0]]])
    expected = -torch.log_softmax(logits[0, 0], -1)[1]
    assert torch.isclose(ctc_loss(logits, torch.tensor([1]), [[1]]), expected)
    # a target longer than the frames is impossible: zero_infinity gives 0, not inf
    assert ctc_loss(torch.randn(1, 2, 3), torch.tensor([2]), [[1, 2, 1]]).item() == 0.0


def test_greedy_decode_merges_repeats_drops_blanks_and_respects_lengths():
    from ssltk.objectives.ctc import greedy_decode

    ids = torch.tensor([[1, 1, 0, 1, 2, 2, 0, 3], [2, 0, 2, 2, 0, 0, 0, 0]])
    logits = torch.nn.functional.one_hot(ids, 4).float()
    # a blank between repeats keeps both; frames past the length are ignored
    assert greedy_decode(logits, torch.tensor([8, 3])) == [[1, 1, 2, 3], [2, 2]]
