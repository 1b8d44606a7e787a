import numpy as np
import pytest

from ssltk.data.audio import AudioError, read_audio
from ssltk.testing import write_wav


def test_reads_16k_mono(tmp_path):
    wav = read_audio(write_wav(tmp_path / "a.flac", seconds=0.5))
    assert wav.dtype == np.float32 and wav.shape == (8000,)


def test_wrong_rate_is_an_error_unless_resampling(tmp_path):
    path = write_wav(tmp_path / "a.wav", seconds=0.5, sample_rate=8000)
    with pytest.raises(AudioError, match=r"8000 Hz.*expects 16000 Hz.*--resample"):
        read_audio(path)
    assert read_audio(path, resample=True).shape == (8000,)


def test_stereo_is_an_error_unless_downmixing(tmp_path):
    path = write_wav(tmp_path / "s.wav", seconds=0.25, channels=2)
    with pytest.raises(AudioError, match=r"2 channels.*--downmix"):
        read_audio(path)
    assert read_audio(path, downmix=True).shape == (4000,)


def test_missing_corrupt_and_empty_files(tmp_path):
    with pytest.raises(AudioError, match="does not exist"):
        read_audio(tmp_path / "nope.wav")
    (tmp_path / "bad.wav").write_bytes(b"RIFF0000garbage")
    with pytest.raises(AudioError, match=r"cannot read audio file .*bad.wav"):
        read_audio(tmp_path / "bad.wav")
    import soundfile as sf
    sf.write(tmp_path / "empty.wav", np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(AudioError, match="no samples"):
        read_audio(tmp_path / "empty.wav")
