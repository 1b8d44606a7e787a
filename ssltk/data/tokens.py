"""CTC token sets: letters with a word-boundary token (fairseq `.ltr`), sentencepiece BPE, or the
units of a pronunciation lexicon (phones: icefall's lang_phone).

A lang dir holds tokens.txt (icefall/k2 format, `<sym> <id>` per line, `<blk>` = 0)
and, for BPE, bpe.model; a lexicon lang dir holds LEXICON_MARKER and its lexicon.txt is what
encodes words. Ids are what the CTC output layer predicts.

    >>> tok = LetterTokenizer()
    >>> tok.encode("HELLO WORLD")[:6], tok.decode(tok.encode("HELLO WORLD"))
    ([9, 6, 13, 13, 16, 1], 'HELLO WORLD')
"""
from __future__ import annotations

import re
from pathlib import Path

BLANK = "<blk>"
WORD_SEP = "|"
LETTERS = [WORD_SEP, *"ABCDEFGHIJKLMNOPQRSTUVWXYZ'"]


class TokenError(ValueError):
    """Text that cannot be tokenized; the message names the characters and the fix."""


def normalize_text(text: str) -> str:
    """Upper case, single spaces (LibriSpeech-style transcripts)."""
    return re.sub(r"\s+", " ", text.upper()).strip()


class LetterTokenizer:
    """<blk>, '|' (word boundary), A-Z and apostrophe: 'HI YOU' -> H I | Y O U |."""

    kind = "letters"

    def __init__(self, symbols: list[str] | None = None):
        self.symbols = [BLANK, *(symbols or LETTERS)]
        self.ids = {s: i for i, s in enumerate(self.symbols)}

    def encode(self, text: str) -> list[int]:
        out = []
        for word in normalize_text(text).split(" "):
            if not word:
                continue
            bad = sorted({c for c in word if c not in self.ids or c in (BLANK, WORD_SEP)})
            if bad:
                raise TokenError(f"characters {bad} are not letter tokens (A-Z and apostrophe); normalise the "
                                 "transcript or use BPE tokens")
            out.extend(self.ids[c] for c in word)
            out.append(self.ids[WORD_SEP])
        return out

    def decode(self, ids: list[int]) -> str:
        text = "".join(self.symbols[i] for i in ids if i != 0)
        return " ".join(w for w in text.split(WORD_SEP) if w)

    def word_pieces(self, word: str) -> list[str]:
        """Lexicon spelling of a word."""
        return [*word, WORD_SEP]


class BpeTokenizer:
    """sentencepiece pieces shifted by one so that id 0 is the CTC blank."""

    kind = "bpe"

    def __init__(self, model_path: str | Path):
        import sentencepiece as spm

        self.model_path = Path(model_path)
        if not self.model_path.is_file():
            raise TokenError(f"sentencepiece model {model_path} does not exist; train it with "
                             "python -m ssltk.bin.prepare_lang --tokens bpe")
        self.sp = spm.SentencePieceProcessor(model_file=str(self.model_path))
        self.symbols = [BLANK, *(self.sp.id_to_piece(i) for i in range(self.sp.get_piece_size()))]
        self.ids = {s: i for i, s in enumerate(self.symbols)}

    def encode(self, text: str) -> list[int]:
        return [i + 1 for i in self.sp.encode(normalize_text(text))]

    def decode(self, ids: list[int]) -> str:
        return self.sp.decode([i - 1 for i in ids if i != 0])

    def word_pieces(self, word: str) -> list[str]:
        return self.sp.encode(word, out_type=str)


class LexiconTokenizer:
    """Pronunciations from a lexicon ({WORD: [unit, ...]}, e.g. phones from a G2P): 'HI' -> h aI.

    No word-boundary token (the WFST's lexicon segments words); decode() gives units, not words, so
    a greedy hypothesis is a unit string (scored as a unit error rate against the encoded reference)."""

    kind = "lexicon"

    def __init__(self, lexicon: dict[str, list[str]], symbols: list[str] | None = None):
        self.lexicon = lexicon
        units = symbols if symbols is not None else sorted({u for p in lexicon.values() for u in p})
        self.symbols = [BLANK, *units]
        self.ids = {s: i for i, s in enumerate(self.symbols)}
        bad = sorted({u for p in lexicon.values() for u in p if u not in self.ids or u == BLANK})
        if bad:
            raise TokenError(f"lexicon units {bad[:10]} are not tokens")

    def encode(self, text: str) -> list[int]:
        words = normalize_text(text).split()
        oov = sorted({w for w in words if w not in self.lexicon})
        if oov:
            raise TokenError(f"words {oov[:5]} are not in the lexicon; add their pronunciations to the lexicon "
                             "the lang dir was made from (python -m ssltk.bin.prepare_lang --tokens lexicon)")
        return [self.ids[u] for w in words for u in self.lexicon[w]]

    def decode(self, ids: list[int]) -> str:
        return " ".join(self.symbols[i] for i in ids if i != 0)

    def word_pieces(self, word: str) -> list[str]:
        if word not in self.lexicon:
            raise TokenError(f"word {word!r} is not in the lexicon")
        return list(self.lexicon[word])


def read_lexicon(path: str | Path) -> dict[str, list[str]]:
    """`WORD unit unit ...` per line (Kaldi lexicon.txt); the first pronunciation of a word is kept."""
    path = Path(path)
    if not path.is_file():
        raise TokenError(f"lexicon {path} does not exist: pass a `WORD unit ...` file (e.g. a G2P's output, "
                         "egs/mini_tts/local/g2p.py)")
    lexicon: dict[str, list[str]] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 2:
            raise TokenError(f"{path}:{n}: expected 'WORD unit ...', got {line!r}")
        lexicon.setdefault(normalize_text(parts[0]), parts[1:])
    if not lexicon:
        raise TokenError(f"lexicon {path} is empty")
    return lexicon


LEXICON_MARKER = "lexicon_tokens"
"""File in a lang dir whose tokens are a lexicon's units (its lexicon.txt encodes transcripts)."""


def train_bpe(texts: list[str], model_prefix: str | Path, vocab_size: int, model_type: str = "unigram") -> Path:
    """Train a sentencepiece model on transcripts (upper case); returns the .model path."""
    import sentencepiece as spm

    model_prefix = Path(model_prefix)
    model_prefix.parent.mkdir(parents=True, exist_ok=True)
    corpus = model_prefix.with_suffix(".txt")
    corpus.write_text("\n".join(normalize_text(t) for t in texts) + "\n")
    spm.SentencePieceTrainer.train(input=str(corpus), model_prefix=str(model_prefix), vocab_size=vocab_size,
                                   model_type=model_type, character_coverage=1.0, unk_id=0, bos_id=-1,
                                   eos_id=-1, pad_id=-1, minloglevel=2, hard_vocab_limit=False)
    return model_prefix.with_suffix(".model")


def write_tokens(tokenizer, path: str | Path) -> None:
    Path(path).write_text("".join(f"{s} {i}\n" for i, s in enumerate(tokenizer.symbols)))


def is_disambig(symbol: str) -> bool:
    """#0, #1, ...: disambiguation symbols of graph building, not CTC tokens."""
    return re.fullmatch(r"#\d+", symbol) is not None


def read_tokens(path: str | Path) -> list[str]:
    path = Path(path)
    if not path.is_file():
        raise TokenError(f"{path} does not exist; create the lang dir with python -m ssltk.bin.prepare_lang")
    symbols = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            raise TokenError(f"{path}:{n}: expected '<symbol> <id>', got {line!r}")
        symbols[int(parts[1])] = parts[0]
    if sorted(symbols) != list(range(len(symbols))) or symbols.get(0) != BLANK:
        raise TokenError(f"{path}: ids must be 0..N-1 with {BLANK} as 0")
    # disambiguation symbols #0, #1, ... (graph building only) follow the CTC tokens
    return [symbols[i] for i in range(len(symbols)) if not is_disambig(symbols[i])]


def load_tokenizer(lang_dir: str | Path):
    """The tokenizer of a lang dir: bpe.model if present, lexicon.txt's units in a lexicon lang dir, else
    letters from tokens.txt."""
    lang_dir = Path(lang_dir)
    if (lang_dir / "bpe.model").is_file():
        return BpeTokenizer(lang_dir / "bpe.model")
    symbols = read_tokens(lang_dir / "tokens.txt")
    if (lang_dir / LEXICON_MARKER).is_file():
        return LexiconTokenizer(read_lexicon(lang_dir / "lexicon.txt"), symbols[1:])
    return LetterTokenizer(symbols[1:])
