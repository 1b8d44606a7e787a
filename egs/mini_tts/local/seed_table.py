"""Pre-trained against from-scratch over seeds: one markdown table from run.sh exp dirs.

    python3 local/seed_table.py exp_sewd_w30_s0 exp_sewd_w30_s1 exp_sewd_w30_s2 --command "..."

Each exp dir is one `./run.sh --stage 5 --stop-stage 6 --seed N --exp-dir DIR ...` (its `finetune` and
`finetune_scratch` systems decoded by stage 6). A row per dir: test WER % (WFST / greedy / test-other WFST)
of both systems and the difference in test WFST; then the mean over the dirs and how many pairings
pre-training won (the issue's "lower in every pairing").

With several fine-tuning seeds per pre-training checkpoint (the fine-tuning seed alone moves a 10 min
fine-tune by up to 8 points), pass the from-scratch runs apart:

    python3 local/seed_table.py exp_sewd_10m_s0 exp_pt0_ft1_10m exp_pt0_ft2_10m exp_sewd_10m_s1 ... \
        --scratch exp_ctl10m_s0 exp_ctl10m_s1 exp_ctl10m_s2

Then the positional dirs' `finetune` systems are grouped by the checkpoint they started from (`init` in
their config.yaml), each fine-tuning seed paired with the from-scratch run of the same seed (its
`finetune_scratch`, or `finetune` for a run started from `preset:`), and a row per checkpoint gives the
seeds' test WFST, their mean against the from-scratch mean over the same seeds, and how many of the seed
pairs pre-training won.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from ssltk.decode.score import read_scored
from ssltk.train.finetune import load_finetune_config

SPLITS = (("test", "wfst"), ("test", "greedy"), ("test_other", "wfst"))


def system_wers(d: Path) -> dict[str, float | None]:
    """test/test-other WERs of one decoded system dir, None where not scored."""
    out = {}
    for split, method in SPLITS:
        s = read_scored(d / f"decode_{split}_{method}")
        out[f"{split}_{method}"] = None if s is None else s["wer"]
    return out


def seed_of(d: Path) -> str:
    """train.seed of the dir's fine-tuning (its resolved config.yaml)."""
    cfg = d / "finetune" / "config.yaml"
    return str(load_finetune_config(cfg).train.seed) if cfg.exists() else "?"


def table(head: str, lines: list[str], command: str | None) -> str:
    """A caption (with the command that produced the dirs, when given), then the markdown table."""
    if command:
        head += f" Command: `{command}`."
    return head + "\n\n" + "\n".join(lines) + "\n"


def finetuned(system: Path) -> tuple[str, int, float | None]:
    """(init checkpoint, fine-tuning seed, test WFST WER) of one fine-tuned system dir."""
    cfg = load_finetune_config(system / "config.yaml")
    return cfg.init, cfg.train.seed, system_wers(system)["test_wfst"]


def scratch_system(d: Path) -> Path:
    """A from-scratch run's system: run.sh's finetune_scratch, or finetune when started from `preset:`."""
    return d / "finetune_scratch" if (d / "finetune_scratch").is_dir() else d / "finetune"


def render_grid(dirs: list[Path], scratch_dirs: list[Path], command: str | None) -> str:
    scratch = {}
    for d in scratch_dirs:
        init, seed, wer = finetuned(scratch_system(d))
        if not init.startswith("preset:"):
            raise ValueError(f"{d}: started from {init}, not from a preset: not a from-scratch run")
        scratch[seed] = wer
    groups: dict[str, dict[int, float | None]] = {}
    for d in dirs:
        init, seed, wer = finetuned(d / "finetune")
        groups.setdefault(init, {})[seed] = wer
    lines = ["| pre-trained start | fine-tuning seeds | pre-trained | mean | from scratch | mean | difference of means "
             "| seed pairs lower / >= 5 points lower |", "|---|---|---|---:|---|---:|---:|---|"]
    for init, runs in groups.items():
        seeds = sorted(s for s in runs if s in scratch and runs[s] is not None and scratch[s] is not None)
        if not seeds:
            lines.append(f"| {init} | - | no scored seed with a from-scratch run of the same seed | | | | | |")
            continue
        pt, sc = [runs[s] for s in seeds], [scratch[s] for s in seeds]
        diffs = [b - a for a, b in zip(pt, sc)]
        lines.append(f"| {init} | {' / '.join(map(str, seeds))} | {' / '.join(f'{x:.1f}' for x in pt)} | "
                     f"{statistics.mean(pt):.1f} | {' / '.join(f'{x:.1f}' for x in sc)} | {statistics.mean(sc):.1f} | "
                     f"{statistics.mean(sc) - statistics.mean(pt):+.1f} | {sum(x > 0 for x in diffs)} / "
                     f"{sum(x >= 5 for x in diffs)} of {len(diffs)} |")
    head = ("Test WER % (WFST over phones), each pre-trained start fine-tuned with several seeds against the "
            "from-scratch runs of the same seeds; difference = from scratch minus pre-trained.")
    return table(head, lines, command)


def mean_or_none(xs: list) -> float | None:
    """Mean of the scored values; None when a split is unscored in any pair (means of unequal sets mislead)."""
    return None if any(x is None for x in xs) else statistics.mean(xs)


def fmt(w: dict) -> str:
    return " / ".join("-" if w[k] is None else f"{w[k]:.1f}" for k in w)


def render(dirs: list[Path], command: str | None) -> str:
    lines = ["| exp dir (seed) | pre-trained | from scratch | difference (test WFST) |", "|---|---|---|---:|"]
    diffs, means = [], {"pt": [], "scratch": []}
    for d in dirs:
        pt, sc = system_wers(d / "finetune"), system_wers(d / "finetune_scratch")
        diff = None
        if pt["test_wfst"] is not None and sc["test_wfst"] is not None:
            diff = sc["test_wfst"] - pt["test_wfst"]
            diffs.append(diff)
            means["pt"].append(pt)
            means["scratch"].append(sc)
        shown = "-" if diff is None else f"{diff:+.1f}"
        lines.append(f"| {d.name} ({seed_of(d)}) | {fmt(pt)} | {fmt(sc)} | {shown} |")
    if diffs:
        avg = {k: {s: mean_or_none([w[s] for w in v]) for s in v[0]} for k, v in means.items()}
        won = sum(x > 0 for x in diffs)
        lines.append(f"| mean of {len(diffs)} | {fmt(avg['pt'])} | {fmt(avg['scratch'])} | "
                     f"{statistics.mean(diffs):+.1f} (pre-training lower in {won} of {len(diffs)}) |")
    head = ("Test WER % (WFST over phones / greedy letters / test-other WFST); difference = from scratch minus "
            "pre-trained.")
    return table(head, lines, command)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("exp_dirs", nargs="+", type=Path, help="run.sh exp dirs with finetune and finetune_scratch")
    p.add_argument("--scratch", nargs="+", type=Path, default=[],
                   help="from-scratch runs, one per fine-tuning seed: the exp dirs are then pre-trained runs, grouped "
                        "by their start")
    p.add_argument("--command", help="the command that produced the dirs (printed with the table)")
    args = p.parse_args(argv)
    missing = [d for d in args.exp_dirs if not (d / "finetune").is_dir()]
    missing += [d for d in args.scratch if not scratch_system(d).is_dir()]
    if missing:
        sys.exit(f"seed_table: no finetune/ in {', '.join(map(str, missing))}: run run.sh stages 5-6 there first")
    if args.scratch:
        try:
            print(render_grid(args.exp_dirs, args.scratch, args.command), end="")
        except ValueError as e:
            sys.exit(f"seed_table: {e}")
    else:
        print(render(args.exp_dirs, args.command), end="")


if __name__ == "__main__":
    main()
