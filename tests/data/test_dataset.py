import numpy as np
import pytest
import soundfile as sf
import torch

from ssltk.data.config import DataConfig
from ssltk.data.dataset import (AudioBatchDataset, BatchStream, audio_policy, build_sampler, change_speed, crop_offset,
                                load_cuts, pretrain_loader, speed_factor)
from ssltk.testing import write_cuts, write_wav


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


def test_speed_perturbation_changes_tempo_and_pitch_only_in_training(tmp_path):
    t = np.arange(16000) / 16000
    tone = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    fast = change_speed(tone, 1.1)
    assert fast.dtype == np.float32 and abs(len(fast) - 16000 / 1.1) <= 1
    peak = np.argmax(np.abs(np.fft.rfft(fast))) * 16000 / len(fast)
    assert abs(peak - 484) < 3  # sox `speed 1.1`: 440 Hz plays at 484 Hz
    assert change_speed(tone, 1.0) is tone
    # the factor is a pure function of (seed, epoch, cut): a resumed run perturbs as the first did
    factors = (0.9, 1.0, 1.1)
    draws = {speed_factor(f"c{i}", factors, 0, 0) for i in range(30)}
    assert draws == set(factors) and speed_factor("c1", factors, 0, 0) == speed_factor("c1", factors, 0, 0)
    assert speed_factor("c1", (), 0, 0) == 1.0
    path = write_cuts(tmp_path, [2.0] * 8)
    cfg = DataConfig(min_samples=0, speed_perturb=[0.9, 1.1], num_buckets=1)
    train = AudioBatchDataset(cfg, seed=0, crop=False, perturb=True)[load_cuts(path)]
    assert set(train["audio_lens"].tolist()) == {round(32000 / 0.9), round(32000 / 1.1)}
    valid = AudioBatchDataset(cfg, seed=0, crop=False)[load_cuts(path)]
    assert set(valid["audio_lens"].tolist()) == {32000}
    with pytest.raises(ValueError, match="speed_perturb"):
        DataConfig(speed_perturb=[3.0])


def test_bad_short_and_wrong_rate_audio_is_skipped_and_named(tmp_path):
    path = write_cuts(tmp_path, [2.5, 2.5, 0.5, 2.5])
    cuts = list(load_cuts(path))
    (tmp_path / "wav" / "utt0_0001.flac").write_bytes(b"corrupt")
    cuts.append(next(iter(load_cuts(write_cuts(tmp_path / "8k", [2.5], seed=5, sample_rate=8000)))))
    batch = AudioBatchDataset(DataConfig(min_samples=32000))[cuts]
    assert batch["audio"].shape[0] == 2
    skipped = {s.cut_id.split("-")[0]: s for s in batch["skipped"]}
    assert set(skipped) == {"utt0_0001", "utt0_0002", "utt5_0000"}
    assert skipped["utt0_0001"].source.endswith("utt0_0001.flac") and skipped["utt0_0001"].kind == "not_audio"
    assert "too short" in skipped["utt0_0002"].reason and skipped["utt0_0002"].kind == "too_short"
    assert "8000 Hz" in skipped["utt5_0000"].reason and "data.resample=true" in skipped["utt5_0000"].reason
    resampled = AudioBatchDataset(DataConfig(min_samples=32000, resample=True))[cuts[-1:]]
    assert resampled["audio"].shape == (1, 40000)


def test_a_cut_skipped_every_epoch_is_warned_about_once_and_counted_each_time(tmp_path, caplog):
    path = write_cuts(tmp_path, [2.5, 0.5, 2.5])
    cfg = DataConfig(max_duration=100, min_samples=16000, num_buckets=1, num_workers=0)
    stream = BatchStream(pretrain_loader(load_cuts(path), cfg, seed=0), epoch=0, consumed=0)
    with caplog.at_level("WARNING", logger="ssltk.data.dataset"):
        for _ in range(3):  # one batch per epoch: three epochs
            assert stream.next_nonempty()["audio"].shape[0] == 2
    assert stream.epoch == 2 and stream.skipped["too_short"] == 3
    warnings = [r.getMessage() for r in caplog.records if r.getMessage().startswith("skipping")]
    assert len(warnings) == 1 and "utt0_0001.flac" in warnings[0] and "too short" in warnings[0]


def test_broken_files_are_skipped_with_the_problem_in_words(tmp_path):
    """Files that broke after the manifest stage: each skip has a kind and says what is wrong,
    through lhotse's default reader and through the libsndfile-only one (which raises TypeError)."""
    from lhotse.audio.backend import get_current_audio_backend, set_current_audio_backend

    path = write_cuts(tmp_path, [2.0] * 6)
    wav = tmp_path / "wav"
    (wav / "utt0_0000.flac").write_bytes(b"")                                     # zero bytes
    (wav / "utt0_0001.flac").write_text("not audio at all\n" * 40)               # text named .flac
    data = (wav / "utt0_0002.flac").read_bytes()
    (wav / "utt0_0002.flac").write_bytes(data[: len(data) // 2])                  # truncated
    write_wav(wav / "utt0_0003.flac", seconds=2.0, sample_rate=8000)              # re-recorded at 8 kHz
    (wav / "utt0_0004.flac").unlink()                                             # deleted
    expected = {"utt0_0000": ("empty", "0 bytes"), "utt0_0001": ("not_audio", "not an audio file"),
                "utt0_0002": ("truncated", "truncated or corrupt"),
                "utt0_0003": ("sample_rate", "sampled at 8000 Hz where the manifest says 16000 Hz"),
                "utt0_0004": ("missing", "does not exist")}
    before = get_current_audio_backend()
    try:
        for sndfile_only in (False, True):
            ds = AudioBatchDataset(DataConfig(min_samples=0))  # sets the libsndfile backend without sph2pipe
            if not sndfile_only:
                set_current_audio_backend(before)
            batch = ds[load_cuts(path)]
            assert [c.split("-")[0] for c in batch["cut_ids"]] == ["utt0_0005"]
            got = {s.cut_id.split("-")[0]: (s.kind, s.reason) for s in batch["skipped"]}
            assert got.keys() == expected.keys()
            for cut_id, (kind, words) in expected.items():
                assert got[cut_id][0] == kind and words in got[cut_id][1], (sndfile_only, got[cut_id])
                assert "integer is required" not in got[cut_id][1] and "report this issue" not in got[cut_id][1]
    finally:
        set_current_audio_backend(before)


def test_multichannel_cuts_follow_the_one_mono_policy(tmp_path):
    from lhotse import CutSet, Recording, RecordingSet

    rec = Recording.from_file(write_wav(tmp_path / "stereo.flac", seconds=2.0, channels=2), recording_id="st")
    cuts = CutSet.from_manifests(recordings=RecordingSet.from_recordings([rec]))
    refused = AudioBatchDataset(DataConfig(min_samples=0))[cuts]
    assert refused["audio"].shape[0] == 0 and refused["skipped"][0].kind == "channels"
    assert "2 channels" in refused["skipped"][0].reason and "data.downmix=true" in refused["skipped"][0].reason
    mixed = AudioBatchDataset(DataConfig(min_samples=0, downmix=True))[cuts]
    assert mixed["audio"].shape == (1, 32000)
    assert "skipped (data.downmix=true" in audio_policy(DataConfig())
    assert "averaged to mono" in audio_policy(DataConfig(downmix=True))


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
