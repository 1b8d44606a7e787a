import random

import pytest

from ssltk.decode.ngram import ArpaModel, train_arpa

WORDS = "THE A CAT DOG SAT RAN ON MAT HOUSE BIG SMALL RED".split()


@pytest.fixture(scope="module")
def corpus():
    r = random.Random(0)
    return [" ".join(r.choice(WORDS) for _ in range(r.randint(2, 9))) for _ in range(300)]


@pytest.mark.parametrize("order", [1, 2, 3])
def test_every_context_is_normalised(corpus, tmp_path, order):
    lm = ArpaModel(train_arpa(corpus, order, tmp_path / "lm.arpa"))
    vocab = WORDS + ["</s>"]
    contexts = {("<s>",), ("THE",), ("<s>", "THE"), ("CAT", "SAT"), ("NEVER", "SEEN"), ("DOG", "DOG")}
    for h in contexts:
        total = sum(10 ** lm.log10p(h, w) for w in vocab)
        assert total == pytest.approx(1.0, abs=1e-4), (h, total)


def test_perplexity_agrees_with_kenlm(corpus, tmp_path):
    kenlm = pytest.importorskip("kenlm")
    path = train_arpa(corpus, 3, tmp_path / "lm.arpa")
    ours, theirs = ArpaModel(path), kenlm.Model(str(path))
    r = random.Random(1)
    for _ in range(30):
        sent = " ".join(r.choice(WORDS) for _ in range(r.randint(1, 8)))
        assert ours.perplexity([sent]) == pytest.approx(theirs.perplexity(sent), rel=1e-4)
    held_out = corpus[:20]
    assert ours.perplexity(held_out) < len(WORDS)  # better than uniform on text like its training data


def test_empty_text_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no text"):
        train_arpa(["", "  "], 2, tmp_path / "x.arpa")


def test_one_arpa_reader_streams_entries_and_stops_at_max_order(tmp_path):
    from ssltk.bin.prepare_lang import arpa_unigrams
    from ssltk.decode.ngram import read_arpa

    arpa = train_arpa(["THE CAT SAT", "THE DOG SAT"], order=3, path=tmp_path / "lm.arpa")
    entries = list(read_arpa(arpa))
    assert {o for o, *_ in entries} == {1, 2, 3}
    assert all(len(w) == o for o, w, *_ in entries)
    assert [e for e in entries if e[0] == 1] == list(read_arpa(arpa, max_order=1))
    assert sorted(arpa_unigrams(str(arpa))) == ["CAT", "DOG", "SAT", "THE"]
