"""A letter lang dir with a 2-gram LM, and one-hot CTC posteriors of a letter sequence."""
import numpy as np
import pytest

from ssltk.data.tokens import LetterTokenizer
from ssltk.decode.lang import prepare_lang
from ssltk.decode.ngram import train_arpa

TEXTS = ["THE CAT SAT", "THE CAT RAN", "A CAT SAT ON THE MAT", "THE MAT"] * 3


def one_hot_posteriors(tok, seq, ambiguous=None):
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




@pytest.fixture
def posteriors():
    return one_hot_posteriors
