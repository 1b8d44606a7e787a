"""Side-by-side timing used by `python -m ssltk.bin.bench`.

Candidates are timed alternately in one process (A, B, A, B, ...) after a
warm-up, and the medians are compared, so machine noise hits both alike.

    >>> rows = infer_benchmark(["sewd-test", "w2v2-test"], seconds=1.0, repeats=2)
    >>> [r["preset"] for r in rows]
    ['sewd-test', 'w2v2-test']
"""
from __future__ import annotations

import copy
import multiprocessing
import os
import resource
import statistics
import tempfile
import time
from typing import Callable

import torch

from ssltk.data.audio import SAMPLE_RATE
from ssltk.models.build import build_encoder, inference_parameters
from ssltk.models.precision import cast_for_bf16_inference
from ssltk.models.presets import get_preset


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


def _amp(dtype: str):
    """Autocast for a benchmark row: exactly what was asked (no fallback), so rows say what ran."""
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == "bf16")


def hf_twin(encoder_state: dict, cfg) -> torch.nn.Module:
    """The transformers model with the same config and weights (needs transformers)."""
    from transformers import AutoModel

    from ssltk.models.hf import export_hf_dir

    state = {f"encoder.{k}": v for k, v in encoder_state.items()}
    with tempfile.TemporaryDirectory() as d:
        export_hf_dir({"config": cfg, "model": state}, d)
        return AutoModel.from_pretrained(d).eval()


def infer_benchmark(presets: list[str], seconds: float = 10.0, threads: int = 2, vs_hf: bool = False,
                    repeats: int = 5, overrides=(), dtypes: tuple[str, ...] = ("fp32",), seed: int = 0) -> list[dict]:
    """Forward time of one utterance of `seconds` audio, batch 1, eval mode, in each dtype.

    All presets, dtypes (and transformers twins) are timed alternately in one loop, so ratios
    between any two rows are side-by-side measurements; with fp32 among the dtypes, the other rows
    carry `speedup_vs_fp32`. bf16 runs as decoding does: the matmul weights stored in bf16
    (ssltk.models.precision.cast_for_bf16_inference), autocast for the rest."""
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    wav = torch.randn(1, int(seconds * SAMPLE_RATE))

    def runner(model, dtype):
        if dtype == "bf16":
            model = cast_for_bf16_inference(copy.deepcopy(model))

        def run():
            with torch.inference_mode(), _amp(dtype):
                model(wav)
        return run

    fns, cfgs = {}, {}
    for preset in presets:
        cfgs[preset] = cfg = get_preset(preset, overrides)
        encoder = build_encoder(cfg).eval()
        twin = hf_twin(encoder.state_dict(), cfg) if vs_hf else None
        for dtype in dtypes:
            fns[(preset, dtype)] = runner(encoder, dtype)
            if vs_hf:
                fns[(preset + "/transformers", dtype)] = runner(twin, dtype)
    times = {k: statistics.median(v) for k, v in time_alternating(fns, repeats).items()}
    rows = []
    for preset in presets:
        for dtype in dtypes:
            row = {"bench": "infer", "preset": preset, "seconds": seconds, "threads": threads, "dtype": dtype,
                   "params_m": round(inference_parameters(cfgs[preset]) / 1e6, 2), "repeats": repeats,
                   "ssltk_s": round(times[(preset, dtype)], 5)}
            if dtype != "fp32" and (preset, "fp32") in times:
                row["speedup_vs_fp32"] = round(times[(preset, "fp32")] / times[(preset, dtype)], 3)
            if vs_hf:
                row["transformers_s"] = round(times[(preset + "/transformers", dtype)], 5)
                row["speedup_vs_transformers"] = round(times[(preset + "/transformers", dtype)]
                                                       / times[(preset, dtype)], 3)
            rows.append(row)
    return rows


def hf_pretraining_twin(state: dict, cfg) -> torch.nn.Module:
    """transformers Wav2Vec2ForPreTraining with the same config and weights (linear heads only)."""
    from transformers import Wav2Vec2ForPreTraining

    from ssltk.models.hf import export_hf_dir

    with tempfile.TemporaryDirectory() as d:
        export_hf_dir({"config": cfg, "model": state}, d)
        return Wav2Vec2ForPreTraining.from_pretrained(d)


def pretraining_step(cfg, wav: torch.Tensor, lens: torch.Tensor, dtype: str = "fp32") -> Callable[[], float]:
    """A closure doing one pre-training update of a fresh model of `cfg` on (wav, lens): the
    training task's forward and loss (ssltk.train.pretrain.pretrain_task: wav2vec 2.0 or
    teacher-student by cfg.arch, EMA update included) under `dtype` autocast, backward, AdamW step."""
    from ssltk.models.build import build_pretraining_model
    from ssltk.train.config import PretrainConfig
    from ssltk.train.pretrain import pretrain_task

    model = build_pretraining_model(cfg).train()
    task = pretrain_task(PretrainConfig(model=cfg))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    batch = {"audio": wav, "audio_lens": lens}
    updates = iter(range(1 << 62))

    def step() -> float:
        opt.zero_grad(set_to_none=True)
        task.before_update(model, next(updates))
        with _amp(dtype):
            loss, size, _ = task.loss(model, batch, wav.device)
        loss = loss / max(size, 1.0)
        loss.backward()
        opt.step()
        return float(loss.detach())

    return step


def finetuning_step(cfg, wav: torch.Tensor, lens: torch.Tensor, dtype: str = "fp32", vocab: int = 30,
                    chars_per_second: float = 14.0) -> Callable[[], float]:
    """A closure doing one CTC fine-tuning update (ssltk.train.finetune.CTCTask: fine-tuning masks,
    the whole model trained, letter targets at `chars_per_second`) under `dtype` autocast."""
    from ssltk.models.ctc import CTCModel, ctc_upsample
    from ssltk.models.wav2vec2 import Masker
    from ssltk.train.finetune import CTCTask, FinetuneConfig, FinetuneSettings, finetune_model_config

    task = CTCTask(FinetuneConfig(finetune=FinetuneSettings(freeze_feature_encoder=False)), tokenizer=None)
    cfg = finetune_model_config(cfg, task.cfg)
    model = CTCModel(build_encoder(cfg), vocab, Masker(cfg.masking), freeze_feature_encoder=False,
                     upsample=ctc_upsample(cfg)).train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    n_chars = int(chars_per_second * float(lens.max()) / SAMPLE_RATE)
    batch = {"audio": wav, "audio_lens": lens,
             "targets": [torch.randint(1, vocab, (n_chars,)) for _ in range(wav.shape[0])]}

    def step() -> float:
        opt.zero_grad(set_to_none=True)
        with _amp(dtype):
            loss, size, _ = task.loss(model, batch, wav.device)
        (loss / max(size, 1.0)).backward()
        opt.step()
        return float(loss.detach())

    return step


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _memory_worker(preset: str, batch_seconds: float, utterances: int, threads: int, steps: int, queue) -> None:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    n = int(batch_seconds * SAMPLE_RATE / utterances)
    wav, lens = torch.randn(utterances, n), torch.full((utterances,), n)
    before = _rss_mb()
    step = pretraining_step(get_preset(preset, ["context.layerdrop=0"]), wav, lens)
    for _ in range(steps):
        step()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    queue.put({"peak_rss_mb": round(peak, 1), "train_mem_mb": round(peak - before, 1)})


def memory_benchmark(presets: list[str], batch_seconds: float = 20.0, utterances: int = 4, threads: int = 2,
                     steps: int = 2) -> list[dict]:
    """Peak CPU memory of pre-training updates, one fresh process per preset (Linux ru_maxrss).

    `train_mem_mb` is the peak minus the process' memory before the model was built: weights,
    gradients, AdamW state, teacher and activations of one update on the same batch."""
    ctx = multiprocessing.get_context("spawn")
    rows = []
    for preset in presets:
        queue = ctx.Queue()
        proc = ctx.Process(target=_memory_worker, args=(preset, batch_seconds, utterances, threads, steps, queue))
        proc.start()
        res = queue.get()
        proc.join()
        cfg = get_preset(preset)
        rows.append({"bench": "memory", "preset": preset, "batch_seconds": batch_seconds, "utterances": utterances,
                     "threads": threads, "steps": steps, "params_m": round(inference_parameters(cfg) / 1e6, 2),
                     **res})
    return rows


def flops_per_audio_second(presets: list[str], seconds: float = 10.0) -> list[dict]:
    """Inference and training FLOPs per second of audio (torch's FlopCounterMode: matmuls,
    convolutions, attention; the filter bank's FFT is not counted), one utterance of `seconds`."""
    from torch.utils.flop_counter import FlopCounterMode

    wav = torch.randn(1, int(seconds * SAMPLE_RATE))
    lens = torch.tensor([wav.shape[1]])
    rows = []
    for preset in presets:
        cfg = get_preset(preset, ["context.layerdrop=0"])
        encoder = build_encoder(cfg).eval().requires_grad_(False)  # (FlopCounterMode's hooks dislike no_grad)
        with FlopCounterMode(display=False) as fc:
            encoder(wav, lens)
        infer = fc.get_total_flops()
        step = pretraining_step(cfg, wav, lens)
        with FlopCounterMode(display=False) as fc:
            step()
        rows.append({"bench": "flops", "preset": preset, "seconds": seconds,
                     "params_m": round(inference_parameters(cfg) / 1e6, 2),
                     "infer_gflops_per_audio_s": round(infer / seconds / 1e9, 3),
                     "train_gflops_per_audio_s": round(fc.get_total_flops() / seconds / 1e9, 3)})
    return rows


def train_benchmark(presets: list[str], batch_seconds: float = 20.0, utterances: int = 4, threads: int = 2,
                    vs_hf: bool = False, repeats: int = 3, seed: int = 0, dtypes: tuple[str, ...] = ("fp32",),
                    task: str = "pretrain", overrides: list[str] = ()) -> list[dict]:
    """Time of one training update (forward, loss, backward, AdamW step) on a batch of
    `utterances` utterances totalling `batch_seconds`; throughput in audio-seconds per second.

    task: pretrain (the preset's pre-training objective) or finetune (CTC on random letters). Every
    preset runs in every dtype (fp32, bf16 autocast); with both, `speedup_vs_fp32` compares them.
    With vs_hf, transformers' Wav2Vec2ForPreTraining with the w2v2 preset's config and weights
    (the first w2v2 preset in the list, else w2v2-base) is timed on the same batch in fp32, with its
    masks and negatives drawn outside the timed region. All models alternate in one loop. `overrides`
    (key.sub=value) change every preset, e.g. context.dim=192 context.layers=6 for a larger variant."""
    from ssltk.models.build import build_pretraining_model
    from ssltk.models.precision import cpu_bf16_flags

    if task not in ("pretrain", "finetune"):
        raise ValueError(f"task={task}: expected pretrain or finetune")
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    n = int(batch_seconds * SAMPLE_RATE / utterances)
    wav = torch.randn(utterances, n)
    lens = torch.full((utterances,), n)
    make_step = pretraining_step if task == "pretrain" else finetuning_step
    fns = {}
    for preset in presets:
        cfg = get_preset(preset, ["context.layerdrop=0", *overrides])
        for dtype in dtypes:
            fns[(f"ssltk/{preset}", dtype)] = make_step(cfg, wav, lens, dtype)
    if vs_hf:
        ref = next((p for p in presets if p.startswith("w2v2")), "w2v2-base")
        cfg = get_preset(ref, ["context.layerdrop=0"])
        hf = hf_pretraining_twin(build_pretraining_model(cfg).state_dict(), cfg).train()
        hf_opt = torch.optim.AdamW(hf.parameters(), lr=1e-5)
        from transformers.models.wav2vec2.modeling_wav2vec2 import _compute_mask_indices, _sample_negative_indices

        t = int(hf._get_feat_extract_output_lengths(torch.tensor(n)))
        mask = _compute_mask_indices((utterances, t), cfg.masking.prob, cfg.masking.length,
                                     min_masks=cfg.masking.min_masks)
        neg = torch.tensor(_sample_negative_indices((utterances, t), cfg.objective.num_negatives, mask))
        mask = torch.tensor(mask)

        def hf_step():
            hf_opt.zero_grad(set_to_none=True)
            hf(wav, mask_time_indices=mask, sampled_negative_indices=neg).loss.backward()
            hf_opt.step()

        fns[(f"transformers/{ref}", "fp32")] = hf_step
    times = {k: statistics.median(v) for k, v in time_alternating(fns, repeats).items()}
    rows = []
    for (name, dtype), sec in times.items():
        rows.append({"bench": "train", "task": task, "model": name, "preset": name.split("/")[-1], "dtype": dtype,
                     "overrides": list(overrides) if name.startswith("ssltk/") else [],
                     "batch_seconds": batch_seconds, "utterances": utterances, "threads": threads,
                     "repeats": repeats, "cpu_bf16": list(cpu_bf16_flags()), "step_s": round(sec, 4),
                     "audio_s_per_s": round(batch_seconds / sec, 3)})
    for row in rows:
        fp32 = times.get((row["model"], "fp32"))
        if row["dtype"] != "fp32" and fp32:
            row["speedup_vs_fp32"] = round(fp32 / times[(row["model"], row["dtype"])], 3)
    if vs_hf:
        hf_rate = rows[-1]["audio_s_per_s"]
        for row in rows[:-1]:
            row["speedup_vs_transformers_w2v2"] = round(row["audio_s_per_s"] / hf_rate, 3)
    return rows
