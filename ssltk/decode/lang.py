"""Lang dirs: words.txt, tokens.txt, lexicon.txt, lexicon_disambig.txt (Kaldi / icefall layout).

    prepare_lang("data/lang_char", texts, tokenizer)   # words from the training transcripts

tokens.txt : `<blk> 0`, tokens 1..V-1, then disambiguation symbols #0, #1, ...
words.txt  : `<eps> 0`, the words, then #0, <s>, </s>
lexicon.txt: `WORD t1 t2 ...` (spelling + word boundary for letters, pieces for BPE)
lexicon_disambig.txt: the same with #1, #2, ... after pronunciations that are
prefixes of others or shared by several words (Kaldi's add_lex_disambig.pl rule).
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from ssltk.data.tokens import LEXICON_MARKER, TokenError, normalize_text, write_tokens


def read_symbols(path: str | Path) -> dict[str, int]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; create the lang dir with python -m ssltk.bin.prepare_lang")
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            sym, idx = line.split()
            out[sym] = int(idx)
    return out


def build_lexicon(words: list[str], tokenizer) -> dict[str, list[str]]:
    """Spelling of each word in the tokenizer's symbols; a token outside tokens.txt is an error."""
    lexicon, missing = {}, []
    for w in words:
        try:
            pieces = tokenizer.word_pieces(w)
        except TokenError:  # a pronunciation lexicon without the word
            missing.append(w)
            continue
        bad = [p for p in pieces if p not in tokenizer.ids]
        if bad:
            raise TokenError(f"lexicon word {w!r} uses tokens {bad} that are not in tokens.txt")
        lexicon[w] = pieces
    if missing:
        raise TokenError(f"{len(missing)} words have no pronunciation in the lexicon (e.g. {missing[:5]}): add them "
                         "to it (a G2P) or leave them out of the text")
    return lexicon


def add_disambig(lexicon: dict[str, list[str]]) -> tuple[dict[str, list[str]], int]:
    """Append #1, #2, ... so no pronunciation is a prefix of another or shared; returns (lexicon, max #n)."""
    prons = Counter(tuple(p) for p in lexicon.values())
    prefixes = {tuple(p[:i]) for p in lexicon.values() for i in range(1, len(p))}
    next_id: dict[tuple, int] = {}
    out, max_id = {}, 0
    for word, pron in lexicon.items():
        key = tuple(pron)
        if prons[key] > 1 or key in prefixes:
            next_id[key] = next_id.get(key, 0) + 1
            out[word] = [*pron, f"#{next_id[key]}"]
            max_id = max(max_id, next_id[key])
        else:
            out[word] = list(pron)
    return out, max_id


def prepare_lang(lang_dir: str | Path, texts: list[str], tokenizer, extra_words: list[str] = ()) -> Path:
    """Write a complete lang dir for `tokenizer` with the words of `texts` (+ extra_words)."""
    lang_dir = Path(lang_dir)
    lang_dir.mkdir(parents=True, exist_ok=True)
    counts = Counter(w for t in texts for w in normalize_text(t).split())
    words = sorted(set(counts) | set(extra_words))
    if not words:
        raise TokenError("no words: the transcripts are empty")
    lexicon = build_lexicon(words, tokenizer)
    lex_disambig, max_disambig = add_disambig(lexicon)
    write_tokens(tokenizer, lang_dir / "tokens.txt")
    with open(lang_dir / "tokens.txt", "a", encoding="utf-8") as f:
        for i in range(max_disambig + 1):
            f.write(f"#{i} {len(tokenizer.symbols) + i}\n")
    syms = ["<eps>", *words, "#0", "<s>", "</s>"]
    (lang_dir / "words.txt").write_text("".join(f"{s} {i}\n" for i, s in enumerate(syms)), encoding="utf-8")
    (lang_dir / "lexicon.txt").write_text("".join(f"{w} {' '.join(p)}\n" for w, p in lexicon.items()),
                                          encoding="utf-8")
    (lang_dir / "lexicon_disambig.txt").write_text(
        "".join(f"{w} {' '.join(p)}\n" for w, p in lex_disambig.items()), encoding="utf-8")
    marker = lang_dir / LEXICON_MARKER
    if tokenizer.kind == "lexicon":
        marker.write_text("transcripts are encoded with lexicon.txt (ssltk.data.tokens.LexiconTokenizer)\n")
    else:
        marker.unlink(missing_ok=True)
    return lang_dir
