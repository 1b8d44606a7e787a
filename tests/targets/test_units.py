"""MFCC unit features and k-means: DCT basis, Kaldi deltas, padding, clustering, the codebook."""
import numpy as np
import pytest
import torch
from scipy.fft import dct

from ssltk.targets.units import UnitCodebook, deltas, fit_kmeans, mfcc_features


def test_dct_matches_scipy_orthonormal_dct2():
    mel = torch.randn(1, 7, 24)
    ours = mfcc_features(mel, torch.tensor([7]), ceps=13, delta_order=0)[0]
    ref = dct(mel[0].numpy().astype(np.float64), type=2, norm="ortho", axis=-1)[:, :13]
    np.testing.assert_allclose(ours.numpy(), ref, atol=1e-5)


def test_deltas_follow_kaldi_with_repeated_edges():
    x = torch.tensor([[0.0, 1.0, 4.0, 9.0, 16.0, 0.0, 0.0]]).unsqueeze(-1)  # 5 valid frames
    d = deltas(x, torch.tensor([5]))[0, :5, 0]
    padded = torch.tensor([0.0, 0.0, 0.0, 1.0, 4.0, 9.0, 16.0, 16.0, 16.0])  # edges repeated
    ref = [(1 * (padded[t + 3] - padded[t + 1]) + 2 * (padded[t + 4] - padded[t])) / 10 for t in range(5)]
    assert torch.allclose(d, torch.stack(ref))


def test_features_of_a_padded_batch_equal_each_utterance_alone():
    mel = torch.randn(2, 30, 16)
    lens = torch.tensor([30, 17])
    batch = mfcc_features(mel, lens, ceps=5)
    alone = mfcc_features(mel[1:, :17], lens[1:], ceps=5)
    assert torch.allclose(batch[1, :17], alone[0], atol=1e-6)
    assert batch[1, 17:].abs().sum() == 0


def test_kmeans_recovers_separated_clusters_and_is_deterministic():
    g = torch.Generator().manual_seed(1)
    centres = torch.tensor([[-4.0, 0.0], [0.0, 4.0], [4.0, 0.0], [0.0, -4.0]])
    x = torch.cat([c + 0.2 * torch.randn(40, 2, generator=g) for c in centres])
    c1, inertia = fit_kmeans(x, 4, seed=3)
    c2, _ = fit_kmeans(x, 4, seed=3)
    assert torch.equal(c1, c2)
    assert torch.cdist(centres, c1).min(1).values.max() < 0.2
    assert inertia < 0.2
    with pytest.raises(ValueError, match="at least k=4"):
        fit_kmeans(x[:3], 4)


def test_kmeans_with_more_clusters_than_distinct_points_stays_finite():
    x = torch.cat([torch.zeros(10, 1), torch.ones(10, 1)])  # two distinct points, three clusters
    c, inertia = fit_kmeans(x, 3, seed=0)
    labels = torch.cdist(x, c).argmin(1)
    assert torch.isfinite(c).all() and inertia == 0.0
    assert len(set(labels[:10].tolist())) == 1 and len(set(labels[10:].tolist())) == 1 and labels[0] != labels[10]


def test_codebook_labels_padding_and_needs_fitting():
    cb = UnitCodebook(n_mels=16, units=3, ceps=4, delta_order=1)
    mel, lens = torch.randn(2, 20, 16), torch.tensor([20, 11])
    with pytest.raises(RuntimeError, match="not fitted"):
        cb(mel, lens)
    cb.fit(cb.features(mel, lens)[0], seed=0)
    units = cb(mel, lens)
    assert units.shape == (2, 20) and (units[1, 11:] == -1).all() and (units[:, :11] >= 0).all()
    assert torch.equal(cb(mel[1:, :11], lens[1:])[0], units[1, :11])
    state = cb.state_dict()
    assert {"mean", "std", "centroids", "fitted"} <= state.keys()   # travels in checkpoints
