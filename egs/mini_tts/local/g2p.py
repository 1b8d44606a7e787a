"""Pronunciation lexicon from espeak-ng's own G2P: the phones the corpus' speakers were synthesised from.

    python local/g2p.py --text data/corpus/lm_text.txt --out data/lexicon_phone.txt [--voice en-us]

Every word of --text gets espeak-ng's phonemes (its ASCII phoneme names, stress marks removed) for
the --voice accent, one `WORD p1 p2 ...` line each (Kaldi lexicon.txt): the pronunciation it most
often has in the sentences of --text (A is "@" there, "eI" alone), or alone where no sentence aligns
word for word. One pronunciation per word and one accent: the other accents and espeak-ng's context
rules make the training targets an approximation of what was spoken, as a dictionary is for real speech.
"""
from __future__ import annotations

import argparse
import ctypes
import re
from collections import Counter
from pathlib import Path

from ssltk.data.atomic import atomic_write_text
from ssltk.data.tokens import normalize_text

STRESS = re.compile(r"[',%=;|!]")  # stress, syllabic, palatal and pause marks: not phones


class Phonemizer:
    def __init__(self, voice: str):
        import espeakng_loader

        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        if self.lib.espeak_Initialize(2, 0, espeakng_loader.get_data_path().encode(), 0) <= 0:
            raise RuntimeError("espeak-ng did not initialise (espeakng-loader's data path)")
        self.lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        self.lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int]
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"espeak-ng has no voice {voice!r}")

    def __call__(self, text: str) -> list[list[str]]:
        """The phones of each word of `text` as espeak-ng splits it (usually one entry per word)."""
        buf = ctypes.c_char_p(text.lower().encode())
        ptr, out = ctypes.pointer(buf), []
        while buf.value:  # phonememode: ASCII names, '_' between phonemes (bits 8-23)
            out.append(self.lib.espeak_TextToPhonemes(ptr, 1, ord("_") << 8).decode())
        words = []
        for w in " ".join(out).split():
            phones = []
            for p in (STRESS.sub("", p) for p in w.split("_")):
                if p.strip(":"):  # a lone ':' / '::' is clause-final lengthening, not a phone
                    phones.append(p)
            if phones:
                words.append(phones)
        return words


def lexicon(sentences: list[str], g2p: Phonemizer) -> dict[str, list[str]]:
    """Each word's most frequent in-sentence pronunciation, else its pronunciation alone."""
    counts: dict[str, Counter] = {}
    for sentence in sentences:
        words = sentence.split()
        prons = g2p(sentence)
        if len(prons) == len(words):  # espeak-ng kept the word boundaries: align one to one
            for w, p in zip(words, prons):
                counts.setdefault(w, Counter())[tuple(p)] += 1
    words = sorted({w for s in sentences for w in s.split()})
    out = {}
    for w in words:
        if w in counts:
            out[w] = list(counts[w].most_common(1)[0][0])
        else:
            alone = [p for pron in g2p(w) for p in pron]
            if alone:
                out[w] = alone
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--text", required=True, nargs="+", help="text files, one sentence per line")
    parser.add_argument("--out", required=True, help="lexicon to write")
    parser.add_argument("--voice", default="en-us", help="espeak-ng accent whose G2P spells the words")
    args = parser.parse_args()
    sentences = []
    for path in args.text:
        if not Path(path).is_file():
            raise SystemExit(f"error: {path} does not exist (stage 1 writes the corpus text)")
        sentences += [normalize_text(s) for s in Path(path).read_text(encoding="utf-8").splitlines() if s.strip()]
    lex = lexicon(sentences, Phonemizer(args.voice))
    lines = [f"{w} {' '.join(p)}\n" for w, p in lex.items()]
    atomic_write_text(args.out, "".join(lines))
    units = {p for line in lines for p in line.split()[1:]}
    print(f"wrote {args.out}: {len(lines)} words, {len(units)} phones ({args.voice})")


if __name__ == "__main__":
    main()
