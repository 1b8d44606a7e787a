"""WFST search over CTC posteriors: the LM corrects the acoustics, weights and word score act."""
import pytest
import torch

from ssltk.decode.graph import compile_graph
from ssltk.decode.wfst import WfstDecoder
from ssltk.objectives.ctc import greedy_decode


@pytest.mark.parametrize("topo", ["standard", "compact"])
def test_lm_corrects_what_greedy_gets_wrong(lang, topo, tmp_path, posteriors):
    d, tok, arpa = lang
    graph = compile_graph(d, arpa, tmp_path / f"TLG_{topo}.fst", compact=topo == "compact")
    seq = list("THE_|CAT|_CAT|")
    lp = posteriors(tok, seq, {10: {"C": 0.5, "S": 0.45}})  # acoustics slightly prefer CAT CAT
    greedy = tok.decode(greedy_decode(torch.from_numpy(lp)[None], torch.tensor([len(seq)]))[0])
    assert greedy == "THE CAT CAT"
    assert WfstDecoder(graph, d / "words.txt", lm_weight=1.0, beam=30).decode(lp) == ["THE", "CAT", "SAT"]
    # a negligible LM weight falls back to the acoustics
    assert WfstDecoder(graph, d / "words.txt", lm_weight=0.01, beam=30).decode(lp) == ["THE", "CAT", "CAT"]


def test_lexicon_only_graph_and_word_score(lang, posteriors):
    d, tok, _ = lang
    graph = compile_graph(d)
    assert graph.name == "TL.fst"
    lp = posteriors(tok, list("THE|_MAT|"))
    assert WfstDecoder(graph, d / "words.txt").decode(lp) == ["THE", "MAT"]
    blank = posteriors(tok, list("____"))
    assert WfstDecoder(graph, d / "words.txt").decode(blank) == []  # empty hypothesis


def test_word_score_and_lm_weight_are_checked_and_applied(lang, posteriors):
    d, tok, arpa = lang
    dec = WfstDecoder(compile_graph(d, arpa), d / "words.txt", beam=30)
    with pytest.raises(ValueError, match="lm_weight must be > 0"):
        dec.set_weights(0.0, 0.0)
    lp = posteriors(tok, list("THE|_CAT|"))
    for lm_weight, word_score in ((1.0, 0.0), (2.0, -1.0), (0.5, 1.0)):
        dec.set_weights(lm_weight, word_score)
        assert dec.decode(lp) == ["THE", "CAT"]  # a clear utterance survives any sane weighting
    assert dec.symbols is not None and dec.symbols[0] == list(tok.symbols)
