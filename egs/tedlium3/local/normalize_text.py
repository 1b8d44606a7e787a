"""TED-LIUM 3 transcript normalisation for letter CTC (used by run.sh stage 1).

TED-LIUM transcripts are lower case and tokenised: contractions are split ("it 's",
"we 're"), unknown words are `<unk>`, non-speech is `{NOISE}` / `[NOISE]`, and segments
marked `ignore_time_segment_in_scoring` are already dropped by lhotse. We upper-case,
re-attach contractions ("IT'S"), delete `<unk>` and bracketed markers, keep A-Z and
apostrophes, and drop segments left empty.

    python local/normalize_text.py IN_CUTS OUT_CUTS
"""
import re
import sys

from ssltk.data.manifests import map_supervision_text


def normalize(text: str) -> str:
    text = re.sub(r"<unk>|\[[^\]]*\]|\{[^}]*\}", " ", text)
    text = re.sub(r"\s+'", "'", text)  # it 's -> it's
    text = re.sub(r"[^a-zA-Z' ]", " ", text).upper()
    return " ".join(w.strip("'") for w in text.split() if w.strip("'"))


if __name__ == "__main__":
    src, dst = sys.argv[1:]
    print(f"wrote {dst}: {map_supervision_text(src, dst, normalize)} cuts")
