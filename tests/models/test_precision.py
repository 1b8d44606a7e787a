import logging

import pytest
import torch

from ssltk.models import precision
from ssltk.models.precision import autocast, cpu_bf16_flags, log_amp, resolve_amp

CPU = torch.device("cpu")


@pytest.fixture
def cpuinfo(tmp_path, monkeypatch):
    """Point the detection at a fake /proc/cpuinfo with the given flags."""
    def fake(flags: str):
        path = tmp_path / "cpuinfo"
        path.write_text(f"processor\t: 0\nflags\t\t: fpu sse avx2 {flags}\n")
        real = cpu_bf16_flags.__wrapped__
        monkeypatch.setattr(precision, "cpu_bf16_flags", lambda: real(str(path)))
    return fake


@pytest.mark.parametrize("flags,expected", [("avx512f avx512_bf16", "bf16"), ("amx_tile amx_bf16", "bf16"),
                                            ("avx512f", "none"), ("", "none")])
def test_auto_and_bf16_follow_the_cpu_flags(cpuinfo, flags, expected):
    cpuinfo(flags)
    assert resolve_amp("auto", CPU)[0] == expected
    assert resolve_amp("bf16", CPU)[0] == expected
    assert resolve_amp("none", CPU)[0] == "none"


def test_bf16_request_without_support_warns_and_names_the_fallback(cpuinfo, caplog):
    cpuinfo("avx512f")
    with caplog.at_level(logging.INFO, "ssltk.models.precision"):
        assert log_amp("bf16", CPU) == "none"
    [rec] = caplog.records
    assert rec.levelno == logging.WARNING and "running fp32" in rec.message and "avx512_bf16" in rec.message
    with autocast("bf16", CPU):
        assert not torch.is_autocast_enabled("cpu")


def test_bf16_with_support_autocasts_matmuls(cpuinfo):
    cpuinfo("avx512_bf16")
    with autocast("auto", CPU):
        y = torch.ones(2, 3) @ torch.ones(3, 2)
    assert y.dtype == torch.bfloat16


def test_fp16_off_cuda_and_unknown_modes_are_errors():
    with pytest.raises(ValueError, match="fp16 needs CUDA"):
        resolve_amp("fp16", CPU)
    with pytest.raises(ValueError, match="expected auto"):
        resolve_amp("fp8", CPU)


def test_missing_cpuinfo_means_no_flags(tmp_path):
    assert cpu_bf16_flags.__wrapped__(str(tmp_path / "absent")) == ()
