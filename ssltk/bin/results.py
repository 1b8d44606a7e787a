"""Collect decoding results (stats.json + utils/score.sh output) into a RESULTS.md table.

    python -m ssltk.bin.results --systems exp/ft_a exp/ft_b --sets dev-clean test-clean \\
        --command "./run.sh ..." --out RESULTS.md

One row per system and set: greedy and WFST WER (with the LM weight / word score used),
average forward time per utterance (batch 1, fp32) and the network's real-time factor.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from ssltk.data.atomic import atomic_write_text
from ssltk.decode.score import read_scored


def row(system: Path, dataset: str) -> str:
    scored = {m: read_scored(system / f"decode_{dataset}_{m}") for m in ("greedy", "wfst")}
    cells = ["-" if r is None else r["wer_line"].split()[1] for r in scored.values()]
    if (wfst := scored["wfst"]) is not None:
        cells[1] += f" (lm {wfst['stats']['lm_weight']}, ws {wfst['stats']['word_score']})"
    stats = next((r["stats"] for r in reversed(scored.values()) if r is not None), None)
    timing = f"{stats['avg_forward_s']:.3f} s / {stats['forward_rtf']:.4f}" if stats else "-"
    return f"| {system.name} | {dataset} | {cells[0]} | {cells[1]} | {timing} |"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--systems", nargs="+", required=True)
    p.add_argument("--sets", nargs="+", required=True)
    p.add_argument("--command", required=True)
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)
    lines = ["# Results", "", f"Measured on {time.strftime('%Y-%m-%d')} ({os.cpu_count()} CPU cores) with "
             f"`{args.command}`; WER from utils/score.sh.", "",
             "| system | set | WER greedy (%) | WER WFST (%) | forward per utterance / RTF |", "|---|---|---|---|---|"]
    lines += [row(Path(s), d) for s in args.systems for d in args.sets]
    atomic_write_text(args.out, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
