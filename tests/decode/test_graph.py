import numpy as np
import pytest
import torch

from ssltk.data.tokens import LetterTokenizer, TokenError, train_bpe, BpeTokenizer
from ssltk.decode.graph import GraphError, compile_graph
from ssltk.objectives.ctc import greedy_decode
from ssltk.decode.lang import add_disambig, build_lexicon, prepare_lang
from ssltk.decode.ngram import train_arpa
from ssltk.decode.wfst import WfstDecoder

TEXTS = ["THE CAT SAT", "THE CAT RAN", "A CAT SAT ON THE MAT", "THE MAT"] * 3


def posteriors(tok, seq, ambiguous=None):
    """Frame-level one-hot log-posteriors of a letter sequence ('_' = blank)."""
    lp = np.log(np.full((len(seq), len(tok.symbols)), 1e-3))
    for i, s in enumerate(seq):
        lp[i, 0 if s == "_" else tok.ids[s]] = 0.0
    for i, probs in (ambiguous or {}).items():
        lp[i] = np.log(1e-3)
        for s, p in probs.items():
            lp[i, tok.ids[s]] = np.log(p)
    return lp.astype(np.float32)


@pytest.fixture(scope="module")
def lang(tmp_path_factory):
    d = tmp_path_factory.mktemp("lang")
    tok = LetterTokenizer()
    prepare_lang(d, TEXTS, tok)
    return d, tok, train_arpa(TEXTS, 2, d / "lm.arpa")


@pytest.mark.parametrize("topo", ["standard", "compact"])
def test_lm_corrects_what_greedy_gets_wrong(lang, topo, tmp_path):
    d, tok, arpa = lang
    graph = compile_graph(d, arpa, tmp_path / f"TLG_{topo}.fst", compact=topo == "compact")
    seq = list("THE_|CAT|_CAT|")
    lp = posteriors(tok, seq, {10: {"C": 0.5, "S": 0.45}})  # acoustics slightly prefer CAT CAT
    greedy = tok.decode(greedy_decode(torch.from_numpy(lp)[None], torch.tensor([len(seq)]))[0])
    assert greedy == "THE CAT CAT"
    assert WfstDecoder(graph, d / "words.txt", lm_weight=1.0, beam=30).decode(lp) == ["THE", "CAT", "SAT"]
    # a negligible LM weight falls back to the acoustics
    assert WfstDecoder(graph, d / "words.txt", lm_weight=0.01, beam=30).decode(lp) == ["THE", "CAT", "CAT"]


def test_lexicon_only_graph_and_word_score(lang):
    d, tok, _ = lang
    graph = compile_graph(d)
    assert graph.name == "TL.fst"
    lp = posteriors(tok, list("THE|_MAT|"))
    assert WfstDecoder(graph, d / "words.txt").decode(lp) == ["THE", "MAT"]
    blank = posteriors(tok, list("____"))
    assert WfstDecoder(graph, d / "words.txt").decode(blank) == []  # empty hypothesis


def test_disambiguation_symbols_for_prefixes_and_homophones():
    lex, top = add_disambig({"A": ["a"], "AB": ["a", "b"], "X": ["x"], "Y": ["x"]})
    assert lex["A"] == ["a", "#1"] and lex["AB"] == ["a", "b"]
    assert sorted([lex["X"][-1], lex["Y"][-1]]) == ["#1", "#2"] and top == 2


def test_lexicon_with_unknown_token_is_a_clear_error(lang, tmp_path):
    d, tok, _ = lang
    with pytest.raises(TokenError, match="uses tokens .* not in tokens.txt"):
        build_lexicon(["CAFÉ"], tok)
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in ("tokens.txt", "words.txt", "lexicon.txt"):
        (bad / name).write_text((d / name).read_text())
    (bad / "lexicon_disambig.txt").write_text("CAT C A Q9 |\n")
    with pytest.raises(GraphError, match=r"tokens \['Q9'\] of 'CAT' are not in tokens.txt"):
        compile_graph(bad)


def test_bpe_lang_dir_builds_and_decodes(tmp_path):
    tok = BpeTokenizer(train_bpe(TEXTS * 5, tmp_path / "bpe", vocab_size=20))
    prepare_lang(tmp_path, TEXTS, tok)
    graph = compile_graph(tmp_path, train_arpa(TEXTS, 2, tmp_path / "lm.arpa"))
    ids = tok.encode("THE CAT SAT")
    lp = np.log(np.full((2 * len(ids), len(tok.symbols)), 1e-3))
    for i, t in enumerate(ids):
        lp[2 * i, t], lp[2 * i + 1, 0] = 0.0, 0.0
    assert WfstDecoder(graph, tmp_path / "words.txt").decode(lp.astype(np.float32)) == ["THE", "CAT", "SAT"]
