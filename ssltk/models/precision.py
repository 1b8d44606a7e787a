"""Numeric precision of training and inference: which autocast a run gets on its device.

bf16 pays on a CPU only where the processor has bf16 instructions (AVX-512 BF16 or AMX):
measured on one (benchmarks/), a 2048^2 GEMM runs 865 GFLOP/s in bf16 against 180 in fp32. Elsewhere
torch emulates bf16 and it is slower than fp32, so a bf16 request there runs fp32 and says so.

    amp      CPU with avx512_bf16/amx_bf16   other CPU        CUDA
    auto     bf16                           fp32 (none)      bf16 if the GPU supports it, else fp32
    bf16     bf16                           fp32 + warning   bf16
    fp16     error (CUDA only)              error            fp16 with loss scaling
    none     fp32                           fp32             fp32

    >>> resolve_amp("none", torch.device("cpu"))
    ('none', 'fp32 (train.amp=none)')
"""
from __future__ import annotations

import contextlib
import functools
import logging
from pathlib import Path

import torch

log = logging.getLogger(__name__)
CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


@functools.lru_cache(maxsize=None)
def cpu_bf16_flags(cpuinfo: str = "/proc/cpuinfo") -> tuple[str, ...]:
    """The bf16 instruction-set flags this CPU reports (empty where there are none or no /proc/cpuinfo)."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return ()
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return tuple(f for f in CPU_BF16_FLAGS if f in flags)


def resolve_amp(amp: str, device: torch.device, key: str = "train.amp") -> tuple[str, str]:
    """(the autocast mode to use on `device`: none | bf16 | fp16, one line saying why) for a request.

    A bf16 request that cannot pay (a CPU without bf16 instructions) resolves to none; fp16 off CUDA
    is a ValueError, since fp16 without a GPU has no fallback worth taking silently."""
    if amp == "none":
        return "none", f"fp32 ({key}=none)"
    if amp == "fp16":
        if device.type != "cuda":
            raise ValueError(f"{key}=fp16 needs CUDA; use {key}=bf16 (or auto) on CPU")
        return "fp16", f"fp16 autocast with loss scaling ({key}=fp16)"
    if amp not in ("auto", "bf16"):
        raise ValueError(f"{key}={amp}: expected auto, none, bf16 or fp16")
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported():
            return "bf16", f"bf16 autocast ({key}={amp}, the GPU supports bf16)"
        why = f"{key}={amp} but this GPU has no bf16: fp32"
    else:
        flags = cpu_bf16_flags()
        if flags:
            return "bf16", f"bf16 autocast ({key}={amp}; the CPU has {', '.join(flags)})"
        why = (f"{key}={amp} but this CPU has no bf16 instructions ({' / '.join(CPU_BF16_FLAGS)} absent from "
               f"/proc/cpuinfo), where emulated bf16 is slower than fp32: running fp32")
    return "none", why


def log_amp(amp: str, device: torch.device, key: str = "train.amp") -> str:
    """resolve_amp, logged: a warning when an explicit bf16 request falls back to fp32."""
    mode, why = resolve_amp(amp, device, key)
    (log.warning if amp == "bf16" and mode == "none" else log.info)("precision: %s", why)
    return mode


def autocast(amp: str, device: torch.device):
    """The autocast context for `amp` (auto | none | bf16 | fp16) on `device`."""
    mode = resolve_amp(amp, device)[0]
    if mode == "none":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16 if mode == "bf16" else torch.float16)


def cast_for_bf16_inference(model: torch.nn.Module) -> torch.nn.Module:
    """Store the weight matrices that bf16 autocast would cast anyway (of Linear and Conv layers
    without parametrizations) in bf16, in place, so inference under autocast does not re-cast them on
    every call; biases, norms, buffers and weight-normed convs stay fp32. Outputs are those of autocast
    alone. Only for inference (eval mode, no optimizer): returns the model."""
    from torch.nn.utils import parametrize

    for m in model.modules():
        if isinstance(m, (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d)) and not parametrize.is_parametrized(m):
            m.weight = torch.nn.Parameter(m.weight.detach().to(torch.bfloat16), requires_grad=False)
    return model
