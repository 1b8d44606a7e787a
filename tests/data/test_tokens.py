import pytest

from ssltk.data.tokens import (BpeTokenizer, LetterTokenizer, LexiconTokenizer, TokenError, load_tokenizer,
                               read_lexicon, read_tokens, train_bpe, write_tokens)


def test_letters_round_trip_and_word_boundaries():
    tok = LetterTokenizer()
    ids = tok.encode("  it's   a test ")
    assert tok.decode(ids) == "IT'S A TEST"
    assert [tok.symbols[i] for i in tok.encode("AB C")] == ["A", "B", "|", "C", "|"]
    with pytest.raises(TokenError, match=r"characters \['1', '2'\]"):
        tok.encode("ROOM 12")


def test_tokens_txt_round_trip_and_errors(tmp_path):
    write_tokens(LetterTokenizer(), tmp_path / "tokens.txt")
    assert read_tokens(tmp_path / "tokens.txt")[:2] == ["<blk>", "|"]
    assert load_tokenizer(tmp_path).encode("A") == LetterTokenizer().encode("A")
    (tmp_path / "bad.txt").write_text("<blk> 0\nA 2\n")
    with pytest.raises(TokenError, match="ids must be 0..N-1"):
        read_tokens(tmp_path / "bad.txt")
    with pytest.raises(TokenError, match="prepare_lang"):
        read_tokens(tmp_path / "missing.txt")


def test_bpe_blank_is_zero_and_round_trips(tmp_path):
    texts = ["THE CAT SAT ON THE MAT", "A DOG AND A CAT", "THE MAT IS FLAT", "CATS AND DOGS"] * 20
    model = train_bpe(texts, tmp_path / "bpe", vocab_size=30)
    tok = BpeTokenizer(model)
    ids = tok.encode("the cat and the dog")
    assert 0 not in ids and tok.decode(ids) == "THE CAT AND THE DOG"
    assert tok.symbols[0] == "<blk>" and len(tok.symbols) == tok.sp.get_piece_size() + 1


def test_lexicon_tokens_encode_pronunciations_and_name_missing_words(tmp_path):
    (tmp_path / "lex.txt").write_text("THE D @\nCAT k a t\nCAT k a: t\nSAT s a t\n")
    lexicon = read_lexicon(tmp_path / "lex.txt")
    assert lexicon["CAT"] == ["k", "a", "t"]  # the first pronunciation
    tok = LexiconTokenizer(lexicon)
    ids = tok.encode("the cat sat")
    assert 0 not in ids and tok.decode(ids) == "D @ k a t s a t"
    with pytest.raises(TokenError, match=r"words \['DOG'\] are not in the lexicon"):
        tok.encode("THE DOG")


def test_lexicon_lang_dir_loads_a_lexicon_tokenizer(tmp_path):
    from ssltk.decode.lang import prepare_lang

    tok = LexiconTokenizer({"THE": ["D", "@"], "CAT": ["k", "a", "t"]})
    prepare_lang(tmp_path, ["THE CAT"], tok)
    loaded = load_tokenizer(tmp_path)
    assert loaded.kind == "lexicon" and loaded.symbols == tok.symbols and loaded.encode("THE CAT") == tok.encode(
        "THE CAT")
    prepare_lang(tmp_path, ["THE CAT"], LetterTokenizer())  # re-made as letters: the marker goes
    assert load_tokenizer(tmp_path).kind == "letters"
    with pytest.raises(TokenError, match=r"1 words have no pronunciation in the lexicon \(e.g. \['DOG'\]\)"):
        prepare_lang(tmp_path / "x", ["THE DOG"], tok)
