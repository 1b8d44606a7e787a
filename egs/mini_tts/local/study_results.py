"""run_study.sh's bookkeeping: which checkpoints to fine-tune, then its tables and plots.

    python3 local/study_results.py --exp-dir exp_study --batch-sizes 20 40 80 --updates 800 --list-finetunes
    python3 local/study_results.py --exp-dir exp_study --batch-sizes 20 40 80 --updates 800 \
        --preset sewd-mini-fbank --fig1-presets w2v2-mini sew-mini --fig1-batch 160 --results-dir results

--list-finetunes prints `bsB UPDATE CHECKPOINT` lines: every run's last checkpoint and each earlier one that
saw as much audio as another run's last (the batch-size paper's RQ3 pairs). Otherwise it writes
results/study.md (tables of the batch-size study and of the Fig. 1 comparison) and two PNGs next to it.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ssltk.data.atomic import atomic_write_text
from ssltk.decode.score import read_scored
from ssltk.models.checkpoint import load_checkpoint
from ssltk.train.checkpoint import list_checkpoints
from ssltk.train.config import load_pretrain_config
from ssltk.train.loop import effective_batch_s
from ssltk.train.metrics import read_metrics
from write_results import stage_minutes  # local/, beside this script

NEGATIVES = 20  # conf/pretrain.yaml's model.objective.num_negatives: chance accuracy 1 / 21


def finetune_points(exp: Path, batch_sizes: list[int], updates: int) -> list[tuple[int, int, Path]]:
    """(batch s, update, checkpoint) to fine-tune: each run's last, and the ones with audio seen equal to
    another run's last (B x u == B' x updates)."""
    finals = {b * updates for b in batch_sizes}
    points = []
    for b in batch_sizes:
        for u, path in list_checkpoints(exp / f"bs{b}" / "pretrain"):
            if u == updates or (b * u in finals and u < updates):
                points.append((b, u, path))
    return points


def hours_seen(checkpoint: Path) -> float:
    """Hours of audio a pre-training checkpoint has seen (its own counter)."""
    return load_checkpoint(checkpoint)["audio_hours"]


def row_at(rows: list[dict], split: str, update: int) -> dict:
    return next((r for r in rows if r["split"] == split and r["update"] == update), {})


def scored(run: Path, system: str = "finetune") -> dict:
    """Test WER % of one system over the fine-tuning seeds under `run` (run_study.sh's RUN/seed<S>/SYSTEM):
    the mean of each decoding method and, under "<method>_seeds", the seeds' own values (finished ones only)."""
    out = {}
    seeds = sorted(run.glob(f"seed*/{system}"), key=lambda d: int(d.parent.name[4:]))
    for m in ("greedy", "wfst"):
        wers = [s["wer"] for s in (read_scored(d / f"decode_test_{m}") for d in seeds) if s is not None]
        out[m] = sum(wers) / len(wers) if wers else None
        out[f"{m}_seeds"] = wers
    return out


def wer_cell(w: dict, method: str) -> str:
    """The mean, and each seed's value in brackets when there are several."""
    seeds = w[f"{method}_seeds"]
    if len(seeds) < 2:
        return num(w[method])
    return f"{num(w[method])} ({' / '.join(num(x) for x in seeds)})"


def pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def num(x, spec=".1f") -> str:
    return "-" if x is None else format(x, spec)


def pretrain_summary(d: Path) -> dict:
    rows = read_metrics(d) if (d / "metrics.jsonl").exists() else []
    train = [r for r in rows if r["split"] == "train"]
    valid = [r for r in rows if r["split"] == "valid"]
    last, dev = (train or [{}])[-1], (valid or [{}])[-1]
    cfg = d / "config.yaml"
    peak = None
    if cfg.exists():  # the run's resolved config: optim.lr scaled to its effective batch
        c = load_pretrain_config(cfg)
        peak = c.optim.peak_lr(effective_batch_s(c, world_size=1))
    return {"rows": rows, "update": last.get("update"), "hours": last.get("hours_seen"),
            "peak_lr": peak, "loss": last.get("contrastive"),
            "dev_acc": dev.get("accuracy"), "dev_loss": dev.get("loss"),
            "ppl": last.get("code_ppl_0"), "sim": last.get("codeword_sim_mean_0"), "minutes": train_minutes(train),
            "best_dev_acc": max((r.get("accuracy", 0) for r in valid), default=None)}


def train_minutes(train_rows: list[dict]) -> float | None:
    """Minutes the run spent updating: each logged interval's audio over its throughput, so pauses and
    resumes between intervals do not count (validation inside an interval does)."""
    seen, minutes = 0.0, 0.0
    for r in train_rows:
        if r.get("throughput"):
            minutes += (r["hours_seen"] - seen) * 3600 / r["throughput"] / 60
        seen = r["hours_seen"]
    return round(minutes, 1) if train_rows else None


def study_time(exp: Path, pretrainings: list[dict]) -> str:
    """The study's time on this machine: every pre-training's update time plus every fine-tuning's run.sh
    stages 5 (fine-tuning) and 6 (decoding)."""
    pt = sum(s["minutes"] or 0 for s in pretrainings)
    runs = list(exp.glob("*/u*/seed*/stage_times.txt"))
    ft = sum(m for f in runs for k, m in stage_minutes(f).items() if k in ("5", "6"))
    return (f"Time on 2 cores: pre-training {pt:.0f} min ({len(pretrainings)} runs, update time from their logged "
            f"throughput), fine-tuning and decoding {ft:.0f} min ({len(runs)} run.sh stage 5-6 runs), "
            f"{pt + ft:.0f} min in "
            "all (data, plots and the inference benchmark add about a minute).")


def plot(points: list[tuple[float, dict, str]], xlabel: str, path: Path, title: str, baseline: float | None,
         log_x: bool = False) -> None:
    """One point per system at its mean test WFST WER, a bar over its fine-tuning seeds' range."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for x, w, label in points:
        y, seeds = w["wfst"], w["wfst_seeds"]
        ax.errorbar([x], [y], yerr=[[y - min(seeds)], [max(seeds) - y]], fmt="o", capsize=3)
        ax.annotate(label, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    if baseline is not None:
        ax.axhline(baseline, color="grey", linestyle="--", linewidth=1, label="from scratch")
        ax.legend(fontsize=7)
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test WER % (WFST)")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def render(args) -> str:
    exp, res = Path(args.exp_dir), Path(args.results_dir)
    lines = ["## Study: batch size (arXiv:2402.13723 Fig. 2 / 5) and SEW-D's Fig. 1 (arXiv:2109.06870) in miniature",
             "", f"- Command: `{args.command}` (egs/mini_tts/run_study.sh); chance accuracy with {NEGATIVES} "
             f"distractors {100 / (NEGATIVES + 1):.1f} %.",
             f"- Pre-training: {args.preset}, {args.updates} updates per batch size, cyclic LR, peak LR by the "
             "square-root rule of conf/pretrain.yaml; dev = the recipe's held-out speakers. Distractors with the "
             "positive's codewords are left out (as in fairseq), so a collapsed codebook (low code perplexity) "
             "inflates the accuracy.", "",
             "| batch (s / update) | peak LR | hours seen | train contrastive loss | dev accuracy % (last / best) "
             "| code perplexity | codeword similarity | minutes |", "|---|---|---|---|---|---|---|---|"]
    runs = {}
    for b in args.batch_sizes:
        s = runs[b] = pretrain_summary(exp / f"bs{b}" / "pretrain")
        lines.append(f"| {b} | {num(s['peak_lr'], '.2g')} | {num(s['hours'], '.2f')} | {num(s['loss'], '.3f')} | "
                     f"{pct(s['dev_acc'])} / {pct(s['best_dev_acc'])} | {num(s['ppl'])} | {num(s['sim'], '.3f')} | "
                     f"{num(s['minutes'])} |")
    lines += ["", f"Fine-tuned alike (run.sh stages 5-6, {args.labels} of labels, the same updates): test WER "
              "against hours of audio seen in pre-training; rows with equal hours are the RQ3 pairs. With several "
              "fine-tuning seeds (--ft-seeds) a cell is their mean, each seed's WER in brackets.", "",
              "| batch (s / update) | update | hours seen | dev accuracy % | test greedy | test WFST |",
              "|---|---|---|---|---|---|"]
    fig5, scratch = [], None
    for b, u, ckpt in sorted(finetune_points(exp, args.batch_sizes, args.updates), key=lambda p: (p[0] * p[1], p[0])):
        d = exp / f"bs{b}" / f"u{u}"
        w = scored(d)
        hours = hours_seen(ckpt)
        dev = row_at(runs[b]["rows"], "valid", u).get("accuracy")
        lines.append(f"| {b} | {u} | {num(hours, '.2f')} | {pct(dev)} | {wer_cell(w, 'greedy')} | "
                     f"{wer_cell(w, 'wfst')} |")
        if w["wfst"] is not None and hours is not None:
            fig5.append((hours, w, f"{b} s @ {u}"))
        if any(d.glob("seed*/finetune_scratch")):
            scratch = scored(d, "finetune_scratch")
    if scratch:
        lines.append(f"| from scratch | - | 0 | - | {wer_cell(scratch, 'greedy')} | {wer_cell(scratch, 'wfst')} |")
    if fig5:
        plot(fig5, "hours of audio seen in pre-training", res / "study_fig5_wer_hours.png",
             f"{args.preset}: batch size x updates (labels: batch @ update)",
             scratch["wfst"] if scratch else None)
        lines += ["", "![WER against hours seen](results/study_fig5_wer_hours.png)"]
    infer = {}
    path = exp / "infer.jsonl"
    for line in path.read_text().splitlines() if path.exists() else []:
        r = json.loads(line)
        infer[r["preset"]] = r
    lines += ["", f"Fig. 1: presets pre-trained at {args.fig1_batch} s per update for {args.updates} updates, "
              "fine-tuned alike; inference time of a 5 s utterance on 2 threads (ssltk.bin.bench infer, side by "
              "side).", "", "| preset | parameters (M) | inference s / utterance | dev accuracy % | test greedy | "
              "test WFST |", "|---|---|---|---|---|---|"]
    fig1 = []
    for p in [args.preset, *args.fig1_presets]:
        pt = exp / f"bs{args.fig1_batch}" if p == args.preset else exp / p
        w = scored(pt / f"u{args.updates}")
        s = pretrain_summary(pt / "pretrain")
        r = infer.get(p, {})
        lines.append(f"| {p} | {num(r.get('params_m'), '.2f')} | {num(r.get('ssltk_s'), '.4f')} | "
                     f"{pct(s['dev_acc'])} | {wer_cell(w, 'greedy')} | {wer_cell(w, 'wfst')} |")
        if w["wfst"] is not None and r.get("ssltk_s"):
            fig1.append((r["ssltk_s"], w, p))
    if fig1:
        plot(fig1, "inference time per 5 s utterance (s, 2 threads)", res / "study_fig1_wer_time.png",
             "WER against inference time", scratch["wfst"] if scratch else None)
        lines += ["", "![WER against inference time](results/study_fig1_wer_time.png)"]
    lines += ["", study_time(exp, [runs[b] for b in args.batch_sizes] +
                             [pretrain_summary(exp / p / "pretrain") for p in args.fig1_presets])]
    for name in ("study_fig2_updates.png", "study_fig2_hours.png"):
        if (res / name).exists():
            lines += ["", f"![Fig. 2 panels]({'results/' + name})"]
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--exp-dir", required=True)
    p.add_argument("--batch-sizes", type=int, nargs="+", required=True)
    p.add_argument("--updates", type=int, required=True)
    p.add_argument("--list-finetunes", action="store_true")
    p.add_argument("--preset")
    p.add_argument("--fig1-presets", nargs="*", default=[])
    p.add_argument("--fig1-batch", type=int, default=160)
    p.add_argument("--results-dir", default="results")
    p.add_argument("--command", default="./run_study.sh")
    p.add_argument("--labels", default="1h", help="the fine-tunings' label budget (run_study.sh --finetune-labels)")
    args = p.parse_args(argv)
    exp = Path(args.exp_dir)
    if args.list_finetunes:
        points = finetune_points(exp, args.batch_sizes, args.updates)
        if not points:
            sys.exit(f"error: no pre-training checkpoints under {exp}/bs*/pretrain; run stage 1")
        for b, u, path in points:
            print(f"bs{b} {u} {path}")
        return
    Path(args.results_dir).mkdir(parents=True, exist_ok=True)
    out = Path(args.results_dir) / "study.md"
    atomic_write_text(out, render(args))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
