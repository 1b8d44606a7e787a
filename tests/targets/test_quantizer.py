import pytest
import torch

from ssltk.targets.quantizer import GumbelVectorQuantizer, temperature_at


def test_eval_selects_argmax_codewords():
    torch.manual_seed(0)
    quant = GumbelVectorQuantizer(8, groups=2, entries=4, dim=6).eval()
    x = torch.randn(5, 8)
    out = quant(x)
    logits = quant.weight_proj(x).view(5, 2, 4)
    assert torch.equal(out.codes, logits.argmax(-1))
    books = quant.codebooks()
    expected = torch.cat([books[0][out.codes[:, 0]], books[1][out.codes[:, 1]]], -1)
    torch.testing.assert_close(out.q, expected)
    torch.testing.assert_close(out.probs.sum(-1), torch.ones(5, 2))


def test_training_is_straight_through():
    torch.manual_seed(0)
    quant = GumbelVectorQuantizer(8, groups=2, entries=4, dim=6).train()
    x = torch.randn(5, 8, requires_grad=True)
    out = quant(x)
    books = quant.codebooks()
    selected = torch.cat([books[0][out.codes[:, 0]], books[1][out.codes[:, 1]]], -1)
    torch.testing.assert_close(out.q, selected)  # forward: exact codewords
    out.q.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0  # backward: through the soft probabilities


def test_temperature_schedule():
    assert temperature_at(0, 2.0, 0.5, 0.999995) == 2.0
    assert temperature_at(10**7, 2.0, 0.5, 0.999995) == 0.5
    assert temperature_at(100_000, 2.0, 0.5, 0.999995) == pytest.approx(2.0 * 0.999995 ** 100_000)
    quant = GumbelVectorQuantizer(4, 2, 4, 4)
    quant.set_num_updates(100_000)
    assert quant.temperature == pytest.approx(1.2131, abs=1e-3)
