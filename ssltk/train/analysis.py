"""Looking at pre-training runs: Figure-2 style panels and gradient variance (§IV-C1).

    >>> plot_runs(["exp/bs_5min", "exp/bs_10min"], "plots", x="hours")    # doctest: +SKIP
    >>> gradient_variance("exp/bs_5min/checkpoints/checkpoint-00050000.pt", batches=10)  # doctest: +SKIP
"""
from __future__ import annotations

import math
import random
from pathlib import Path

import torch

from ssltk.data.dataset import BatchStream, load_cuts, pretrain_loader
from ssltk.models.checkpoint import load_checkpoint
from ssltk.models.build import build_pretraining_model
from ssltk.train.config import pretrain_config_from_dict
from ssltk.train.distributed import World
from ssltk.train.metrics import read_metrics
from ssltk.train.loop import backward_micro_batches
from ssltk.train.pretrain import PretrainTask

# (metric keys, title, log-scale): the panels of the batch-size study's Figure 2, plus lr and validation.
PANELS = [
    (["contrastive"], "A contrastive loss", False),
    (["diversity"], "B diversity loss", False),
    (["feature_pen"], "C L2 penalty", False),
    (["accuracy"], "D accuracy", False),
    (["codeword_sim_mean_0", "codeword_sim_mean_1"], "G codeword similarity (mean)", False),
    (["codeword_sim_min_0", "codeword_sim_min_1"], "codeword similarity (min)", False),
    (["codeword_sim_max_0", "codeword_sim_max_1"], "codeword similarity (max)", False),
    (["code_ppl_0", "code_ppl_1"], "H code perplexity", False),
    (["prob_ppl_0", "prob_ppl_1"], "I probability perplexity", False),
    (["lr"], "learning rate", True),
    (["valid:loss"], "validation loss", False),
    (["valid:accuracy"], "validation accuracy", False),
    (["grad_norm"], "gradient norm", True),
]


def plot_runs(exp_dirs: list[str | Path], out_dir: str | Path, x: str = "update") -> list[Path]:
    """One PNG per panel and a grid of all (figure2.png); one line per exp dir.

    x: 'update' or 'hours' (hours of audio seen, the batch-size study's RQ3 axis)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if x not in ("update", "hours"):
        raise ValueError("x must be 'update' or 'hours'")
    runs = {}
    for d, name in zip(exp_dirs, run_labels(exp_dirs)):
        rows = read_metrics(d)
        hours_at = {r["update"]: r["hours_seen"] for r in rows if r["split"] == "train" and "hours_seen" in r}
        runs[name] = (rows, hours_at)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    ncols = 4
    grid, axes = plt.subplots(math.ceil(len(PANELS) / ncols), ncols, figsize=(4.2 * ncols, 3.2 * math.ceil(len(PANELS) / ncols)))
    for (keys, title, log_y), grid_ax in zip(PANELS, axes.flat):
        fig, ax = plt.subplots(figsize=(5, 3.5))
        drawn = False
        for target in (ax, grid_ax):
            for name, (rows, hours_at) in runs.items():
                for key in keys:
                    split, metric = key.split(":") if ":" in key else ("train", key)
                    pts = [(r["update"], r[metric]) for r in rows if r["split"] == split and metric in r]
                    if x == "hours":
                        pts = [(hours_at.get(u, _nearest(hours_at, u)), v) for u, v in pts]
                    if pts:
                        xs, ys = zip(*pts)
                        suffix = f" {key[-1]}" if len(keys) > 1 else ""
                        target.plot(xs, ys, label=f"{name}{suffix}", linewidth=1.2)
                        drawn = True
            target.set_title(title, fontsize=9)
            target.set_xlabel("updates" if x == "update" else "hours of audio seen", fontsize=8)
            if log_y and drawn:
                target.set_yscale("log")
            if drawn:
                target.legend(fontsize=6)
        if drawn:
            path = out_dir / f"{title.split(' ', 1)[-1].replace(' ', '_').replace('(', '').replace(')', '')}.png"
            fig.tight_layout()
            fig.savefig(path, dpi=100)
            written.append(path)
        plt.close(fig)
    for ax in axes.flat[len(PANELS):]:
        ax.axis("off")
    grid.tight_layout()
    grid_path = out_dir / "figure2.png"
    grid.savefig(grid_path, dpi=90)
    plt.close(grid)
    return [grid_path, *written]


def run_labels(exp_dirs: list[str | Path]) -> list[str]:
    """The shortest path tails that tell the runs apart (exp/bs40/pretrain, exp/bs80/pretrain -> bs40/pretrain, ...).

    >>> run_labels(["exp/bs40/pretrain", "exp/bs80/pretrain"]), run_labels(["exp/a", "exp/b"])
    (['bs40/pretrain', 'bs80/pretrain'], ['a', 'b'])
    """
    parts = [Path(d).parts for d in exp_dirs]
    for n in range(1, max(map(len, parts)) + 1):
        labels = ["/".join(p[-n:]) for p in parts]
        if len(set(labels)) == len(labels):
            return labels
    return [str(d) for d in exp_dirs]


def _nearest(hours_at: dict, update: int) -> float:
    if not hours_at:
        return float("nan")
    return hours_at[min(hours_at, key=lambda u: abs(u - update))]


def gradient_variance(ckpt_path: str | Path, batches: int = 10, micro_batches: int | None = None,
                      cuts: str | Path | None = None, seed: int = 0) -> dict:
    """Average standard deviation of the gradient over independently sampled batches (§IV-C1).

    Each gradient is that of one full update at the checkpoint: `micro_batches` micro-batches
    (default: the run's accum_grad x world size), normalised by their masked frames, with no
    optimizer state or learning rate. Per parameter element the variance over the `batches`
    gradients is computed online (Welford); the result averages the standard deviation (and
    the variance) over all elements.
    """
    ckpt = load_checkpoint(ckpt_path)
    if "train_config" not in ckpt:
        raise ValueError(f"{ckpt_path} is not a training checkpoint (no train_config)")
    cfg = pretrain_config_from_dict(ckpt["train_config"])
    model = build_pretraining_model(cfg.model)
    model.load_state_dict(ckpt["model"])
    task = PretrainTask(cfg)
    micro = micro_batches or cfg.train.accum_grad * max(1, len(ckpt.get("data_positions", [[0, 0]])))
    loader = pretrain_loader(load_cuts(cuts or cfg.data.train_cuts), cfg.data, seed=seed)
    params = [p for p in model.parameters() if p.requires_grad]
    mean = [torch.zeros_like(p) for p in params]
    m2 = [torch.zeros_like(p) for p in params]
    for k in range(batches):
        # an independent random batch: a fresh shuffle (epoch k of a different seed) per sample
        stream = BatchStream(loader, epoch=k, consumed=random.Random(f"{seed}/{k}").randrange(4))
        model.zero_grad(set_to_none=True)
        g = backward_micro_batches(model, task, [stream.next_nonempty() for _ in range(micro)], None, cfg,
                                   World(), ckpt["update"] + k)
        for p, mu, s2 in zip(params, mean, m2):
            grad = p.grad / max(g.sample_size, 1.0) if p.grad is not None else torch.zeros_like(p)
            delta = grad - mu
            mu += delta / (k + 1)
            s2 += delta * (grad - mu)
    n = sum(p.numel() for p in params)
    var = [s2 / max(batches - 1, 1) for s2 in m2]
    return {"checkpoint": str(ckpt_path), "update": ckpt["update"], "batches": batches, "micro_batches": micro,
            "mean_std": float(sum(v.sqrt().sum() for v in var) / n),
            "mean_variance": float(sum(v.sum() for v in var) / n),
            "parameters": n}
