"""VoxPopuli (English) transcript normalisation for letter CTC (used by run.sh stage 1).

lhotse takes VoxPopuli's `normed_text` (lower case, punctuation removed, numbers already
written as words). We upper-case it, keep A-Z and apostrophes, map other characters
(accented letters in names, hyphens) to spaces, and drop segments left empty.

    python local/normalize_text.py IN_CUTS OUT_CUTS
"""
import re
import sys
import unicodedata

from ssltk.data.manifests import map_supervision_text


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))  # é -> e
    text = re.sub(r"[^a-zA-Z' ]", " ", text).upper()
    return " ".join(w.strip("'") for w in text.split() if w.strip("'"))


if __name__ == "__main__":
    src, dst = sys.argv[1:]
    print(f"wrote {dst}: {map_supervision_text(src, dst, normalize)} cuts")
