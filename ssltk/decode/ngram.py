"""Interpolated modified Kneser-Ney n-gram LMs written as ARPA (Chen & Goodman 1998, KenLM's lmplz rules).

    train_arpa(["THE CAT SAT", "THE DOG"], order=3, path="data/lm/3gram.arpa")

Counts: the highest order uses raw counts; lower orders use continuation counts
(the number of distinct left contexts), except n-grams starting with <s>, which
cannot be extended and keep raw counts. Discounts D1, D2, D3+ per order from
count-of-counts; p(w|h) = (c(hw) - D(c)) / c(h) + gamma(h) p(w|h'), the unigram
interpolated with the uniform distribution over the vocabulary (+ </s>). In ARPA
form the backoff weight of h is gamma(h), so every context sums to 1
(tests/decode/test_ngram.py checks it, and perplexities against an ARPA reader).
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from pathlib import Path

from ssltk.data.tokens import normalize_text

BOS, EOS = "<s>", "</s>"


def _discounts(counts: Counter) -> tuple[float, float, float]:
    t = Counter(min(c, 4) for c in counts.values())
    t1, t2, t3, t4 = (t.get(k, 0) for k in (1, 2, 3, 4))
    if min(t1, t2, t3, t4) == 0:  # tiny corpora: fall back to the absolute-discount estimate
        y = t1 / (t1 + 2 * t2) if t1 + t2 else 0.5
        return (y or 0.5, min(2 * y, 1.5) or 1.0, min(3 * y, 2.5) or 1.5)
    y = t1 / (t1 + 2 * t2)
    ds = (1 - 2 * y * t2 / t1, 2 - 3 * y * t3 / t2, 3 - 4 * y * t4 / t3)
    # small or skewed data can push the estimates out of (0, k); keep them valid (lmplz would refuse)
    return tuple(min(max(dk, 0.05), k - 0.05) for k, dk in zip((1, 2, 3), ds))


def train_arpa(texts: list[str], order: int, path: str | Path) -> Path:
    if order < 1:
        raise ValueError("order must be >= 1")
    sents = [[BOS, *normalize_text(t).split(), EOS] for t in texts if normalize_text(t)]
    if not sents:
        raise ValueError("no text to train a language model on")
    raw = [Counter() for _ in range(order + 1)]  # raw[n][ngram tuple]
    for s in sents:
        for n in range(1, order + 1):
            for i in range(len(s) - n + 1):
                raw[n][tuple(s[i:i + n])] += 1
    # adjusted counts: continuation counts below the top order (raw for <s>-initial n-grams)
    adj = [Counter() for _ in range(order + 1)]
    adj[order] = Counter(raw[order])
    for n in range(order - 1, 0, -1):
        left = Counter(g[1:] for g in raw[n + 1])
        for g, c in raw[n].items():
            adj[n][g] = c if g[0] == BOS else left.get(g, 0)
    vocab = sorted({w for s in sents for w in s[1:]})  # words + </s>
    disc = {n: _discounts(Counter({g: c for g, c in adj[n].items() if g != (BOS,)})) for n in range(1, order + 1)}

    def d(n, c):
        d1, d2, d3 = disc[n]
        return 0.0 if c == 0 else d1 if c == 1 else d2 if c == 2 else d3

    prob: list[dict] = [dict() for _ in range(order + 1)]
    gamma: list[dict] = [dict() for _ in range(order + 1)]  # gamma[n][history of length n]
    # unigrams
    uni = {g: c for g, c in adj[1].items() if g != (BOS,)}
    total = sum(uni.values())
    nk = Counter(min(c, 3) for c in uni.values())
    g0 = sum(d(1, k) * nk[k] for k in (1, 2, 3)) / total
    for w in vocab:
        c = uni.get((w,), 0)
        prob[1][(w,)] = max(c - d(1, c), 0) / total + g0 / len(vocab)
    # higher orders, by history
    for n in range(2, order + 1):
        by_hist: dict[tuple, dict] = defaultdict(dict)
        for g, c in adj[n].items():
            by_hist[g[:-1]][g[-1]] = c
        for h, nexts in by_hist.items():
            ch = sum(nexts.values())
            nk = Counter(min(c, 3) for c in nexts.values())
            gamma[n - 1][h] = sum(d(n, k) * nk[k] for k in (1, 2, 3)) / ch
            for w, c in nexts.items():
                lower = _lookup(prob, gamma, h[1:] + (w,))
                prob[n][h + (w,)] = max(c - d(n, c), 0) / ch + gamma[n - 1][h] * lower
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\\data\\\n")
        counts = [len(prob[1]) + 1] + [len(prob[n]) for n in range(2, order + 1)]
        for n, c in enumerate(counts, 1):
            f.write(f"ngram {n}={c}\n")
        for n in range(1, order + 1):
            f.write(f"\n\\{n}-grams:\n")
            rows = sorted(prob[n].items())
            if n == 1:
                rows = [((BOS,), 0.0)] + rows
            for g, p in rows:
                lp = -99.0 if g == (BOS,) else math.log10(p)
                bo = gamma[n].get(g) if n < order else None
                f.write(f"{lp:.6f}\t{' '.join(g)}" + (f"\t{math.log10(bo):.6f}" if bo else "") + "\n")
        f.write("\n\\end\\\n")
    return path


def _lookup(prob, gamma, g: tuple) -> float:
    """p(g[-1] | g[:-1]) by ARPA back-off over the tables built so far."""
    n = len(g)
    if g in prob[n]:
        return prob[n][g]
    return gamma[n - 1].get(g[:-1], 1.0) * _lookup(prob, gamma, g[1:])


def read_arpa(path: str | Path, max_order: int | None = None):
    """Stream an ARPA file's entries as (order, words, log10 prob, log10 backoff or None), up to
    `max_order` (the rest of the file is not read: the unigrams of a 4-gram are cheap)."""
    section = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("ngram ") or line in ("\\data\\", "\\end\\"):
                continue
            if line.startswith("\\") and line.endswith("-grams:"):
                section = int(line[1:line.index("-")])
                if max_order is not None and section > max_order:
                    return
                continue
            tabs = "\t" in line
            parts = line.split("\t") if tabs else line.split()
            words = tuple(parts[1].split()) if tabs else tuple(parts[1:1 + section])
            backoff = float(parts[-1]) if len(parts) > (2 if tabs else 1 + section) else None
            yield section, words, float(parts[0]), backoff


class ArpaModel:
    """A minimal ARPA reader for scoring (the same back-off rule as KenLM's query)."""

    def __init__(self, path: str | Path):
        self.prob: dict[tuple, float] = {}
        self.backoff: dict[tuple, float] = {}
        self.order = 0
        for order, words, lp, backoff in read_arpa(path):
            self.order = max(self.order, order)
            self.prob[words] = lp
            if backoff is not None:
                self.backoff[words] = backoff

    def log10p(self, history: tuple, word: str) -> float:
        history = history[-(self.order - 1):] if self.order > 1 else ()
        penalty = 0.0
        while True:
            g = history + (word,)
            if g in self.prob:
                return self.prob[g] + penalty
            if not history:
                return -99.0
            penalty += self.backoff.get(history, 0.0)
            history = history[1:]

    def sentence_log10(self, text: str) -> tuple[float, int]:
        words = normalize_text(text).split() + [EOS]
        hist, total = (BOS,), 0.0
        for w in words:
            total += self.log10p(hist, w)
            hist = hist + (w,)
        return total, len(words)

    def perplexity(self, texts: list[str]) -> float:
        lp, n = 0.0, 0
        for t in texts:
            a, b = self.sentence_log10(t)
            lp, n = lp + a, n + b
        return 10 ** (-lp / n)
