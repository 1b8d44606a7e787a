"""Create a lang dir (tokens, words, lexicon with disambiguation) and optionally an n-gram LM.

    python -m ssltk.bin.prepare_lang --cuts data/manifests/cuts_train.jsonl.gz --lang-dir data/lang_char \\
        --tokens letters [--lm-order 3]
    python -m ssltk.bin.prepare_lang --text train.txt --lang-dir data/lang_bpe500 --tokens bpe --bpe-size 500
    python -m ssltk.bin.prepare_lang --text train.txt --lang-dir data/lang_phone --tokens lexicon \\
        --lexicon data/lexicon.txt   # CTC over the lexicon's units (phones); every word needs an entry

Words come from the transcripts (--cuts supervisions or --text, one sentence per line)
plus --extra-words FILE (e.g. a corpus lexicon's word list). --lm-order N trains an
interpolated modified Kneser-Ney ARPA on the same text: LANG_DIR/lm_<N>gram.arpa.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ssltk.data.tokens import BpeTokenizer, LetterTokenizer, LexiconTokenizer, TokenError, read_lexicon, train_bpe
from ssltk.decode.lang import prepare_lang
from ssltk.decode.ngram import read_arpa, train_arpa


def read_texts(cuts: str | None, text: str | None) -> list[str]:
    if cuts:
        from ssltk.data.dataset import load_cuts

        return [" ".join(s.text or "" for s in c.supervisions) for c in load_cuts(cuts)]
    path = Path(text)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    return path.read_text(encoding="utf-8").splitlines()


def arpa_unigrams(path: str) -> list[str]:
    """The words of an ARPA LM (its unigrams, without <s>, </s>, <unk>)."""
    return [words[0] for _, words, _, _ in read_arpa(path, max_order=1) if not words[0].startswith("<")]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--cuts", help="CutSet with supervision text")
    src.add_argument("--text", help="text file, one transcript per line")
    parser.add_argument("--lang-dir", required=True)
    parser.add_argument("--tokens", choices=["letters", "bpe", "lexicon"], default="letters",
                        help="lexicon: the units of --lexicon's pronunciations (e.g. phones)")
    parser.add_argument("--lexicon", help="pronunciation lexicon (`WORD unit ...` per line) for --tokens lexicon")
    parser.add_argument("--bpe-size", type=int, default=500)
    parser.add_argument("--bpe-type", choices=["unigram", "bpe"], default="unigram")
    parser.add_argument("--extra-words", help="file with one word per line to add to the lexicon")
    parser.add_argument("--extra-words-from-arpa", help="add the unigrams of this ARPA LM (needed to compile G)")
    parser.add_argument("--lm-order", type=int, default=0, help="train an N-gram ARPA on the same text")
    args = parser.parse_args(argv)
    try:
        texts = [t for t in read_texts(args.cuts, args.text) if t.strip()]
        lang = Path(args.lang_dir)
        if args.tokens == "bpe":
            tokenizer = BpeTokenizer(train_bpe(texts, lang / "bpe", args.bpe_size, args.bpe_type))
        elif args.tokens == "lexicon":
            if not args.lexicon:
                parser.error("--tokens lexicon needs --lexicon FILE")
            tokenizer = LexiconTokenizer(read_lexicon(args.lexicon))
        else:
            tokenizer = LetterTokenizer()
        extra = Path(args.extra_words).read_text().split() if args.extra_words else []
        if args.extra_words_from_arpa:
            extra += arpa_unigrams(args.extra_words_from_arpa)
        prepare_lang(lang, texts, tokenizer, extra)
        if args.lm_order:
            arpa = train_arpa(texts, args.lm_order, lang / f"lm_{args.lm_order}gram.arpa")
            print(f"wrote {arpa}")
    except (TokenError, FileNotFoundError, ValueError) as e:
        sys.exit(f"error: {e}")
    print(f"wrote {lang} ({len(tokenizer.symbols)} tokens, {len(texts)} transcripts)")


if __name__ == "__main__":
    main()
