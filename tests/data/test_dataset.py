import soundfile as sf
import torch

from ssltk.data.dataset import AudioBatchDataset, build_sampler, crop_offset, load_cuts, pretrain_loader
from ssltk.testing import write_cuts
from ssltk.train.config import DataConfig


def test_batches_respect_the_seconds_budget_and_report_padding(tmp_path):
    path = write_cuts(tmp_path, [1.0 + 0.25 * i for i in range(20)])
    cfg = DataConfig(max_duration=8.0, num_buckets=4, min_samples=0, num_workers=0)
    loader = pretrain_loader(load_cuts(path), cfg, seed=0)
    total, seen, sizes = 0, set(), []
    for batch in loader:
        secs = float(batch["audio_lens"].sum()) / 16000
        longest = float(batch["audio_lens"].max()) / 16000
        # lhotse's budget is approximate: a bucket may go over by at most one cut
        assert secs - longest <= 8.0 + 1e-6
        padding = 1 - float(batch["audio_lens"].sum()) / batch["audio"].numel()
        assert 0 <= padding < 0.5  # duration buckets keep padding low
        total += secs
        sizes.append(secs)
        seen.update(batch["cut_ids"])
    assert len(seen) == 20 and abs(total - sum(1.0 + 0.25 * i for i in range(20))) < 1e-3
    assert sum(sizes) / len(sizes) > 4.0  # batches are filled towards the budget


def test_crops_are_deterministic_and_bounded(tmp_path):
    path = write_cuts(tmp_path, [3.0, 1.0])
    cfg = DataConfig(max_duration=100, max_samples=16000, min_samples=0, num_buckets=1)
    ds = AudioBatchDataset(cfg, seed=3)
    a, b = ds[load_cuts(path)], ds[load_cuts(path)]
    assert torch.equal(a["audio"], b["audio"]) and a["audio"].shape[1] == 16000
    assert crop_offset("x", 48000, 16000, 3, 0) == crop_offset("x", 48000, 16000, 3, 0)
    assert crop_offset("x", 48000, 16000, 3, 0) != crop_offset("x", 48000, 16000, 3, 1)


def test_bad_short_and_wrong_rate_audio_is_skipped_and_named(tmp_path):
    path = write_cuts(tmp_path, [2.5, 2.5, 0.5, 2.5])
    cuts = list(load_cuts(path))
    (tmp_path / "wav" / "utt0_0001.flac").write_bytes(b"corrupt")
    cuts.append(next(iter(load_cuts(write_cuts(tmp_path / "8k", [2.5], seed=5, sample_rate=8000)))))
    batch = AudioBatchDataset(DataConfig(min_samples=32000))[cuts]
    assert batch["audio"].shape[0] == 2
    skipped = {s.cut_id.split("-")[0]: s for s in batch["skipped"]}
    assert set(skipped) == {"utt0_0001", "utt0_0002", "utt5_0000"}
    assert skipped["utt0_0001"].source.endswith("utt0_0001.flac") and "Error" in skipped["utt0_0001"].reason
    assert "too short" in skipped["utt0_0002"].reason
    assert "8000 Hz" in skipped["utt5_0000"].reason and "data.resample=true" in skipped["utt5_0000"].reason
    resampled = AudioBatchDataset(DataConfig(min_samples=32000, resample=True))[cuts[-1:]]
    assert resampled["audio"].shape == (1, 40000)


def test_distributed_ranks_get_disjoint_shares(tmp_path):
    path = write_cuts(tmp_path, [1.0] * 16)
    cfg = DataConfig(max_duration=3.0, num_buckets=1)
    ids = []
    for rank in range(2):
        s = build_sampler(load_cuts(path), cfg, seed=0, world_size=2, rank=rank)
        s.set_epoch(0)
        ids.append({c.id for b in s for c in b})
    assert not ids[0] & ids[1] and len(ids[0] | ids[1]) >= 12


def test_sf_available():  # the corpus helpers write FLAC through soundfile
    assert "FLAC" in sf.available_formats()


def test_shar_directories_load_like_manifests(tmp_path):
    path = write_cuts(tmp_path, [2.0, 2.5, 3.0])
    shar = tmp_path / "shar"
    shar.mkdir()
    load_cuts(path).to_shar(shar, fields={"recording": "flac"}, shard_size=2)
    cuts = load_cuts(shar)
    batch = AudioBatchDataset(DataConfig(min_samples=0))[cuts]
    assert batch["audio"].shape == (3, 48000) and not batch["skipped"]
    import pytest

    from ssltk.data.dataset import DataError
    with pytest.raises(DataError, match="not a Lhotse Shar directory"):
        load_cuts(tmp_path / "wav")
