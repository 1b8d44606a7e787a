"""mini_tts' stage 6 decodes, per process or in one: wall time of the same 12 decodes, three ways.

    python3 benchmarks/decode_processes.py --recipe-dir egs/mini_tts --exp-dir exp [--repeats 2]

The 12 decodes are {pre-trained, from scratch} x {dev, test, test-other} x {greedy (letter layer), WFST
(phone layer, LM weight grid 1 2 on dev, dev's best on the tests)}, written to a scratch directory:
- apart: one `ssltk.bin.decode` process per set and method, in turn (stage 6 before 3f1e6a5);
- one process per system (`--cuts dev=.. test=.. test_other=.. --method greedy wfst --tune-on dev`), in turn;
- one process per system, both at once (stage 6 now).
Rounds alternate the three; every way must give the same hypotheses. One JSON line per run, then the medians.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SYSTEMS = ("finetune", "finetune_scratch")
SETS = {"dev": "cuts_dev-clean", "test": "cuts_test-clean", "test_other": "cuts_test-other"}


def commands(recipe: Path, exp: Path, out: Path, way: str) -> list[list[list[str]]]:
    """Groups of commands: the groups run in turn, the commands of a group at once."""
    data = recipe / "data"
    groups = []
    for system in SYSTEMS:
        base = [sys.executable, "-m", "ssltk.bin.decode", "--ckpt", str(exp / system / "best.pt"), "--beam", "8"]
        letters = ["--lang-dir", str(data / "lang_char")]
        wfst = ["--graph", str(data / "lang_phone" / "TLG.fst")]
        if way == "apart":
            for name, cuts in SETS.items():
                c = ["--cuts", str(data / "manifests" / f"{cuts}.jsonl.gz")]
                lm = ["1", "2"] if name == "dev" else ["1"]
                groups.append([[*base, *c, "--method", "greedy", *letters,
                                "--out-dir", str(out / way / system / f"{name}_greedy")]])
                groups.append([[*base, *c, "--method", "wfst", *wfst, "--lang-dir", str(data / "lang_phone"),
                                "--lm-weight", *lm, "--out-dir", str(out / way / system / f"{name}_wfst")]])
        else:
            cuts = [f"{n}={data / 'manifests' / f'{c}.jsonl.gz'}" for n, c in SETS.items()]
            groups.append([[*base, "--cuts", *cuts, "--method", "greedy", "wfst", *letters, *wfst,
                            "--wfst-lang-dir", str(data / "lang_phone"), "--lm-weight", "1", "2", "--tune-on", "dev",
                            "--out-dir", str(out / way / system / "{set}_{method}")]])
    if way == "together":
        groups = [[g[0] for g in groups]]
    return groups


def run(groups: list[list[list[str]]]) -> float:
    start = time.perf_counter()
    for group in groups:
        procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL) for cmd in group]
        if any(p.wait() for p in procs):
            raise SystemExit(f"a decode failed: {group}")
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipe-dir", type=Path, default=Path("egs/mini_tts"))
    p.add_argument("--exp-dir", default="exp", help="relative to --recipe-dir, with finetune*/best.pt")
    p.add_argument("--repeats", type=int, default=2)
    args = p.parse_args()
    recipe = args.recipe_dir.resolve()
    exp = recipe / args.exp_dir
    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for r in range(args.repeats):
            for way in ("apart", "per_system", "together"):
                s = run(commands(recipe, exp, out, way))
                times.setdefault(way, []).append(s)
                print(json.dumps({"round": r, "way": way, "seconds": round(s, 2)}))
        for system in SYSTEMS:
            for name in SETS:
                for m in ("greedy", "wfst"):
                    hyps = {way: (out / way / system / f"{name}_{m}" / "hyp.txt").read_text() for way in times}
                    if len(set(hyps.values())) != 1:
                        raise SystemExit(f"{system} {name} {m}: the ways decode differently")
    med = {way: statistics.median(v) for way, v in times.items()}
    print(json.dumps({"median_s": {k: round(v, 2) for k, v in med.items()},
                      "speedup_vs_apart": {k: round(med["apart"] / v, 2) for k, v in med.items()},
                      "same_hypotheses": True}))


if __name__ == "__main__":
    main()
