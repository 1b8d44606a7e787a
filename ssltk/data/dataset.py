"""Lhotse CutSets -> padded waveform batches, in duration-sized buckets.

The sampler (lhotse DynamicBucketingSampler) yields CutSets of about
`max_duration` seconds; the dataset reads their audio in DataLoader workers,
crops long cuts to `max_samples` at an offset that is a pure function of
(seed, epoch, cut id), speed-perturbs training cuts by a factor drawn the same way (data.speed_perturb), skips unusable cuts (unreadable, empty, too short, wrong
sample rate, several channels), each with a kind and the problem in words, and pads to (N, S) with `audio_lens`.

Resuming mid-epoch replays the sampler's deterministic order for the epoch and
skips the batches already consumed, so a resumed run sees exactly the batches
an uninterrupted run would.

    >>> cuts = load_cuts("data/manifests/cuts_train.jsonl.gz")          # doctest: +SKIP
    >>> loader = pretrain_loader(cuts, DataConfig(), seed=1)            # doctest: +SKIP
    >>> loader.sampler.set_position(epoch=0, skip=0)                    # doctest: +SKIP
"""
from __future__ import annotations

import itertools
import logging
import os
import random
import signal
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from ssltk.data.audio import SAMPLE_RATE, AudioError, diagnose, to_mono
from ssltk.data.config import DataConfig

log = logging.getLogger(__name__)


class DataError(ValueError):
    """Training data that cannot be used; the message names the file and the fix."""


class UnusableAudio(DataError):
    """One cut whose audio cannot be used; `kind` classifies it for the skip counters."""

    def __init__(self, kind: str, words: str):
        super().__init__(words)
        self.kind = kind


def load_cuts(path: str | Path):
    """A lazily read CutSet from a .jsonl(.gz) manifest or a Lhotse Shar directory."""
    from lhotse import CutSet

    path = Path(path)
    if not str(path):
        raise DataError("no CutSet given: set data.train_cuts to a cuts .jsonl.gz manifest or a Shar directory")
    if path.is_dir():
        shards = sorted(path.glob("cuts.*.jsonl*"))
        if not shards:
            raise DataError(f"{path} is a directory without cuts.*.jsonl.gz shards (not a Lhotse Shar directory)")
        # explicit fields: other files (a recipe's .done marker) must not be read as a field
        fields = {"cuts": shards}
        for name in sorted({p.name.split(".")[0] for p in path.iterdir() if not p.name.startswith(".")} - {"cuts"}):
            fields[name] = sorted(path.glob(f"{name}.*"))
        return CutSet.from_shar(fields=fields)
    if not path.is_file():
        raise DataError(f"CutSet manifest {path} does not exist; prepare it with the recipe's manifest stage")
    return CutSet.from_jsonl_lazy(path) if ".jsonl" in path.name else CutSet.from_file(path)


@dataclass
class Skipped:
    cut_id: str
    source: str
    reason: str
    """The problem in words, with the fix where there is one."""
    kind: str = "unreadable"
    """missing, empty, not_audio, truncated, sample_rate, channels, nonfinite, too_short, unreadable;
    no_transcript, too_long, bad_transcript (fine-tuning)."""


def audio_policy(cfg: DataConfig) -> str:
    """The one-line statement of what happens to cuts that are not 16 kHz mono, for the log."""
    return (f"audio: models take {SAMPLE_RATE} Hz mono; other sample rates are "
            f"{'resampled' if cfg.resample else 'skipped (data.resample=true resamples them)'}, multi-channel "
            f"cuts {'averaged to mono' if cfg.downmix else 'skipped (data.downmix=true averages them)'}")


def _read_failure(cut, error: Exception) -> UnusableAudio:
    """What is wrong with a cut whose audio lhotse failed to read, found by looking at the file.

    A TypeError from a file that reads fine is a bug, not bad data, and propagates."""
    from lhotse.audio.utils import AudioLoadingError

    files = [s.source for s in getattr(cut.recording, "sources", []) if s.type == "file"]
    if len(files) == 1:
        problem = diagnose(files[0], cut.recording.sampling_rate, cut.recording.num_samples)
        if problem is not None:
            return UnusableAudio(*problem)
    if isinstance(error, (AudioLoadingError, OSError)):
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return UnusableAudio("unreadable", first[:300])
    raise error


def _source(cut) -> str:
    try:
        return ",".join(s.source for s in cut.recording.sources)
    except AttributeError:
        return "<no recording>"


def crop_offset(cut_id: str, num_samples: int, max_samples: int, seed: int, epoch: int) -> int:
    """Deterministic random crop start: the same cut gets the same offset in a resumed run."""
    if num_samples <= max_samples:
        return 0
    return random.Random(f"{seed}/{epoch}/{cut_id}").randrange(num_samples - max_samples + 1)


def speed_factor(cut_id: str, factors: tuple[float, ...], seed: int, epoch: int) -> float:
    """The speed factor of a cut in an epoch: a pure function of (seed, epoch, cut id), as the crop."""
    return random.Random(f"{seed}/{epoch}/{cut_id}/speed").choice(factors) if factors else 1.0


def change_speed(audio: np.ndarray, factor: float) -> np.ndarray:
    """Kaldi's / sox's `speed`: play `factor` times faster, tempo and pitch together (the length
    becomes len / factor), by polyphase resampling."""
    if factor == 1.0:
        return audio
    from scipy.signal import resample_poly

    ratio = Fraction(factor).limit_denominator(100)
    return resample_poly(audio, ratio.denominator, ratio.numerator).astype(np.float32)


def sphere_without_sph2pipe() -> None:
    """Read NIST sphere (.sph, PCM) with libsndfile when the sph2pipe binary is absent (lhotse would
    otherwise shell out to sph2pipe and fail)."""
    import shutil

    if shutil.which("sph2pipe") is None:
        os.environ["LHOTSE_AUDIO_BACKEND"] = "LibsndfileBackend"
        from lhotse.audio.backend import LibsndfileBackend, set_current_audio_backend

        set_current_audio_backend(LibsndfileBackend())


class AudioBatchDataset(torch.utils.data.Dataset):
    """CutSet -> {'audio': (N, S), 'audio_lens': (N,), 'cut_ids', 'skipped': [Skipped]}."""

    def __init__(self, cfg: DataConfig, seed: int = 0, crop: bool = True, perturb: bool = False):
        """crop: cut long audio to cfg.max_samples; perturb: apply cfg.speed_perturb (training)."""
        self.cfg, self.seed, self.crop = cfg, seed, crop
        self.speeds = cfg.speed_perturb if perturb else ()
        self.epoch = 0
        sphere_without_sph2pipe()

    def load(self, cut) -> np.ndarray:
        """(S,) float32 16 kHz mono samples of `cut`, or UnusableAudio saying why not."""
        from lhotse.audio.utils import AudioLoadingError

        if cut.sampling_rate != SAMPLE_RATE:
            if not self.cfg.resample:
                raise UnusableAudio("sample_rate", f"sampled at {cut.sampling_rate} Hz, not {SAMPLE_RATE} Hz "
                                    "(set data.resample=true, or resample the manifest with cuts.resample(16000))")
            cut = cut.resample(SAMPLE_RATE)
        try:
            audio = cut.load_audio()
        # TypeError: what lhotse 1.33 LibsndfileBackend raises for empty, non-audio and truncated files
        except (AudioLoadingError, RuntimeError, OSError, TypeError) as e:
            raise _read_failure(cut, e) from None
        try:
            audio = to_mono(audio, self.cfg.downmix, "set data.downmix=true (ssltk.bin.decode: --downmix)")
        except AudioError as e:
            raise UnusableAudio("channels", str(e)) from None
        if audio.size == 0:
            raise UnusableAudio("empty", "no samples")
        if not np.isfinite(audio).all():
            raise UnusableAudio("nonfinite", "NaN or infinite samples")
        return audio.astype(np.float32, copy=False)

    def __getitem__(self, cuts) -> dict:
        waves, ids, skipped = [], [], []
        for cut in cuts:
            try:
                audio = self.load(cut)
            except UnusableAudio as e:
                skipped.append(Skipped(cut.id, _source(cut), str(e), e.kind))
                continue
            audio = change_speed(audio, speed_factor(cut.id, self.speeds, self.seed, self.epoch))
            if audio.shape[0] < self.cfg.min_samples:
                skipped.append(Skipped(cut.id, _source(cut), f"too short ({audio.shape[0]} < "
                                                            f"{self.cfg.min_samples} samples)", "too_short"))
                continue
            if self.crop and audio.shape[0] > self.cfg.max_samples:
                start = crop_offset(cut.id, audio.shape[0], self.cfg.max_samples, self.seed, self.epoch)
                audio = audio[start:start + self.cfg.max_samples]
            waves.append(torch.from_numpy(np.ascontiguousarray(audio)))
            ids.append(cut.id)
        lens = torch.tensor([w.shape[0] for w in waves], dtype=torch.long)
        batch = torch.zeros(len(waves), int(lens.max()) if waves else 0)
        for i, w in enumerate(waves):
            batch[i, : w.shape[0]] = w
        return {"audio": batch, "audio_lens": lens, "cut_ids": ids, "skipped": skipped}


class SupervisedBatchDataset(AudioBatchDataset):
    """Adds CTC targets: {'targets': [[ids]], 'texts', 'speakers'} for cuts with transcripts (and
    'aux_targets' from `aux_tokenizer`, the token set of a second CTC output layer: None for a cut
    it cannot encode).

    Cuts without a transcript, with characters the tokenizer lacks, or longer than
    max_samples (no cropping: the transcript must match the audio) are skipped."""

    def __init__(self, cfg: DataConfig, tokenizer, seed: int = 0, perturb: bool = False, aux_tokenizer=None):
        super().__init__(cfg, seed, crop=False, perturb=perturb)
        self.tokenizer, self.aux_tokenizer = tokenizer, aux_tokenizer

    def aux_encode(self, text: str) -> list[int] | None:
        """The auxiliary targets, or None where that token set cannot spell the transcript (a word
        outside a phone lexicon): the cut still trains the main layer."""
        if self.aux_tokenizer is None:
            return None
        try:
            return self.aux_tokenizer.encode(text)
        except ValueError:
            return None

    def __getitem__(self, cuts) -> dict:
        keep, skipped, targets, aux_targets, texts, speakers = [], [], [], [], [], []
        for cut in cuts:
            text = " ".join(s.text or "" for s in cut.supervisions).strip()
            reason = None
            if not text:
                reason = ("no_transcript", "empty transcript (no supervision text)")
            elif cut.num_samples is not None and cut.num_samples * SAMPLE_RATE / cut.sampling_rate > self.cfg.max_samples:
                reason = ("too_long", f"longer than data.max_samples={self.cfg.max_samples}")
            else:
                try:
                    ids = self.tokenizer.encode(text)
                    aux_ids = self.aux_encode(text)
                except ValueError as e:
                    reason = ("bad_transcript", f"transcript: {e}")
            if reason:
                skipped.append(Skipped(cut.id, _source(cut), reason[1], reason[0]))
                continue
            keep.append(cut)
            targets.append(ids)
            aux_targets.append(aux_ids)
            texts.append(text)
            speakers.append(cut.supervisions[0].speaker or cut.id)
        batch = super().__getitem__(keep)
        loaded = set(batch["cut_ids"])
        order = [i for i, c in enumerate(keep) if c.id in loaded]
        if self.aux_tokenizer is not None:
            batch["aux_targets"] = [aux_targets[i] for i in order]
        batch.update(targets=[targets[i] for i in order], texts=[texts[i] for i in order],
                     speakers=[speakers[i] for i in order], skipped=skipped + batch["skipped"])
        return batch


class ResumableBatches(torch.utils.data.Sampler):
    """Wraps a lhotse sampler: epoch-seeded order, skipping batches already consumed."""

    def __init__(self, sampler, dataset: AudioBatchDataset | None = None):
        self.sampler, self.dataset = sampler, dataset
        self.epoch, self.skip = 0, 0

    def set_position(self, epoch: int, skip: int) -> None:
        self.epoch, self.skip = epoch, skip
        if self.dataset is not None:
            self.dataset.epoch = epoch

    def __iter__(self):
        self.sampler.set_epoch(self.epoch)
        for i, cuts in enumerate(self.sampler):
            if i >= self.skip:
                yield cuts
        self.skip = 0

    def __len__(self):  # unknown for lazy manifests
        raise TypeError("the number of batches of a dynamic bucketing sampler is unknown in advance")


def build_sampler(cuts, cfg: DataConfig, seed: int, world_size: int = 1, rank: int = 0, shuffle: bool | None = None):
    from lhotse.dataset import DynamicBucketingSampler, DynamicCutSampler

    # lhotse estimates bucket edges from the first 10k cuts and needs >= 2 buckets; a batch comes
    # from one bucket, so small corpora get fewer buckets (>= 10 cuts each) to fill batches.
    seen = sum(1 for _ in itertools.islice(iter(cuts), 10000))
    if seen == 0:
        raise DataError("the CutSet is empty; check the manifest stage's output")
    buckets = min(cfg.num_buckets, seen // 10)
    common = dict(max_duration=cfg.max_duration, shuffle=cfg.shuffle if shuffle is None else shuffle, seed=seed,
                  world_size=world_size, rank=rank, drop_last=False)
    if buckets < 2:
        return DynamicCutSampler(cuts, **common)
    return DynamicBucketingSampler(cuts, num_buckets=buckets, **common)


def _worker_ignores_stop_signals(worker_id: int) -> None:
    """SIGTERM to the whole process group (Slurm, a shutdown) must stop the run through the trainer's
    checkpoint-and-stop handler: a worker killed by it would crash the main process first. Workers
    still end with their parent (the DataLoader's shutdown sentinel, or its parent watchdog)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def pretrain_loader(cuts, cfg: DataConfig, seed: int, world_size: int = 1, rank: int = 0,
                    validation: bool = False, dataset: AudioBatchDataset | None = None) -> torch.utils.data.DataLoader:
    """DataLoader over a ResumableBatches sampler (loader.sampler) and an AudioBatchDataset
    (cropping, for pre-training) or the given dataset (e.g. SupervisedBatchDataset)."""
    dataset = dataset if dataset is not None else AudioBatchDataset(cfg, seed=seed, crop=True, perturb=not validation)
    sampler = ResumableBatches(build_sampler(cuts, cfg, seed, world_size, rank,
                                             shuffle=False if validation else None), dataset)
    return torch.utils.data.DataLoader(dataset, sampler=sampler, batch_size=None,
                                       num_workers=0 if validation else cfg.num_workers,
                                       persistent_workers=False, worker_init_fn=_worker_ignores_stop_signals)


class BatchStream:
    """Endless non-empty batches over epochs, tracking (epoch, batches consumed) for resuming;
    skipped cuts are warned about (once per cut, the first `max_warnings` cuts) and counted in `skipped` by kind."""

    def __init__(self, loader, epoch: int, consumed: int, max_warnings: int = 20):
        self.loader, self.epoch, self.consumed = loader, epoch, consumed
        self.skipped: Counter = Counter()
        self.max_warnings = max_warnings
        self._warned: set[str] = set()  # cut ids already warned about (a short cut is skipped every epoch)
        self._it = None
        self._started_at = 0
        self._usable = 0
        self._examples: list[str] = []

    def _restart(self):
        self.loader.sampler.set_position(self.epoch, self.consumed)
        self._it, self._started_at, self._usable = iter(self.loader), self.consumed, 0

    def next_nonempty(self) -> dict:
        while True:
            if self._it is None:
                self._restart()
            try:
                batch = next(self._it)
            except StopIteration:
                if self._started_at == 0 and self._usable == 0:  # a whole epoch without one usable cut
                    raise DataError("no usable audio in the training CutSet: every cut was skipped"
                                    + (f"; e.g. {'; '.join(self._examples)}" if self._examples else
                                       " (the manifest is empty)")) from None
                self.epoch, self.consumed, self._it = self.epoch + 1, 0, None
                continue
            self.consumed += 1
            for s in batch["skipped"]:
                self.skipped[s.kind] += 1
                msg = f"cut {s.cut_id} ({s.source}): {s.reason}"
                if len(self._examples) < 3:
                    self._examples.append(msg)
                if s.cut_id not in self._warned and len(self._warned) < self.max_warnings:
                    log.warning("skipping %s", msg)
                    self._warned.add(s.cut_id)
                    if len(self._warned) == self.max_warnings:
                        log.warning("further skipped cuts are only counted (metrics: skipped_cuts)")
            if batch["audio"].shape[0] > 0:
                self._usable += batch["audio"].shape[0]
                return batch
