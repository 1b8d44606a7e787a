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
