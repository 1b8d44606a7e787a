"""Test WER against the minutes a run spent on 2 cores, from results/wer_minutes.json -> a PNG.

    python3 local/plot_wer_minutes.py --points results/wer_minutes.json --out wer_minutes.png

Each point is one measured run: {"system", "minutes" (wall time of the recipe's stages that system
needs), "wfst", "greedy" (test %WER), "what", "command"}; one line per system, the issue's 30 %
target dashed.
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--points", default="results/wer_minutes.json")
    p.add_argument("--out", default="wer_minutes.png")
    args = p.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = json.loads(Path(args.points).read_text())
    by_system = defaultdict(list)
    for pt in points:
        by_system[pt["system"]].append(pt)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for system, pts in by_system.items():
        pts.sort(key=lambda q: q["minutes"])
        for key, style in (("wfst", "-o"), ("greedy", ":s")):
            ax.plot([q["minutes"] for q in pts], [q[key] for q in pts], style,
                    label=f"{system}, {'WFST + LM' if key == 'wfst' else 'greedy'}")
    ax.axhline(30, color="gray", linestyle="--", linewidth=1, label="target: 30 % (WFST)")
    ax.set_xlabel("minutes on 2 CPU cores (the stages the system needs)")
    ax.set_ylabel("test WER (%)")
    ax.set_ylim(0, 110)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("mini_tts: test WER against time spent")
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out} ({len(points)} runs)")


if __name__ == "__main__":
    main()
