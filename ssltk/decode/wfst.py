"""WFST search over CTC posteriors with kaldi-decoder's FasterDecoder.

Score of a word sequence W: log P_CTC(W | audio) + lm_weight * log P_LM(W) + word_score * |W|.
The decoder minimises graph cost + acoustic cost, so log-probabilities are
scaled by 1 / lm_weight and every word gets an extra cost of -word_score / lm_weight,
added by composing the graph with a one-state word acceptor (the SEW-D paper
decodes with LM weight 2, word score -1).

    >>> dec = WfstDecoder("data/lang/TLG.fst", "data/lang/words.txt", lm_weight=2, word_score=-1)  # doctest: +SKIP
    >>> dec.decode(log_probs)                                                                      # doctest: +SKIP
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ssltk.decode.graph import _compile, graph_symbols
from ssltk.decode.lang import read_symbols


class WfstDecoder:
    def __init__(self, graph: str | Path, words: str | Path, lm_weight: float = 1.0, word_score: float = 0.0,
                 beam: float = 16.0, max_active: int = 7000):
        import kaldifst

        graph = Path(graph)
        if not graph.is_file():
            raise FileNotFoundError(f"decoding graph {graph} does not exist; build it with "
                                    "python -m ssltk.bin.compile_graph")
        self.base = kaldifst.StdVectorFst.read(str(graph))
        self.id2word = {i: w for w, i in read_symbols(words).items()}
        self.symbols = graph_symbols(self.base)
        """(tokens, words) the graph was built with; None for a graph without symbol tables."""
        self.beam, self.max_active = beam, max_active
        self._graph_key, self._graph = None, None
        self.set_weights(lm_weight, word_score)

    def set_weights(self, lm_weight: float, word_score: float) -> None:
        if lm_weight <= 0:
            raise ValueError("lm_weight must be > 0")
        self.lm_weight, self.word_score = lm_weight, word_score
        extra = -word_score / lm_weight
        if self._graph_key == extra:
            return
        if extra == 0:
            self._graph = self.base
        else:  # compose with a one-state acceptor that adds `extra` to every word (linear in arcs)
            import kaldifst

            top = max(self.id2word)
            penalty = _compile([f"0 0 {i} {i} {extra!r}" for i in range(1, top + 1)] + ["0"])
            kaldifst.arcsort(penalty, sort_type="ilabel")
            self._graph = kaldifst.compose(self.base, penalty, match_side="right")
        self._graph_key = extra

    def decode(self, log_probs: np.ndarray) -> list[str]:
        """log_probs: (T, V) CTC log-posteriors of one utterance -> words."""
        import kaldi_decoder
        import kaldifst

        opts = kaldi_decoder.FasterDecoderOptions(beam=self.beam, max_active=self.max_active)
        decoder = kaldi_decoder.FasterDecoder(self._graph, opts)
        scaled = np.ascontiguousarray(log_probs / self.lm_weight, dtype=np.float32)
        decoder.decode(kaldi_decoder.DecodableCtc(scaled))
        ok, best = decoder.get_best_path()
        if not ok:
            return []
        ok, _, words, _ = kaldifst.get_linear_symbol_sequence(best)
        return [self.id2word[w] for w in words if w in self.id2word] if ok else []
