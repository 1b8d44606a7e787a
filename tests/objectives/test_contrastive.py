import math

import pytest
import torch

from ssltk.objectives.config import ObjectiveConfig
from ssltk.models.wav2vec2 import PretrainOutput
from ssltk.objectives.contrastive import (Wav2Vec2Objective, codeword_similarity, contrastive_logits,
                                          perplexity)
from ssltk.targets.quantizer import QuantizerOutput


def hand_built(probs=None, codes=None):
    # Three masked frames; q rows are orthonormal and c equals its own target.
    q = torch.eye(3, 4)
    c = q.clone()
    probs = probs if probs is not None else torch.full((3, 2, 4), 0.25)
    codes = codes if codes is not None else torch.tensor([[0, 1], [1, 2], [2, 3]])
    return PretrainOutput(c=c, q=q, quant=QuantizerOutput(q=q, codes=codes, probs=probs),
                          mask=torch.ones(1, 3, dtype=torch.bool), feature_pen=torch.tensor(0.5),
                          codebooks=torch.eye(4).repeat(2, 1, 1))


def test_contrastive_loss_known_value():
    out = hand_built()
    negatives = torch.tensor([[1, 2], [0, 2], [0, 1]])
    res = Wav2Vec2Objective(ObjectiveConfig(num_negatives=2, temperature=0.5, diversity_weight=0.0,
                                            feature_pen_weight=0.0))(out, negatives)
    # logits: positive cos=1 -> 1/0.5 = 2, negatives cos=0 -> 0: CE = -log(e^2 / (e^2 + 2))
    expected = -math.log(math.exp(2) / (math.exp(2) + 2))
    assert res.contrastive.item() == pytest.approx(expected, rel=1e-5)
    assert res.metrics["accuracy"] == 1.0 and res.sample_size == 3


def test_negative_equal_to_positive_is_ignored():
    out = hand_built()
    out.q[1] = out.q[0]  # frame 1 has the same target as frame 0
    logits = contrastive_logits(out.c, out.q, torch.tensor([[1, 2], [0, 2], [0, 1]]), 0.1)
    assert logits[0, 1] == -float("inf") and logits[1, 1] == -float("inf")
    assert torch.isfinite(logits[2]).all()
    self_neg = contrastive_logits(out.c, out.q, torch.tensor([[0, 0], [0, 2], [0, 1]]), 0.1)
    assert torch.isinf(self_neg[0, 1:]).all()


def test_diversity_loss_uniform_and_collapsed():
    cfg = ObjectiveConfig(num_negatives=2, diversity_weight=1.0, feature_pen_weight=0.0)
    neg = torch.tensor([[1, 2], [0, 2], [0, 1]])
    uniform = Wav2Vec2Objective(cfg)(hand_built(), neg)
    assert uniform.diversity.item() == pytest.approx(0.0, abs=1e-6)  # perplexity = V per codebook
    collapsed = torch.zeros(3, 2, 4)
    collapsed[:, :, 0] = 1.0
    res = Wav2Vec2Objective(cfg)(hand_built(probs=collapsed), neg)
    assert res.diversity.item() == pytest.approx((8 - 2) / 8)  # perplexity 1 per codebook
    assert res.loss.item() == pytest.approx(res.contrastive.item() + res.diversity.item(), rel=1e-6)


def test_feature_penalty_weight_and_monitoring():
    cfg = ObjectiveConfig(num_negatives=2, diversity_weight=0.0, feature_pen_weight=10.0)
    res = Wav2Vec2Objective(cfg)(hand_built(), torch.tensor([[1, 2], [0, 2], [0, 1]]))
    assert res.loss.item() == pytest.approx(res.contrastive.item() + 5.0, rel=1e-6)
    assert res.metrics["code_ppl_0"] == pytest.approx(3.0)  # codes 0,1,2 in codebook 0
    assert res.metrics["prob_ppl_1"] == pytest.approx(4.0)
    assert res.metrics["codeword_sim_max_0"] == pytest.approx(0.0, abs=1e-6)  # orthogonal codewords


def test_perplexity_and_codeword_similarity():
    assert perplexity(torch.full((5, 1, 8), 1 / 8)).item() == pytest.approx(8.0)
    books = torch.tensor([[[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]]])
    sim = codeword_similarity(books)
    s = 1 / math.sqrt(2)
    assert sim["max"].item() == pytest.approx(s) and sim["min"].item() == pytest.approx(0.0, abs=1e-6)
    assert sim["mean"].item() == pytest.approx((s + 0 + s) / 3)
