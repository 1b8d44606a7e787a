"""The training loop shared by pre-training and fine-tuning.

A Task says what a micro-batch's loss is, what to do before an update (Gumbel
temperature, freezing) and how to validate; `run_training` owns the rest:
accumulation with DDP no_sync, sample-size normalisation, mixed precision,
clipping, schedules, checkpoints and exact resume, logging, signals, NaN/inf
and out-of-memory handling, best-checkpoint selection.

One update = `accum_grad` micro-batches per rank. Gradients are normalised by the
task's sample size summed over all micro-batches and ranks (masked frames for
pre-training, utterances for CTC: fairseq's semantics), so 2 ranks x 1 micro-batch
and 1 rank x 2 micro-batches give the same update. All randomness of a
micro-batch (masks, negatives, dropout, Gumbel noise, LayerDrop) comes from a
seed that is a pure function of (seed, update, global micro-batch index); data
order and crops are functions of (seed, epoch). With the saved optimizer state
and data position this makes resuming bit-exact.

Robustness: SIGTERM/SIGINT finish the update, checkpoint and raise TrainingStopped
(a stopped run is not a finished one: the CLIs exit 128 + signal, so a recipe never marks
the stage done); one run per exp dir at a time (`claim_exp_dir`, a lock); updates
with NaN/inf loss or gradients are skipped and counted (abort after
`max_consecutive_nonfinite` in a row); a CUDA out-of-memory micro-batch is skipped
and counted; unusable cuts are skipped with a warning naming the cut and file.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import math
import os
import random
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import torch
import yaml

from ssltk.data.audio import SAMPLE_RATE
from ssltk.data.dataset import BatchStream, audio_policy
from ssltk.models.checkpoint import save_checkpoint
from ssltk.models.precision import autocast, log_amp
from ssltk.train.checkpoint import load_latest, rng_state, save_training_checkpoint, set_rng_state
from ssltk.train.distributed import World, all_reduce_sum, barrier, init_world, shutdown
from ssltk.train.metrics import Averager, MetricsWriter, peak_memory_mb
from ssltk.train.schedules import lr_multiplier

log = logging.getLogger("ssltk.train")
OOM_ERRORS = (torch.OutOfMemoryError,) if hasattr(torch, "OutOfMemoryError") else (torch.cuda.OutOfMemoryError,)


class TrainingError(RuntimeError):
    """The run cannot continue; the message says why and what to change."""


class TrainingStopped(TrainingError):
    """A signal stopped the run before train.max_updates, after writing a checkpoint: resumable,
    not finished. `exit_code` is the shell's 128 + signal number."""

    def __init__(self, signum: int, update: int, max_updates: int, exp_dir: Path):
        self.signum, self.update, self.exit_code = signum, update, 128 + signum
        super().__init__(f"stopped at update {update} of {max_updates} by {signal.Signals(signum).name}; the "
                         f"checkpoint is in {exp_dir}/checkpoints: re-run the same command to resume")


class Task(Protocol):
    """What a run does with a micro-batch; `run_training` owns everything else."""

    def before_update(self, model: torch.nn.Module, update: int) -> None:
        """Schedules that live in the model (Gumbel temperature, freezing)."""

    def loss(self, model: torch.nn.Module, batch: dict, device: torch.device) -> tuple[torch.Tensor, float, dict]:
        """(loss summed over the micro-batch's sample, sample size, scalar metrics)."""

    def validate(self, model: torch.nn.Module, loader, device: torch.device) -> dict:
        """Validation metrics (eval mode, no grad)."""

    def is_better(self, new: dict, best: dict | None) -> bool:
        """Whether `new` validation metrics should replace best.pt."""

    def monitor(self, model: torch.nn.Module) -> dict:
        """Extra values logged with the training metrics."""


def micro_seed(seed: int, update: int, index: int) -> int:
    return random.Random(f"{seed}/{update}/{index}").getrandbits(63)


def param_groups(model: torch.nn.Module, weight_decay: float,
                 lr_scales: Mapping[str, float] | None = None) -> list[dict]:
    """Weight decay on matrices / kernels / codebooks; none on biases, norms, mask embedding.

    `lr_scales` maps parameter-name prefixes to a fraction of the scheduled LR (the first matching
    prefix wins; others train at the full LR); the loop multiplies each group's `lr_scale` in.
    """
    # the two full-LR groups always exist, so checkpoints from before lr_scales still resume
    groups: dict[tuple[float, bool], list] = {(1.0, True): [], (1.0, False): []}
    for name, p in model.named_parameters():
        if p.requires_grad:
            scale = next((s for prefix, s in (lr_scales or {}).items() if name.startswith(prefix)), 1.0)
            groups.setdefault((float(scale), p.ndim >= 2), []).append(p)
    return [{"params": params, "weight_decay": weight_decay if decay else 0.0, "lr_scale": scale}
            for (scale, decay), params in groups.items() if params or scale == 1.0]


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return model.module if hasattr(model, "module") else model


@dataclass
class UpdateResult:
    ok: bool
    sample_size: float = 0.0
    audio_seconds: float = 0.0
    padding: float = 0.0
    grad_norm: float = float("nan")
    values: dict = field(default_factory=dict)
    oom: int = 0


@dataclass
class Gradients:
    """What backward over one update's micro-batches leaves besides .grad (not yet normalised)."""

    sample_size: float = 0.0
    seconds: float = 0.0
    padded: float = 0.0
    values: Averager = field(default_factory=Averager)
    oom: bool = False


def backward_micro_batches(model, task: Task, micro_batches: list[dict], scaler, cfg, world: World,
                           update: int) -> Gradients:
    """Forward + backward of this rank's micro-batches, summing losses into .grad (gradient
    sync on the last one under DDP). Micro-batch i of rank r is seeded with
    micro_seed(seed, update, r * len(micro_batches) + i)."""
    model.train()
    task.before_update(unwrap(model), update)
    g = Gradients()
    n = len(micro_batches)
    for i, batch in enumerate(micro_batches):
        torch.manual_seed(micro_seed(cfg.train.seed, update, world.rank * n + i))
        lens = batch["audio_lens"]
        with model.no_sync() if world.distributed and i < n - 1 else contextlib.nullcontext():
            try:
                with autocast(cfg.train.amp, world.device):
                    loss, size, metrics = task.loss(model, batch, world.device)
                loss = loss.float()
                (scaler.scale(loss) if scaler is not None else loss).backward()
            except OOM_ERRORS:
                if world.distributed:
                    raise TrainingError("CUDA out of memory in a distributed step; lower data.max_duration "
                                        "(and raise train.accum_grad to keep the effective batch)") from None
                g.oom = True
                return g
        g.sample_size += size
        g.seconds += float(lens.sum()) / SAMPLE_RATE
        g.padded += batch["audio"].numel() - float(lens.sum())
        g.values.add(metrics, weight=max(size, 1))
    return g


def train_update(model, task: Task, micro_batches: list[dict], optimizer, scaler, cfg, world: World,
                 update: int) -> UpdateResult:
    """One optimizer update from this rank's micro-batches."""
    optimizer.zero_grad(set_to_none=True)
    g = backward_micro_batches(model, task, micro_batches, scaler, cfg, world, update)
    if g.oom:
        optimizer.zero_grad(set_to_none=True)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        return UpdateResult(ok=False, oom=1)
    values = g.values.mean()
    total_size, total_seconds, total_padded, bad = all_reduce_sum(
        [g.sample_size, g.seconds, g.padded, float(not math.isfinite(values.get("loss", 0.0)))], world)
    if scaler is not None:
        scaler.unscale_(optimizer)
    params = [p for p in model.parameters() if p.grad is not None]
    factor = world.size / max(total_size, 1.0)  # DDP already averaged over ranks
    for p in params:
        p.grad.mul_(factor)
    clip = cfg.optim.clip_norm if cfg.optim.clip_norm > 0 else float("inf")
    grad_norm = float(torch.nn.utils.clip_grad_norm_(params, clip)) if params else 0.0
    finite = math.isfinite(grad_norm) and bad == 0
    if scaler is not None:
        scaler.step(optimizer)  # skips by itself on inf/NaN gradients
        scaler.update()
    elif finite and params:
        optimizer.step()
    total_samples = total_seconds * SAMPLE_RATE + total_padded
    return UpdateResult(ok=finite, sample_size=total_size, audio_seconds=total_seconds,
                        padding=total_padded / total_samples if total_samples else 0.0,
                        grad_norm=grad_norm, values=values)


def seeded_validation(task: Task, model, loader, seed: int, device: torch.device) -> dict:
    """task.validate in eval mode with a fixed seed, leaving the training RNG untouched."""
    model = unwrap(model)
    saved = torch.get_rng_state()
    torch.manual_seed(seed + 1_000_003)
    model.eval()
    try:
        with torch.no_grad():
            return task.validate(model, loader, device)
    finally:
        model.train()
        torch.set_rng_state(saved)


class _StopFlag:
    """SIGTERM / SIGINT ask the loop to finish the update, checkpoint and stop."""

    def __init__(self):
        self.requested = False
        self.signum = signal.SIGTERM  # what other ranks report when only a peer was signalled
        self.previous = {}

    def __enter__(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        self.requested, self.signum = True, signum
        log.warning("received %s: finishing the current update, then checkpointing", signal.Signals(signum).name)
        signal.signal(signum, self.previous[signum])  # a second signal acts as usual

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def claim_exp_dir(exp_dir: Path, world: World):
    """Create exp_dir and hold its lock (exp_dir/.lock) while a run uses it: a second run of the
    same stage says who holds it and stops instead of writing the same checkpoints. Rank 0 holds it.
    A POSIX record lock (lockf), not flock: the kernel drops it when its process dies, and forked
    DataLoader workers do not inherit it (with flock, a worker outliving a killed trainer kept it)."""
    try:
        exp_dir.mkdir(parents=True, exist_ok=True)
        handle = open(exp_dir / ".lock", "a+") if world.is_main else None
    except OSError as e:
        raise TrainingError(f"cannot use {exp_dir} as the experiment directory ({e.strerror}); choose a "
                            "writable --exp-dir") from None
    if handle is None:
        yield
        return
    with handle:
        try:
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EACCES, errno.EAGAIN):
                raise
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise TrainingError(f"{exp_dir} is in use by {holder}; wait for that run to end (or stop it), or "
                                "use another --exp-dir") from None
        handle.truncate(0)
        handle.write(f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%F %T')}: "
                     f"{' '.join(sys.argv)}\n")
        handle.flush()
        try:
            yield
        finally:
            fcntl.lockf(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def training_run(exp_dir: Path, cfg, name: str):
    """The World (ranks, device) of a run in exp_dir, with the exp dir's lock held, logging to
    exp_dir/log/NAME.log and the torch threads set; the process group is shut down on exit."""
    world = init_world(cfg.train.device)
    try:
        with claim_exp_dir(exp_dir, world):
            setup_logging(exp_dir, world, name)
            if cfg.train.num_threads:
                torch.set_num_threads(cfg.train.num_threads)
            try:
                log_amp(cfg.train.amp, world.device)
            except ValueError as e:
                raise TrainingError(str(e)) from None
            yield world
    finally:
        shutdown(world)


def setup_logging(exp_dir: Path, world: World, name: str) -> None:
    fmt = f"%(asctime)s [rank {world.rank}] %(levelname)s %(name)s: %(message)s"
    handlers = [logging.StreamHandler(sys.stderr)]
    if world.is_main:
        (exp_dir / "log").mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(exp_dir / "log" / f"{name}.log"))
    logging.basicConfig(level=logging.INFO if world.is_main else logging.WARNING, format=fmt,
                        handlers=handlers, force=True)


def write_resolved_config(exp_dir: Path, cfg_dict: dict, command: str) -> None:
    (exp_dir / "config.yaml").write_text(
        f"# resolved config; re-run: python -m {command} --config {exp_dir}/config.yaml --exp-dir {exp_dir}\n"
        + yaml.safe_dump(cfg_dict, sort_keys=False))


def _progress(cfg, world: World, initial: int):
    if not (world.is_main and cfg.train.progress_bar and sys.stderr.isatty()):
        return None
    from tqdm import tqdm

    return tqdm(total=cfg.train.max_updates, initial=initial, unit="upd", dynamic_ncols=True)


@dataclass
class Progress:
    """What a run has done so far; saved in every checkpoint (with the data position)."""

    update: int = 0
    epoch: int = 0
    consumed: int = 0
    """Batches of `epoch` already trained on (this rank)."""
    hours: float = 0.0
    """Hours of audio seen, summed over ranks."""
    best: dict | None = None
    """Validation metrics of best.pt, with its update."""
    counters: Counter = field(default_factory=lambda: Counter({"oom_skipped": 0, "nonfinite_skipped": 0}))


def resume(exp_dir: Path, model, optimizer, scaler, model_cfg, world: World) -> Progress:
    """Load exp_dir's newest checkpoint into model / optimizer / scaler / RNGs; a fresh Progress if none."""
    ckpt = load_latest(exp_dir)
    if ckpt is None:
        return Progress()
    if ckpt["config"] != model_cfg:
        raise TrainingError(f"{ckpt['path']} was trained with a different model config; use a new "
                            "--exp-dir or the original config")
    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    if scaler is not None and ckpt.get("scaler"):
        scaler.load_state_dict(ckpt["scaler"])
    p = Progress(update=ckpt["update"], hours=ckpt["audio_hours"], best=ckpt.get("best_valid"))
    p.counters.update(ckpt.get("counters", {}))
    positions = ckpt["data_positions"]
    if len(positions) == world.size:
        p.epoch, p.consumed = positions[world.rank]
    else:
        p.epoch = positions[0][0]
        log.warning("world size changed (%d -> %d): restarting epoch %d from its start",
                    len(positions), world.size, p.epoch)
    set_rng_state(ckpt["rng"])
    log.info("resumed from %s (update %d, epoch %d, %.2f h of audio seen)", ckpt["path"], p.update, p.epoch,
             p.hours)
    return p


def training_state(p: Progress, stream: BatchStream, optimizer, scaler, world: World, cfg_dict: dict,
                   extra: dict) -> dict:
    """The checkpoint entries besides model and config. Collective: every rank takes part (each
    contributes its data position)."""
    pos = [0.0] * (2 * world.size)
    pos[2 * world.rank:2 * world.rank + 2] = [stream.epoch, stream.consumed]
    pos = all_reduce_sum(pos, world)
    return {"optimizer": optimizer.state_dict(), "scaler": scaler.state_dict() if scaler else {},
            "update": p.update, "audio_hours": p.hours, "counters": dict(p.counters), "best_valid": p.best,
            "data_positions": [[int(pos[2 * r]), int(pos[2 * r + 1])] for r in range(world.size)],
            "rng": rng_state(), "train_config": cfg_dict, **extra}


class Interval:
    """Training metrics averaged over a logging interval, and its audio throughput."""

    def __init__(self):
        self.avg, self.seconds, self.tic = Averager(), 0.0, time.perf_counter()

    def add(self, res: UpdateResult) -> None:
        if res.ok:
            self.seconds += res.audio_seconds
            self.avg.add({**res.values, "grad_norm": res.grad_norm, "padding_ratio": res.padding})

    def close(self) -> dict:
        """The interval's means and throughput (audio-s/s); starts the next interval."""
        values = {**self.avg.mean(), "throughput": self.seconds / max(time.perf_counter() - self.tic, 1e-9)}
        self.__init__()
        return values


def effective_batch_s(cfg, world_size: int) -> float:
    """Seconds of audio per update (at most: batches are filled up to data.max_duration)."""
    return cfg.data.max_duration * cfg.train.accum_grad * world_size


def log_start(model, cfg, world: World) -> None:
    eff = effective_batch_s(cfg, world.size)
    log.info("%.1fM parameters (%.1fM trained); device batch %.1f s x accum %d x %d ranks = effective batch "
             "%.1f s (%.1f min)", sum(p.numel() for p in model.parameters()) / 1e6,
             sum(p.numel() for p in model.parameters() if p.requires_grad) / 1e6, cfg.data.max_duration,
             cfg.train.accum_grad, world.size, eff, eff / 60)
    if cfg.optim.lr_scaling != "none":
        log.info("peak LR %.3g: optim.lr %.3g at %.0f s scaled %s to the effective batch (optim.lr_scaling)",
                 cfg.optim.peak_lr(eff), cfg.optim.lr, cfg.optim.lr_ref_batch_s, cfg.optim.lr_scaling)
    log.info(audio_policy(cfg.data))


def validate_and_keep_best(task: Task, model, valid_loader, p: Progress, state: dict, model_cfg, cfg,
                           writer: MetricsWriter, exp_dir: Path, world: World) -> None:
    """Validation on rank 0; best.pt (with the training state `state`) when the task says it is better."""
    if world.is_main:
        vals = seeded_validation(task, model, valid_loader, cfg.train.seed, world.device)
        writer.write(p.update, vals, split="valid")
        log.info("update %d validation %s", p.update,
                 " ".join(f"{k} {v:.4f}" for k, v in vals.items() if k in ("loss", "wer")))
        if task.is_better(vals, p.best):
            p.best = state["best_valid"] = {**vals, "update": p.update}
            save_checkpoint(exp_dir / "best.pt", model_cfg, model.state_dict(), **state)
            log.info("new best checkpoint %s (update %d)", exp_dir / "best.pt", p.update)
    barrier(world)


def run_training(*, task: Task, model: torch.nn.Module, model_cfg, cfg, cfg_dict: dict, exp_dir: Path,
                 world: World, train_loader, valid_loader=None, find_unused_parameters: bool = False,
                 extra_state: dict | None = None, lr_scales: Mapping[str, float] | None = None) -> dict:
    """Train `model` (already built, on world.device) with `task` until cfg.train.max_updates,
    resuming from exp_dir's newest checkpoint. Returns the last logged training metrics; raises
    TrainingStopped when a signal ends the run earlier."""
    peak_lr = cfg.optim.peak_lr(effective_batch_s(cfg, world.size))
    optimizer = torch.optim.AdamW(param_groups(model, cfg.optim.weight_decay, lr_scales), lr=peak_lr,
                                  betas=tuple(cfg.optim.betas), eps=cfg.optim.eps)
    scaler = torch.amp.GradScaler("cuda") if cfg.train.amp == "fp16" else None
    lr_at = lr_multiplier(cfg.schedule, cfg.train.max_updates)
    p = resume(exp_dir, model, optimizer, scaler, model_cfg, world)
    if p.update >= cfg.train.max_updates:
        log.info("already trained for %d updates (train.max_updates); nothing to do", p.update)
        return {}
    ddp_model = model
    if world.distributed:
        ddp_model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[world.local_rank] if world.device.type == "cuda" else None,
            find_unused_parameters=find_unused_parameters)
    stream = BatchStream(train_loader, p.epoch, p.consumed)
    writer = MetricsWriter(exp_dir, enabled=world.is_main, resume_update=p.update)
    log_start(model, cfg, world)
    extra_state = extra_state or {}
    interval, bar, last, nonfinite_run = Interval(), _progress(cfg, world, p.update), {}, 0
    with _StopFlag() as stop:
        while p.update < cfg.train.max_updates:
            micro = [stream.next_nonempty() for _ in range(cfg.train.accum_grad)]
            lr = peak_lr * lr_at(p.update)
            for group in optimizer.param_groups:
                group["lr"] = lr * group.get("lr_scale", 1.0)
            res = train_update(ddp_model, task, micro, optimizer, scaler, cfg, world, p.update)
            p.update += 1
            nonfinite_run = count_update(res, p, nonfinite_run, cfg, exp_dir)
            interval.add(res)
            if bar is not None:
                bar.update(1)
                if res.ok:
                    bar.set_postfix(loss=f"{res.values.get('loss', float('nan')):.3f}", lr=f"{lr:.2e}")
            stop_now = all_reduce_sum([float(stop.requested)], world)[0] > 0
            final = p.update == cfg.train.max_updates
            if p.update % cfg.train.log_every == 0 or final or stop_now:
                last = {**interval.close(), "lr": lr, **task.monitor(model), "hours_seen": p.hours,
                        "peak_mem_mb": peak_memory_mb(world.device), "epoch": stream.epoch,
                        "skipped_cuts": sum(stream.skipped.values()), **dict(p.counters)}
                writer.write(p.update, last)
                if bar is None and world.is_main:
                    log.info("update %d/%d loss %.4f lr %.2e %.1f audio-s/s", p.update, cfg.train.max_updates,
                             last.get("loss", float("nan")), lr, last["throughput"])
            if valid_loader is not None and (p.update % cfg.train.valid_every == 0 or final):
                state = training_state(p, stream, optimizer, scaler, world, cfg_dict, extra_state)
                validate_and_keep_best(task, model, valid_loader, p, state, model_cfg, cfg, writer, exp_dir, world)
            if p.update % cfg.train.checkpoint_every == 0 or final or stop_now:
                extra = training_state(p, stream, optimizer, scaler, world, cfg_dict, extra_state)
                if world.is_main:
                    path = save_training_checkpoint(exp_dir, p.update, model_cfg, model.state_dict(), extra,
                                                    cfg.train.keep_last)
                    log.info("wrote %s", path)
                barrier(world)
            if stop_now:
                break
    if bar is not None:
        bar.close()
    writer.close()
    if p.update < cfg.train.max_updates:  # only a signal leaves the loop early
        stopped = TrainingStopped(stop.signum, p.update, cfg.train.max_updates, exp_dir)
        log.warning("%s", stopped)
        raise stopped
    return last


def count_update(res: UpdateResult, p: Progress, nonfinite_run: int, cfg, exp_dir: Path) -> int:
    """Book an update's outcome into `p` (hours seen, skip counters); returns the length of the
    current run of non-finite updates, raising TrainingError when it reaches the limit."""
    p.counters["oom_skipped"] += res.oom
    if res.ok:
        p.hours += res.audio_seconds / 3600
        return 0
    if res.oom:
        return nonfinite_run
    p.counters["nonfinite_skipped"] += 1
    log.warning("update %d: non-finite loss or gradient (norm %s); update skipped", p.update, res.grad_norm)
    if nonfinite_run + 1 >= cfg.train.max_consecutive_nonfinite:
        raise TrainingError(f"{nonfinite_run + 1} consecutive updates had NaN/inf loss or gradients (last at "
                            f"update {p.update}); lower optim.lr, set optim.clip_norm, or use train.amp=bf16 "
                            f"instead of fp16. The last good checkpoint is in {exp_dir}/checkpoints")
    return nonfinite_run + 1
