"""Fisher / Switchboard / Hub5'00 (eval2000) transcript normalisation for letter CTC (run.sh stage 1).

Conversational-speech markers are removed the way Kaldi's swbd recipe and its scoring GLM
treat them: noise and silence markers ([noise], [vocalized-noise], [silence], [breath],
{breath}, [mn], [lipsmack]) are deleted; [laughter-WORD] keeps WORD; partial words
(th[e]-, -ing) and hesitations (%um, %uh) are deleted; eval2000's <contraction e_form=..>
tags keep their surface form; Fisher's (( )) uncertainty brackets are dropped but the words
kept; variant suffixes (i_1) are stripped. Then upper case, A-Z and apostrophes only;
segments left empty are dropped.

    python local/normalize_text.py IN_CUTS OUT_CUTS
"""
import re
import sys

from ssltk.data.manifests import map_supervision_text


def normalize(text: str) -> str:
    text = re.sub(r'<[^>"]*(?:"[^"]*"[^>"]*)*>', " ", text)  # tags; attributes may contain '>'
    text = re.sub(r"\[laughter-([^\]]+)\]", r"\1", text)
    # partial words (th[e]-, -[a]nd) and hesitations go first, before brackets are stripped
    text = " ".join(w for w in text.split() if not (w.startswith(("%", "-")) or w.endswith("-")))
    text = re.sub(r"\[[^\]]*\]|\{[^}]*\}|\(\(|\)\)", " ", text)
    words = []
    for w in text.split():
        w = re.sub(r"_\d+$", "", w).replace("-", " ")  # i_1 -> i; uh-huh -> uh huh
        words.extend(p.strip("'") for p in re.sub(r"[^a-zA-Z' ]", "", w).upper().split() if p.strip("'"))
    return " ".join(words)


if __name__ == "__main__":
    src, dst = sys.argv[1:]
    print(f"wrote {dst}: {map_supervision_text(src, dst, normalize)} cuts")
