"""Pre-trained against from-scratch over seeds: one markdown table from run.sh exp dirs.

    python3 local/seed_table.py exp_sewd_w30_s0 exp_sewd_w30_s1 exp_sewd_w30_s2 --command "..."

Each exp dir is one `./run.sh --stage 5 --stop-stage 6 --seed N --exp-dir DIR ...` (its `finetune` and
`finetune_scratch` systems decoded by stage 6). A row per dir: test WER % (WFST / greedy / test-other WFST)
of both systems and the difference in test WFST; then the mean over the dirs and how many pairings
pre-training won (the issue's "lower in every pairing").
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
    if command:
        head += f" Command: `{command}`."
    return head + "\n\n" + "\n".join(lines) + "\n"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("exp_dirs", nargs="+", type=Path, help="run.sh exp dirs with finetune and finetune_scratch")
    p.add_argument("--command", help="the command that produced the dirs (printed with the table)")
    args = p.parse_args(argv)
    missing = [d for d in args.exp_dirs if not (d / "finetune").is_dir()]
    if missing:
        sys.exit(f"seed_table: no finetune/ in {', '.join(map(str, missing))}: run run.sh stages 5-6 there first")
    print(render(args.exp_dirs, args.command), end="")


if __name__ == "__main__":
    main()
