"""Lang dirs: the Kaldi / icefall file layout, lexicon spellings and disambiguation symbols."""
import pytest

from ssltk.data.tokens import LetterTokenizer, TokenError
from ssltk.decode.lang import add_disambig, build_lexicon, prepare_lang, read_symbols


def test_prepare_lang_writes_the_kaldi_layout(tmp_path):
    prepare_lang(tmp_path, ["THE CAT", "THE CATS"], LetterTokenizer(), extra_words=["DOG"])
    words = read_symbols(tmp_path / "words.txt")
    assert list(words)[:1] == ["<eps>"] and words["<eps>"] == 0
    assert list(words)[-3:] == ["#0", "<s>", "</s>"] and {"CAT", "CATS", "DOG", "THE"} < set(words)
    tokens = read_symbols(tmp_path / "tokens.txt")
    # the word boundary | ends every spelling, so CAT is no prefix of CATS: only #0 (for G's back-off)
    assert tokens["<blk>"] == 0 and "#0" in tokens and "#1" not in tokens
    lexicon = dict(line.split(maxsplit=1) for line in (tmp_path / "lexicon.txt").read_text().splitlines())
    assert lexicon["CAT"] == "C A T |"
    disambig = dict(line.split(maxsplit=1) for line in (tmp_path / "lexicon_disambig.txt").read_text().splitlines())
    assert disambig["CAT"] == "C A T |" and disambig["CATS"] == "C A T S |"


def test_empty_transcripts_are_an_error(tmp_path):
    with pytest.raises(TokenError, match="no words"):
        prepare_lang(tmp_path, ["", "  "], LetterTokenizer())


def test_disambiguation_symbols_for_prefixes_and_homophones():
    lex, top = add_disambig({"A": ["a"], "AB": ["a", "b"], "X": ["x"], "Y": ["x"]})
    assert lex["A"] == ["a", "#1"] and lex["AB"] == ["a", "b"]
    assert sorted([lex["X"][-1], lex["Y"][-1]]) == ["#1", "#2"] and top == 2


def test_lexicon_word_with_a_token_outside_tokens_txt_is_an_error():
    with pytest.raises(TokenError, match="uses tokens .* not in tokens.txt"):
        build_lexicon(["CAFÉ"], LetterTokenizer())
