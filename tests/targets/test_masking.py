import pytest
import torch

from ssltk.targets.masking import channel_mask, sample_negatives, span_mask


def test_masks_respect_padding_and_span_count():
    g = torch.Generator().manual_seed(0)
    lens = torch.tensor([500, 300, 40])
    mask = span_mask(lens, 500, prob=0.65, length=10, min_masks=2, generator=g)
    assert mask.shape == (3, 500)
    for i, n in enumerate(lens.tolist()):
        assert not mask[i, n:].any(), "padded frames are never masked"
        assert mask[i, :n].any()


def test_expected_masked_fraction():
    # M = floor(pT/l + u) spans at distinct uniform starts: P(frame masked) ~ 1 - (1 - p/l)^l for
    # frames away from the edges; p=0.65, l=10 gives ~0.49 (wav2vec 2.0 reports ~49%).
    g = torch.Generator().manual_seed(1)
    lens = torch.full((400,), 500)
    mask = span_mask(lens, 500, prob=0.65, length=10, min_masks=2, generator=g)
    frac = mask[:, 50:450].float().mean().item()
    assert 0.45 < frac < 0.53


def test_number_of_spans_with_min_masks():
    g = torch.Generator().manual_seed(2)
    mask = span_mask(torch.tensor([25] * 64), 25, prob=0.0, length=5, min_masks=2, generator=g)
    starts = mask & ~torch.nn.functional.pad(mask, (1, 0))[:, :-1]
    # two distinct starts; spans may merge, so between 1 and 2 runs and 6..10 frames
    assert (starts.sum(1) <= 2).all() and (mask.sum(1) >= 6).all() and (mask.sum(1) <= 10).all()


def test_short_utterances_never_overflow():
    mask = span_mask(torch.tensor([3, 0]), 10, prob=0.65, length=10, min_masks=2)
    assert not mask.any()


def test_channel_mask_shape():
    m = channel_mask(4, 64, prob=0.5, length=8, generator=torch.Generator().manual_seed(0))
    assert m.shape == (4, 64) and m.any()


def test_negatives_come_from_the_same_utterance_and_exclude_the_positive():
    g = torch.Generator().manual_seed(3)
    mask = span_mask(torch.tensor([200, 120, 60]), 200, 0.65, 10, 2, generator=g)
    neg = sample_negatives(mask, num=50, generator=g)
    utt = mask.nonzero()[:, 0]
    assert neg.shape == (int(mask.sum()), 50)
    assert (utt[neg] == utt[:, None]).all()
    assert (neg != torch.arange(neg.shape[0])[:, None]).all()


def test_negatives_are_uniform_over_the_other_masked_frames():
    mask = torch.zeros(1, 10, dtype=torch.bool)
    mask[0, :5] = True
    neg = sample_negatives(mask, num=20000, generator=torch.Generator().manual_seed(4))
    counts = torch.bincount(neg[0], minlength=5).float() / 20000
    assert counts[0] == 0 and torch.allclose(counts[1:], torch.full((4,), 0.25), atol=0.02)


@pytest.mark.parametrize("lengths", [[1], [1, 7]])
def test_single_masked_frame_has_only_self_negatives(lengths):
    mask = torch.zeros(len(lengths), 8, dtype=torch.bool)
    for i, n in enumerate(lengths):
        mask[i, :n] = True
    neg = sample_negatives(mask, num=3)
    assert (neg[0] == 0).all()
