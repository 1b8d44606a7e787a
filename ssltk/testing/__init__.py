"""Fixtures shared by the tests: synthetic audio batches and files (no downloads).

    >>> wav, lens = synthetic_batch([1600, 1200], seed=0)
    >>> wav.shape, float(wav[1, 1200:].abs().sum())
    (torch.Size([2, 1600]), 0.0)
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

TEST_PRESETS = ["w2v2-test", "w2v2-large-test", "sew-test", "sewd-test", "fbank-test"]


def synthetic_batch(lengths: list[int], seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-padded (N, S) batch of noisy harmonic signals and their lengths."""
    g = torch.Generator().manual_seed(seed)
    n, s = len(lengths), max(lengths)
    wav = torch.zeros(n, s)
    for i, length in enumerate(lengths):
        t = torch.arange(length) / 16000
        f0 = 100 + 200 * torch.rand((), generator=g)
        sig = sum(torch.sin(2 * torch.pi * f0 * h * t) / h for h in range(1, 5))
        wav[i, :length] = 0.3 * sig + 0.05 * torch.randn(length, generator=g)
    return wav, torch.tensor(lengths)


def write_wav(path: str | Path, seconds: float = 1.0, sample_rate: int = 16000, channels: int = 1,
              seed: int = 0) -> Path:
    """A synthetic audio file (format from the suffix: .wav, .flac)."""
    import soundfile as sf

    wav, _ = synthetic_batch([int(seconds * sample_rate)] * channels, seed)
    data = wav.numpy().T if channels > 1 else wav[0].numpy()
    sf.write(str(path), np.ascontiguousarray(data), sample_rate)
    return Path(path)


def write_cuts(directory: str | Path, durations: list[float], seed: int = 0, name: str = "cuts.jsonl.gz",
               sample_rate: int = 16000, texts: list[str] | None = None) -> Path:
    """A tiny on-disk corpus: one FLAC per utterance and a Lhotse CutSet manifest
    (with one supervision per utterance when `texts` are given; speaker = utterance % 2)."""
    from lhotse import CutSet, Recording, RecordingSet, SupervisionSegment, SupervisionSet

    directory = Path(directory)
    (directory / "wav").mkdir(parents=True, exist_ok=True)
    recs, sups = [], []
    for i, d in enumerate(durations):
        rid = f"utt{seed}_{i:04d}"
        path = write_wav(directory / "wav" / f"{rid}.flac", seconds=d, sample_rate=sample_rate, seed=seed * 1000 + i)
        recs.append(Recording.from_file(path, recording_id=rid))
        if texts is not None:
            sups.append(SupervisionSegment(id=rid, recording_id=rid, start=0.0, duration=recs[-1].duration,
                                           text=texts[i], speaker=f"spk{i % 2}"))
    cuts = CutSet.from_manifests(recordings=RecordingSet.from_recordings(recs),
                                 supervisions=SupervisionSet.from_segments(sups) if sups else None)
    out = directory / name
    cuts.to_file(out)
    return out


def pretrain_overrides(corpus: dict, **kw) -> list[str]:
    """key=value overrides for a seconds-long pre-training run of the tiny SEW-D preset."""
    args = {"preset": "sewd-test", "data.train_cuts": corpus["train"], "data.max_duration": 10,
            "data.num_workers": 0, "train.max_updates": 6, "train.log_every": 2, "train.checkpoint_every": 3,
            "schedule.warmup_updates": 2, "train.progress_bar": "false"}
    args.update(kw)
    return [f"{k}={v}" for k, v in args.items()]


def state_after_resume(train, cfg, exp_dir: str | Path, from_update: int) -> dict:
    """Run `train(cfg, exp_dir)` to the end, delete the checkpoints after `from_update`, run it again
    (a resume from that checkpoint) and return the final checkpoint's model state."""
    from ssltk.models.checkpoint import load_checkpoint
    from ssltk.train.checkpoint import latest_checkpoint, list_checkpoints

    Path(exp_dir).mkdir(parents=True, exist_ok=True)
    train(cfg, exp_dir)
    for update, path in list_checkpoints(exp_dir):
        if update > from_update:
            path.unlink()
    train(cfg, exp_dir)
    return load_checkpoint(latest_checkpoint(exp_dir))["model"]
