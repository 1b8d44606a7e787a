"""Benchmarks measured side by side in one process; prints one JSON line per run.

    python -m ssltk.bin.bench infer --preset sewd-mid --seconds 10 --threads 2 [--vs-hf]
    python -m ssltk.bin.bench infer --preset w2v2-base --preset sewd-mid --vs-hf   # several, side by side
    python -m ssltk.bin.bench infer --preset w2v2-base --dtype fp32 --dtype bf16   # bf16 speed-up
    python -m ssltk.bin.bench train --preset w2v2-base --preset sewd-mid --batch-seconds 20 --vs-hf

`infer`: forward time of one utterance (batch 1, eval mode, random weights) of
ssltk and, with --vs-hf, of the transformers model with identical config and
weights. Every model of one run is timed alternately in the same process, so
ratios between rows are side-by-side; `speedup_vs_transformers` = transformers / ssltk.
`train`: one pre-training (or, with --task finetune, CTC fine-tuning) update (forward, loss, backward,
AdamW step) on a fixed batch; throughput in audio-seconds per second, against transformers'
Wav2Vec2ForPreTraining, and with `--dtype fp32 --dtype bf16` each preset in both, side by side.
`memory`: peak CPU memory of pre-training updates on the same batch, a fresh process per preset.
`flops`: inference and training FLOPs per second of audio (torch's FlopCounterMode).

    python -m ssltk.bin.bench train --preset s3l-base --preset w2v2-base --batch-seconds 20
    python -m ssltk.bin.bench train --preset s3l-mini --dtype fp32 --dtype bf16 --task finetune
    python -m ssltk.bin.bench train --preset sewd-mini-fbank --task finetune context.dim=192 context.layers=6
    python -m ssltk.bin.bench memory --preset s3l-base --preset w2v2-base --batch-seconds 20
    python -m ssltk.bin.bench flops --preset s3l-base --preset w2v2-base
"""
from __future__ import annotations

import argparse
import json
import sys

from ssltk.benchmark import flops_per_audio_second, infer_benchmark, memory_benchmark, train_benchmark
from ssltk.config import ConfigError


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="bench", required=True)
    p = sub.add_parser("infer", help="forward time per utterance")
    p.add_argument("--preset", required=True, action="append",
                   help="model preset (repeat the flag to time several presets in one run)")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--dtype", action="append", choices=["fp32", "bf16"],
                   help="fp32, or bf16 as decoding runs it (repeat to time both side by side; default fp32)")
    p.add_argument("--vs-hf", action="store_true", help="also time transformers with the same weights")
    p.add_argument("overrides", nargs="*", help="key.sub=value model overrides")
    t = sub.add_parser("train", help="pre-training update time and audio-seconds per second")
    t.add_argument("--preset", required=True, action="append")
    t.add_argument("--batch-seconds", type=float, default=20.0)
    t.add_argument("--utterances", type=int, default=4)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--repeats", type=int, default=3)
    t.add_argument("--dtype", action="append", choices=["fp32", "bf16"],
                   help="autocast dtype (repeat to time fp32 and bf16 side by side; default fp32)")
    t.add_argument("--task", choices=["pretrain", "finetune"], default="pretrain",
                   help="the preset's pre-training objective, or CTC fine-tuning")
    t.add_argument("overrides", nargs="*", help="key.sub=value model overrides (every preset)")
    t.add_argument("--vs-hf", action="store_true",
                   help="also time transformers' Wav2Vec2ForPreTraining (w2v2 config) on the same batch")
    m = sub.add_parser("memory", help="peak memory of pre-training updates, one process per preset")
    m.add_argument("--preset", required=True, action="append")
    m.add_argument("--batch-seconds", type=float, default=20.0)
    m.add_argument("--utterances", type=int, default=4)
    m.add_argument("--threads", type=int, default=2)
    m.add_argument("--steps", type=int, default=2)
    f = sub.add_parser("flops", help="FLOPs per audio-second, inference and one training update")
    f.add_argument("--preset", required=True, action="append")
    f.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    try:
        if args.bench == "infer":
            rows = infer_benchmark(args.preset, args.seconds, args.threads, args.vs_hf, args.repeats,
                                   args.overrides, tuple(args.dtype or ["fp32"]))
        elif args.bench == "memory":
            rows = memory_benchmark(args.preset, args.batch_seconds, args.utterances, args.threads, args.steps)
        elif args.bench == "flops":
            rows = flops_per_audio_second(args.preset, args.seconds)
        else:
            rows = train_benchmark(args.preset, args.batch_seconds, args.utterances, args.threads, args.vs_hf,
                                   args.repeats, dtypes=tuple(args.dtype or ["fp32"]), task=args.task,
                                   overrides=args.overrides)
        for row in rows:
            print(json.dumps(row), flush=True)
    except ConfigError as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
