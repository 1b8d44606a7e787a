"""VoxPopuli (English) transcript normalisation for letter CTC (used by run.sh stage 1).

lhotse takes VoxPopuli's `normed_text` (lower case, punctuation removed, numbers already
written as words). We upper-case it, keep A-Z and apostrophes, map other characters
(accented letters in names, hyphens) to spaces, and drop segments left empty.

    python local/normalize_text.py IN_CUTS OUT_CUTS
"""
import re
import sys
import unicodedata

from lhotse import CutSet


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))  # é -> e
    text = re.sub(r"[^a-zA-Z' ]", " ", text).upper()
    return " ".join(w.strip("'") for w in text.split() if w.strip("'"))


def main(src: str, dst: str) -> None:
    cuts = CutSet.from_file(src).map_supervisions(lambda s: s.transform_text(normalize))
    cuts = cuts.filter(lambda c: all(s.text for s in c.supervisions)).to_eager()
    cuts.to_file(dst)
    print(f"wrote {dst}: {len(cuts)} cuts")


if __name__ == "__main__":
    main(*sys.argv[1:])
