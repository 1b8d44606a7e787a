"""Two fine-tuning runs on a 2-core CPU: one after the other with 2 threads each, or both at once with 1 thread
each? The mini_tts recipe fine-tunes two systems (pre-trained, from scratch) of a 1 M-parameter model whose
small GEMMs use a second thread poorly; this times both ways alternately (A, B, A, B, ...) and prints one JSON
line per repeat and the median ratio.

    python3 benchmarks/parallel_finetune.py --data-dir egs/mini_tts/data --updates 200 --repeats 2

DATA_DIR is a mini_tts data dir after stage 4 (manifests, lang_char, lang_phone); the runs are the recipe's
stage-5 command (conf/finetune_fbank.yaml, from the sewd-mini-fbank preset), stopped after --updates updates,
in a temporary exp dir. Each run's wall time includes its start (imports, model, data loader).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RECIPE = Path(__file__).resolve().parents[1] / "egs" / "mini_tts"


def command(data: Path, exp: Path, updates: int, threads: int) -> list[str]:
    m = data / "manifests"
    return [sys.executable, "-m", "ssltk.bin.finetune", "--config", str(RECIPE / "conf" / "finetune_fbank.yaml"),
            "--exp-dir", str(exp), "--init", "preset:sewd-mini-fbank", f"finetune.lang_dir={data / 'lang_char'}",
            f"finetune.aux_lang_dir={data / 'lang_phone'}", "finetune.best_metric=aux_error_rate",
            f"data.train_cuts={m / 'cuts_train_1h.jsonl.gz'}", f"data.valid_cuts={m / 'cuts_dev-clean.jsonl.gz'}",
            f"train.max_updates={updates}", f"train.valid_every={updates}", f"train.checkpoint_every={updates}",
            f"train.num_threads={threads}", "finetune.freeze_feature_encoder=false"]


def run_all(cmds: list[list[str]], threads: int) -> float:
    """Wall seconds until every command has finished (all started at once)."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    procs = [subprocess.Popen(c, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for c in cmds]
    for p in procs:
        err = p.communicate()[1]
        if p.returncode != 0:
            sys.exit(f"fine-tuning failed:\n{err[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--updates", type=int, default=200)
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args()
    for f in ("manifests/cuts_train_1h.jsonl.gz", "lang_char/tokens.txt", "lang_phone/tokens.txt"):
        if not (args.data_dir / f).exists():
            sys.exit(f"{args.data_dir / f} is missing: run egs/mini_tts/run.sh --stop-stage 4 first")
    seq, par = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            exp = [Path(tmp) / f"r{r}_{k}" for k in ("seq0", "seq1", "par0", "par1")]
            s = sum(run_all([command(args.data_dir, e, args.updates, 2)], 2) for e in exp[:2])
            b = run_all([command(args.data_dir, e, args.updates, 1) for e in exp[2:]], 1)
            seq.append(s)
            par.append(b)
            print(json.dumps({"repeat": r, "updates_per_run": args.updates, "sequential_2_threads_s": round(s, 1),
                              "parallel_1_thread_s": round(b, 1), "speedup": round(s / b, 2)}), flush=True)
    print(json.dumps({"median_sequential_s": round(statistics.median(seq), 1),
                      "median_parallel_s": round(statistics.median(par), 1),
                      "median_speedup": round(statistics.median(s / b for s, b in zip(seq, par)), 2)}))


if __name__ == "__main__":
    main()
