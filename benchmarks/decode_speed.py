"""Search speed of greedy and WFST decoding per CPU core (real-time factor).

    python benchmarks/decode_speed.py [--words 2000 --sentences 5000 --order 3]

Builds a letter lang dir over a synthetic vocabulary, an N-gram LM and TLG.fst,
then decodes 10 s (500 frames) of peaky CTC posteriors spelling a sentence,
with greedy search and with kaldi-decoder at several beams, on one thread.
Prints one JSON line per setting.
"""
from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ssltk.data.tokens import LetterTokenizer
from ssltk.decode.graph import compile_graph
from ssltk.objectives.ctc import greedy_decode
from ssltk.decode.lang import prepare_lang
from ssltk.decode.ngram import train_arpa
from ssltk.decode.wfst import WfstDecoder


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--words", type=int, default=2000)
    p.add_argument("--sentences", type=int, default=5000)
    p.add_argument("--order", type=int, default=3)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    torch.set_num_threads(1)
    r = random.Random(0)
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    vocab = sorted({"".join(r.choice(letters) for _ in range(r.randint(3, 9))) for _ in range(args.words)})
    texts = [" ".join(r.choice(vocab) for _ in range(r.randint(4, 15))) for _ in range(args.sentences)]
    tok = LetterTokenizer()
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        prepare_lang(d, texts, tok)
        t0 = time.perf_counter()
        graph = compile_graph(d, train_arpa(texts, args.order, d / "lm.arpa"))
        build_s = time.perf_counter() - t0
        import kaldifst

        g = kaldifst.StdVectorFst.read(str(graph))
        arcs = sum(g.num_arcs(s) for s in range(g.num_states))
        print(json.dumps({"graph": "TLG", "order": args.order, "words": len(vocab), "states": g.num_states,
                          "arcs": arcs, "build_s": round(build_s, 2)}))
        # 500 frames (10 s at 50 Hz): a sentence's letters, each followed by blanks, plus noise
        sent = texts[0]
        ids = tok.encode(sent)
        frames = []
        per = max(1, 500 // len(ids))
        for t in ids:
            frames += [t] + [0] * (per - 1)
        frames = (frames + [0] * 500)[:500]
        lp = np.random.default_rng(0).normal(0, 1, (500, len(tok.symbols))).astype(np.float32)
        lp[np.arange(500), frames] += 8.0
        lp = torch.log_softmax(torch.from_numpy(lp), -1).numpy()
        audio_s = 10.0

        def timed(fn):
            fn()
            start = time.perf_counter()
            for _ in range(args.repeats):
                out = fn()
            return (time.perf_counter() - start) / args.repeats, out

        sec, ids_out = timed(lambda: greedy_decode(torch.from_numpy(lp)[None], torch.tensor([500]))[0])
        print(json.dumps({"search": "greedy", "rtf_per_core": round(sec / audio_s, 7),
                          "correct": tok.decode(ids_out) == sent}))
        for beam in (8, 16, 50):
            dec = WfstDecoder(graph, d / "words.txt", lm_weight=2.0, word_score=-1.0, beam=beam, max_active=7000)
            sec, words = timed(lambda: dec.decode(lp))
            print(json.dumps({"search": "wfst", "beam": beam, "max_active": 7000, "lm_weight": 2.0,
                              "word_score": -1.0, "rtf_per_core": round(sec / audio_s, 6),
                              "correct": " ".join(words) == sent}))


if __name__ == "__main__":
    main()
