"""Collect the test-set results of a mini_tts run into RESULTS.md (stage 7)."""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--exp-dir", required=True)
    p.add_argument("--corpus-dir", required=True)
    p.add_argument("--systems", nargs="+", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--command", required=True)
    p.add_argument("--wall-seconds", type=int, default=0)
    p.add_argument("--from-stage", type=int, default=0)
    args = p.parse_args()
    exp = Path(args.exp_dir)
    names = {"finetune": "pre-trained + CTC fine-tuning", "finetune_scratch": "from scratch (same fine-tuning)"}
    rows = []
    for sys in args.systems:
        row = [names.get(sys, sys)]
        for m in ("greedy", "wfst"):
            d = exp / sys / f"decode_test_{m}"
            stats = json.loads((d / "stats.json").read_text())
            wer = (d / "scoring" / "wer").read_text().strip()
            extra = f" (LM weight {stats['lm_weight']}, word score {stats['word_score']})" if m == "wfst" else ""
            row.append(f"{wer}{extra}")
        rows.append(row)
    info = Path(args.corpus_dir) / "corpus.json"
    corpus = json.loads(info.read_text()) if info.exists() else {}
    pt = exp / "pretrain" / "metrics.jsonl"
    pt_last = [json.loads(x) for x in pt.read_text().splitlines() if '"train"' in x][-1] if pt.exists() else {}
    lines = [
        "# mini_tts results",
        "",
        f"Measured on {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), "
        f"with `{args.command}`"
        + (f"; wall time from stage {args.from_stage}: {args.wall_seconds / 60:.1f} min." if args.wall_seconds else "."),
        "",
        f"Corpus: {json.dumps(corpus.get('splits', {}))}; text: {corpus.get('text_source', '?')}.",
        "",
        "Test-set word error rates (utils/score.sh):",
        "",
        "| system | greedy | WFST + n-gram LM |",
        "|---|---|---|",
        *[f"| {r[0]} | {r[1]} | {r[2]} |" for r in rows],
        "",
        f"Pre-training: {pt_last.get('update', '?')} updates, {pt_last.get('hours_seen', 0):.2f} h of audio seen, "
        f"final contrastive loss {pt_last.get('contrastive', float('nan')):.3f}, accuracy "
        f"{pt_last.get('accuracy', float('nan')):.3f}.",
        "",
    ]
    Path(args.out).write_text("\n".join(lines))


if __name__ == "__main__":
    main()
