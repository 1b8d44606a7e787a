"""Reading audio files as 16 kHz mono float32, with errors that name the file and the fix.

    >>> wav = read_audio("utt.flac")                           # doctest: +SKIP
    >>> wav = read_audio("utt_44k.wav", resample=True)         # doctest: +SKIP
"""
from __future__ import annotations

from math import gcd
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000


class AudioError(ValueError):
    """Audio that cannot be used as model input; the message names the file and the fix."""


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
    except Exception as e:  # noqa: BLE001 - libsndfile errors come in several types
        raise AudioError(f"cannot read audio file {path}: {e}. Supported: WAV, FLAC, OGG, MP3, PCM SPHERE; "
                         "convert others with e.g. `sox in.m4a -r 16000 -c 1 out.flac`") from None
    if data.shape[1] > 1:
        if not downmix:
            raise AudioError(f"{path} has {data.shape[1]} channels; ssltk models take mono audio. "
                             "Pass --downmix to average the channels, or convert with `sox in.wav -c 1 out.wav`")
        data = data.mean(axis=1, keepdims=True)
    wav = data[:, 0]
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
