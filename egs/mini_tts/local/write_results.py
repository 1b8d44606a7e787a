"""Stage 7: record a run's test-set results and render RESULTS.md from every recorded run.

Each run writes results/<preset>_<corpus hours>h_<labels>[_phones].json (WERs from utils/score.sh,
decoding settings, pre-training summary, timings); RESULTS.md is rebuilt from all of them,
so runs with other presets, corpus sizes or label budgets sit side by side.
Hand-written remarks live in results/notes.md and are appended verbatim.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

from ssltk.data.atomic import atomic_write_text
from ssltk.decode.score import read_scored
from ssltk.train.metrics import read_metrics

NAMES = {"finetune": "pre-trained + CTC fine-tuning", "finetune_scratch": "from scratch (same fine-tuning)"}


def minutes_between(start: Path, end: Path) -> float | None:
    """Minutes from start's modification to end's (a stage's config.yaml to its .done)."""
    if not (start.exists() and end.exists()):
        return None
    return round((end.stat().st_mtime - start.stat().st_mtime) / 60, 1)


def stage_spans(path: Path) -> dict[str, tuple[int, int]]:
    """(begin, end) epoch seconds of each stage's latest run, from run.sh's stage_times.txt
    (`stage begin|end epoch` lines). A stage found done and skipped on a re-run logs a ~0 s span: it does
    not replace the run that did the work."""
    begun, spans = {}, {}
    for line in path.read_text().splitlines() if path.exists() else []:
        stage, what, t = line.split()
        if what == "begin":
            begun[stage] = int(t)
        elif stage in begun:
            b = begun.pop(stage)
            if stage not in spans or int(t) - b > 2:
                spans[stage] = (b, int(t))
    return dict(sorted(spans.items()))


def stage_minutes(path: Path) -> dict[str, float]:
    """Minutes of each stage's latest run (stage_spans)."""
    return {k: round((e - b) / 60, 1) for k, (b, e) in stage_spans(path).items()}


def collect(args) -> dict:
    exp = Path(args.exp_dir)
    rows = []
    for sys in args.systems:
        row = {"system": sys}
        for m in ("greedy", "wfst"):
            scored = read_scored(exp / sys / f"decode_test_{m}")
            if scored is None:
                raise SystemExit(f"error: {exp / sys / f'decode_test_{m}'} is not scored; run stage 6")
            row[m] = scored["wer_line"]
            if m == "wfst":
                row["lm_weight"], row["word_score"] = scored["stats"]["lm_weight"], scored["stats"]["word_score"]
        for m in ("greedy", "wfst"):  # test-other (voices no train speaker shares), where the corpus has it
            scored = read_scored(exp / sys / f"decode_test_other_{m}")
            if scored is not None:
                row[f"other_{m}"] = scored["wer_line"]
        row["finetune_minutes"] = minutes_between(exp / sys / "config.yaml", exp / sys / ".done")
        rows.append(row)
    info = Path(args.corpus_dir) / "corpus.json"
    corpus = json.loads(info.read_text()) if info.exists() else {}
    pt = exp / "pretrain"
    rows_pt = read_metrics(pt) if (pt / "metrics.jsonl").exists() else []
    last = ([r for r in rows_pt if r.get("split") == "train"] or [{}])[-1]
    dev = ([r for r in rows_pt if r.get("split") == "valid"] or [{}])[-1]
    return {
        "preset": args.preset, "labels": args.labels, "wfst_tokens": args.wfst_tokens, "command": args.command,
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} CPU cores ({platform.processor() or platform.machine()})",
        "corpus": corpus.get("splits", {}), "text_source": corpus.get("text_source", "?"),
        "wall_minutes": round(args.wall_seconds / 60, 1) if args.wall_seconds else None,
        "from_stage": args.from_stage, "stage_minutes": stage_minutes(exp / "stage_times.txt"),
        "pretrain": {"updates": last.get("update"), "hours_seen": last.get("hours_seen"),
                     "loss": last.get("contrastive", last.get("loss")), "accuracy": last.get("accuracy"),
                     "dev_accuracy": dev.get("accuracy"),
                     "minutes": minutes_between(exp / "pretrain" / "config.yaml", exp / "pretrain" / ".done")},
        "systems": rows,
    }


def train_hours(run: dict) -> float:
    return round(run["corpus"].get("train-clean", {}).get("hours", 0), 1)


def system_name(s: dict) -> str:
    """A system's row name: its 'label' where a results file was annotated by hand (a row whose system is not
    what NAMES says, e.g. a from-scratch baseline fine-tuned differently), else NAMES' name for it."""
    return s.get("label") or NAMES.get(s["system"], s["system"])


def fmt(x, spec=".3f"):
    return "?" if x is None else format(x, spec)


def render(results_dir: Path) -> str:
    runs = [json.loads(p.read_text()) for p in sorted(results_dir.glob("*.json"))]
    lines = ["# mini_tts results", "", "Written by stage 7 (local/write_results.py) from results/*.json, one file per run",
             "(preset, corpus size, label budget); test-set word error rates from utils/score.sh. After editing",
             "results/notes.md: `python3 local/write_results.py --render-only --out RESULTS.md`.", "",
             "test-other: the same kind of text read by espeak-ng voice variants that no train speaker uses.", "",
             "| preset | corpus | labels | system | test greedy | test WFST + n-gram LM | test-other greedy | "
             "test-other WFST |", "|---|---|---|---|---|---|---|---|"]
    for r in runs:
        for s in r["systems"]:
            lines.append(f"| {r['preset']} | {train_hours(r):g} h | {r.get('labels', '?')} | "
                         f"{system_name(s)} | {s['greedy']} | {s['wfst']} "
                         f"({r.get('wfst_tokens', 'letters')}, LM weight {s['lm_weight']}, word score "
                         f"{s['word_score']}) | {s.get('other_greedy', '-')} | "
                         f"{s.get('other_wfst', '-')} |")
    for r in runs:
        p = r["pretrain"]
        ft = ", ".join(f"{system_name(s)} {fmt(s.get('finetune_minutes'), '')} min"
                       for s in r["systems"])
        lines += ["", f"## {r['preset']}, {train_hours(r):g} h corpus, {r.get('labels', '?')} of labels, WFST over "
                  f"{r.get('wfst_tokens', 'letters')}", "",
                  f"- Command: `{r['command']}`, measured {r['date']} on {r['machine']}"
                  + (f"; wall time from stage {r['from_stage']}: {r['wall_minutes']} min." if r["wall_minutes"]
                     else "."),
                  f"- Corpus: {json.dumps(r['corpus'])}; text: {r['text_source']}.",
                  *(["- Stage times (min): " + ", ".join(f"{k}: {v}" for k, v in r["stage_minutes"].items())
                     + " (stages 0-2 data, 3 pre-training, 4 LM and graph, 5 fine-tuning, 6 decoding)."]
                    if r.get("stage_minutes") else []),
                  f"- Pre-training: {p['updates']} updates in {fmt(p['minutes'], '')} min, "
                  f"{fmt(p['hours_seen'], '.2f')} h of audio seen, final pre-training loss {fmt(p['loss'])}, "
                  f"accuracy {fmt(p['accuracy'])}"
                  + (f" (dev {fmt(p['dev_accuracy'])})." if p.get("dev_accuracy") is not None else "."),
                  f"- Fine-tuning: {ft}."]
    study = results_dir / "study.md"  # run_study.sh's tables (local/study_results.py)
    if study.exists():
        lines += ["", study.read_text().rstrip()]
    notes = results_dir / "notes.md"
    if notes.exists():
        lines += ["", notes.read_text().rstrip()]
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description="record a run (stage 7), or with --render-only rebuild --out from "
                                            "--results-dir after editing results/notes.md")
    p.add_argument("--render-only", action="store_true")
    p.add_argument("--exp-dir")
    p.add_argument("--corpus-dir")
    p.add_argument("--systems", nargs="+")
    p.add_argument("--preset")
    p.add_argument("--labels", default="?", help="the fine-tuning label budget")
    p.add_argument("--wfst-tokens", default="letters", help="the tokens the WFST decoded (letters | phones)")
    p.add_argument("--results-dir", default="results", help="one JSON per preset; RESULTS.md is built from all")
    p.add_argument("--out", required=True)
    p.add_argument("--command")
    p.add_argument("--wall-seconds", type=int, default=0)
    p.add_argument("--from-stage", type=int, default=0)
    args = p.parse_args()
    results_dir = Path(args.results_dir)
    if not args.render_only:
        missing = [o for o in ("exp_dir", "corpus_dir", "systems", "preset", "command") if not getattr(args, o)]
        if missing:
            p.error("recording a run needs " + ", ".join("--" + o.replace("_", "-") for o in missing))
        results_dir.mkdir(parents=True, exist_ok=True)
        run = collect(args)
        tag = "" if args.wfst_tokens == "letters" else f"_{args.wfst_tokens}"
        name = f"{args.preset}_{train_hours(run):g}h_{args.labels}{tag}.json"
        atomic_write_text(results_dir / name, json.dumps(run, indent=1) + "\n")
    atomic_write_text(args.out, render(results_dir))


if __name__ == "__main__":
    main()
