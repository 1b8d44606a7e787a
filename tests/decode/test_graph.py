"""Graph building: TLG / TL from a lang dir, errors naming the bad lexicon entry, BPE lang dirs."""
import numpy as np
import pytest

from ssltk.data.tokens import BpeTokenizer, LexiconTokenizer, train_bpe
from ssltk.decode.graph import GraphError, compile_graph
from ssltk.decode.lang import prepare_lang
from ssltk.decode.ngram import train_arpa
from ssltk.decode.wfst import WfstDecoder

TEXTS = ["THE CAT SAT", "THE CAT RAN", "A CAT SAT ON THE MAT", "THE MAT"] * 3


def test_lexicon_with_unknown_token_is_a_clear_error(lang, tmp_path):
    d, tok, _ = lang
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


def test_phone_lexicon_with_homophones_builds_and_the_lm_picks_the_word(tmp_path):
    # WRITE / RIGHT / RITE share "r aI t", and RIGHT is also a prefix-free twin of WRITE: the graph keeps
    # them apart with disambiguation symbols through determinization, then the LM chooses
    lexicon = {"I": ["aI"], "WRITE": ["r", "aI", "t"], "RIGHT": ["r", "aI", "t"], "RITE": ["r", "aI", "t"],
               "NOW": ["n", "aU"], "TURN": ["t", "3:", "n"]}
    texts = ["I WRITE NOW", "TURN RIGHT NOW", "I WRITE", "TURN RIGHT", "RITE"] * 3
    tok = LexiconTokenizer(lexicon)
    prepare_lang(tmp_path, texts, tok)
    graph = compile_graph(tmp_path, train_arpa(texts, 2, tmp_path / "lm.arpa"))
    decoder = WfstDecoder(graph, tmp_path / "words.txt")
    for sentence in ("I WRITE NOW", "TURN RIGHT NOW"):
        ids = tok.encode(sentence)
        lp = np.log(np.full((2 * len(ids), len(tok.symbols)), 1e-3))
        for i, t in enumerate(ids):
            lp[2 * i, t], lp[2 * i + 1, 0] = 0.0, 0.0
        assert decoder.decode(lp.astype(np.float32)) == sentence.split()
    assert compile_graph(tmp_path).name == "TL.fst"  # the lexicon-only graph builds too
