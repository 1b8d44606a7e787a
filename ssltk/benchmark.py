"""Side-by-side timing used by `python -m ssltk.bin.bench`.

Candidates are timed alternately in one process (A, B, A, B, ...) after a
warm-up, and the medians are compared, so machine noise hits both alike.

    >>> rows = infer_benchmark(["sewd-test", "w2v2-test"], seconds=1.0, repeats=2)
    >>> [r["preset"] for r in rows]
    ['sewd-test', 'w2v2-test']
"""
from __future__ import annotations

import statistics
import tempfile
import time
from typing import Callable

import torch

from ssltk.models.presets import get_preset
from ssltk.models.wav2vec2 import build_encoder, inference_parameters


def time_alternating(fns: dict[str, Callable[[], object]], repeats: int, warmup: int = 1) -> dict[str, list[float]]:
    """Run every fn `warmup` times, then `repeats` rounds of all fns in turn; seconds per call."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def hf_twin(encoder_state: dict, cfg) -> torch.nn.Module:
    """The transformers model with the same config and weights (needs transformers)."""
    from transformers import AutoModel

    from ssltk.models.hf import export_hf_dir

    state = {f"encoder.{k}": v for k, v in encoder_state.items()}
    with tempfile.TemporaryDirectory() as d:
        export_hf_dir({"config": cfg, "model": state}, d)
        return AutoModel.from_pretrained(d).eval()


def infer_benchmark(presets: list[str], seconds: float = 10.0, threads: int = 2, vs_hf: bool = False,
                    repeats: int = 5, overrides=(), dtype: str = "fp32", seed: int = 0) -> list[dict]:
    """Forward time of one utterance of `seconds` audio, batch 1, eval mode.

    All presets (and their transformers twins) are timed alternately in one loop,
    so ratios between any two rows are side-by-side measurements."""
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    wav = torch.randn(1, int(seconds * 16000))

    def runner(model):
        def run():
            amp = torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == "bf16")
            with torch.inference_mode(), amp:
                model(wav)
        return run

    fns, cfgs = {}, {}
    for preset in presets:
        cfgs[preset] = cfg = get_preset(preset, overrides)
        encoder = build_encoder(cfg).eval()
        fns[preset] = runner(encoder)
        if vs_hf:
            fns[preset + "/transformers"] = runner(hf_twin(encoder.state_dict(), cfg))
    times = {k: statistics.median(v) for k, v in time_alternating(fns, repeats).items()}
    rows = []
    for preset in presets:
        row = {"bench": "infer", "preset": preset, "seconds": seconds, "threads": threads, "dtype": dtype,
               "params_m": round(inference_parameters(cfgs[preset]) / 1e6, 2), "repeats": repeats,
               "ssltk_s": round(times[preset], 5)}
        if vs_hf:
            row["transformers_s"] = round(times[preset + "/transformers"], 5)
            row["speedup_vs_transformers"] = round(times[preset + "/transformers"] / times[preset], 3)
        rows.append(row)
    return rows
