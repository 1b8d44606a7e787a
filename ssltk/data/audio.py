"""Reading audio files as 16 kHz mono float32, with errors that name the file and the fix.

    >>> wav = read_audio("utt.flac")                           # doctest: +SKIP
    >>> wav = read_audio("utt_44k.wav", resample=True)         # doctest: +SKIP

One policy for every reader (this module, training batches, decoding): models take
16 kHz mono; other rates are refused unless resampling is asked for, several channels
are refused unless downmixing (channel mean) is asked for (`to_mono`; training logs it once,
ssltk.data.dataset.audio_policy).
`diagnose` says in words what is wrong with a file a reader failed on.
"""
from __future__ import annotations

from math import gcd
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000


class AudioError(ValueError):
    """Audio that cannot be used as model input; the message names the file and the fix."""


def to_mono(audio: np.ndarray, downmix: bool, fix: str) -> np.ndarray:
    """(C, S) or (S,) -> (S,): one channel passes, several are averaged if `downmix`, else
    AudioError whose message ends with `fix` (the option that enables downmixing where it is raised)."""
    if audio.ndim == 1:
        return audio
    if audio.shape[0] == 1:
        return audio[0]
    if not downmix:
        raise AudioError(f"{audio.shape[0]} channels; models take mono audio: {fix} to average the channels, "
                         "or convert with `sox in.wav -c 1 out.wav`")
    return audio.mean(axis=0)


def diagnose(path: str | Path, sampling_rate: int | None = None, num_samples: int | None = None
             ) -> tuple[str, str] | None:
    """(kind, words) for an audio file a reader failed on, or None if the file reads completely and
    matches the manifest's `sampling_rate` / `num_samples` (then the failure is not the file's).

    kinds: missing, empty, not_audio, sample_rate, truncated."""
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        return "missing", "the file does not exist (moved or deleted after the manifest stage?)"
    if path.stat().st_size == 0:
        return "empty", "the file is empty (0 bytes)"
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as e:
        return "not_audio", f"not an audio file libsndfile can read ({str(e).split(': ')[-1].strip()})"
    if sampling_rate is not None and info.samplerate != sampling_rate:
        return "sample_rate", (f"sampled at {info.samplerate} Hz where the manifest says {sampling_rate} Hz: the "
                               "file changed after the manifest stage; re-run that stage")
    read, error = 0, ""
    try:
        with sf.SoundFile(str(path)) as f:
            while block := len(f.read(65536, dtype="float32")):
                read += block
    except (sf.LibsndfileError, RuntimeError) as e:
        error = f" ({str(e).split(': ')[-1].strip()})"
    expected = num_samples if num_samples is not None else info.frames
    if error or read < expected:
        return "truncated", f"truncated or corrupt: {read} of {expected} samples decode{error}"
    return None


def read_audio(path: str | Path, sample_rate: int = SAMPLE_RATE, resample: bool = False,
               downmix: bool = False) -> np.ndarray:
    """(S,) float32 waveform at `sample_rate`.

    Other sample rates raise AudioError unless resample=True (polyphase, scipy);
    multi-channel audio raises unless downmix=True (channel mean).
    """
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise AudioError(f"audio file {path} does not exist")
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except RuntimeError as e:  # soundfile.LibsndfileError and its kin
        raise AudioError(f"cannot read audio file {path}: {e}. Supported: WAV, FLAC, OGG, MP3, PCM SPHERE; "
                         "convert others with e.g. `sox in.m4a -r 16000 -c 1 out.flac`") from None
    try:
        wav = np.ascontiguousarray(to_mono(data.T, downmix, "pass --downmix"))
    except AudioError as e:
        raise AudioError(f"{path} has {e}") from None
    if sr != sample_rate:
        if not resample:
            raise AudioError(f"{path} is sampled at {sr} Hz; the model expects {sample_rate} Hz. "
                             f"Pass --resample, or convert with `sox {path.name} -r {sample_rate} out.flac`")
        from scipy.signal import resample_poly

        g = gcd(sr, sample_rate)
        wav = resample_poly(wav, sample_rate // g, sr // g).astype(np.float32)
    if wav.size == 0:
        raise AudioError(f"{path} contains no samples")
    if not np.isfinite(wav).all():
        raise AudioError(f"{path} contains NaN or infinite samples")
    return wav
