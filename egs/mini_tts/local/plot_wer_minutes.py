"""WER against the minutes a mini_tts run spent on its cores, from the run's own logs -> a PNG.

    python3 local/plot_wer_minutes.py --exp-dir exp --out wer_minutes.png

For each system (pre-trained + fine-tuning, from scratch): the dev greedy WER (and, with a phone layer,
the dev phone error rate) at every validation of its fine-tuning (timestamps of its log) and the final
test WERs (greedy, WFST), against the minutes
that system needs: stages 0-2 and 4, its own fine-tuning and decoding, plus stage 3 (pre-training)
for the pre-trained system only. Times come from the run's stage_times.txt (run.sh) and log lines;
the run must have gone through stages 0-6 in one go on an otherwise idle machine.
"""
from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

from write_results import stage_spans

LINE = re.compile(r"^(\S+ \S+),\d+ .* update (\d+) validation loss \S+ wer (\S+)")


def validations(log: Path, key: str = "wer") -> list[tuple[float, float]]:
    """(epoch seconds, dev metric) of each validation in a fine-tuning log: the greedy letter WER, or
    another key of the run's metrics.jsonl at the same updates (aux_error_rate: the phone layer's)."""
    times = {}
    for line in log.read_text().splitlines():
        if m := LINE.match(line):
            times[int(m[2])] = (time.mktime(time.strptime(m[1], "%Y-%m-%d %H:%M:%S")), float(m[3]))
    if key == "wer":
        return list(times.values())
    rows = [json.loads(x) for x in (log.parent.parent / "metrics.jsonl").read_text().splitlines()]
    return [(times[r["update"]][0], r[key]) for r in rows
            if r.get("split") == "valid" and key in r and r["update"] in times]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--exp-dir", default="exp")
    p.add_argument("--out", default="wer_minutes.png")
    args = p.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    exp = Path(args.exp_dir)
    spans = stage_spans(exp / "stage_times.txt")
    if not {"0", "3", "5", "6"} <= spans.keys():
        raise SystemExit(f"error: {exp}/stage_times.txt lacks a full run of stages 0-6; run ./run.sh from stage 0")
    start = spans["0"][0]
    pretrain_s = spans["3"][1] - spans["3"][0]
    def ft_seconds(sys: str) -> float:
        return (exp / sys / ".done").stat().st_mtime - (exp / sys / "config.yaml").stat().st_mtime

    pt_ft, scratch_ft = ft_seconds("finetune"), ft_seconds("finetune_scratch")
    pt_decode = max(f.stat().st_mtime for f in (exp / "finetune").glob("decode_*/stats.json")) - spans["6"][0]
    fig, ax = plt.subplots(figsize=(11, 4.5))
    for sys, label, color in (("finetune", "pre-trained + fine-tuning", "C0"),
                              ("finetune_scratch", "from scratch", "C1")):
        # stage 5 fine-tunes both systems, then stage 6 decodes both: neither waits for the other's work,
        # and the scratch system not for pre-training
        train_shift = 0.0 if sys == "finetune" else pretrain_s + pt_ft
        decode_shift = scratch_ft if sys == "finetune" else train_shift + pt_decode
        pts = validations(exp / sys / "log" / "finetune.log")
        ax.plot([(t - start - train_shift) / 60 for t, _ in pts], [w for _, w in pts], "-", color=color, alpha=0.6,
                label=f"{label}: dev greedy WER (letters) during fine-tuning")
        if pts := validations(exp / sys / "log" / "finetune.log", "aux_error_rate"):
            ax.plot([(t - start - train_shift) / 60 for t, _ in pts], [w for _, w in pts], ":", color=color,
                    alpha=0.6, label=f"{label}: dev phone error rate (greedy) during fine-tuning")
        for m, marker in (("greedy", "s"), ("wfst", "o")):
            stats = exp / sys / f"decode_test_{m}" / "stats.json"
            if stats.exists():
                minutes = (stats.stat().st_mtime - start - decode_shift) / 60
                ax.plot([minutes], [json.loads(stats.read_text())["wer"]], marker, color=color, markersize=8,
                        label=f"{label}: test {'WFST + LM' if m == 'wfst' else 'greedy'}")
    ax.axhline(30, color="gray", linestyle="--", linewidth=1, label="issue target: 30 % (test, WFST)")
    ax.set_xlabel("minutes on 2 CPU cores that the system needs (data, LM, [pre-training], its fine-tuning)")
    ax.set_ylabel("WER (%)")
    ax.set_ylim(0, 110)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(f"mini_tts ({exp.name}): WER against time spent")
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
