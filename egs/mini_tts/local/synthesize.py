"""Synthesise a LibriSpeech-layout speech corpus offline with espeak-ng (the espeakng-loader wheel).

    python local/synthesize.py --out-dir corpus --size ci --seed 0

Layout: OUT/{train-clean,dev-clean,test-clean,test-other}/<spk>/<chapter>/<spk>-<chapter>-<utt>.flac and
<spk>-<chapter>.trans.txt, as LibriSpeech, so lhotse's prepare_librispeech reads it.
Speakers are voice variant x pitch x speed x a small resampling warp, with their own level
and noise floor; train / dev / test have disjoint speakers and sentences, and test-other is read
by voice variants that no other split uses (OTHER_VARIANTS). The held-out splits are drawn first,
so every --size of a seed has the same dev and test sets (sizes compare on one test). Text: Debian's
`fortunes` when installed (stage 0 installs it), else a small built-in grammar. OUT/lm_text.txt
holds every sentence but the dev and test ones, for the lexicon and the n-gram LM. Byte-reproducible
for a seed: espeak-ng seeds its noise generator (breathy voices f2, f3, f5) from the clock, so
every utterance re-seeds it from (seed, speaker, chapter, utterance). Each utterance is written
atomically, so an interrupted run resumes.
"""
from __future__ import annotations

import argparse
import ctypes
import glob
import json
import random
import re
import zlib
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from ssltk.data.atomic import atomic_write, atomic_write_text
from ssltk.data.audio import SAMPLE_RATE

SIZES = {  # hours of audio per split (approximate), held-out splits first (drawn first)
    "ci": {"dev-clean": 0.004, "test-clean": 0.004, "test-other": 0.004, "train-clean": 0.025},
    "small": {"dev-clean": 0.08, "test-clean": 0.08, "test-other": 0.08, "train-clean": 0.5},
    "default": {"dev-clean": 0.08, "test-clean": 0.08, "test-other": 0.08, "train-clean": 1.0},
    "medium": {"dev-clean": 0.08, "test-clean": 0.08, "test-other": 0.08, "train-clean": 3.0},
    "large": {"dev-clean": 0.5, "test-clean": 0.5, "test-other": 0.5, "train-clean": 10.0},
}
LM_SENTENCES = {"ci": 2000, "small": 20000, "default": 40000, "medium": 40000, "large": 10**9}  # cap on lm_text.txt
ACCENTS = ["en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us-nyc", "en-gb-x-gbclan"]
VARIANTS = ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2", "klatt3",
            "adam", "david", "john", "linda", "max", "norbert", "robert", "steph", "anika", "edward", "ian"]
# test-other: espeak-ng voice variants that no train, dev or test-clean speaker uses (another Klatt voice,
# another formant voice, four of the contributed voices), on the same accents
OTHER_VARIANTS = ["klatt4", "m8", "belinda", "benjamin", "caleb", "aunty"]


def normalize(sentence: str) -> str:
    s = re.sub(r"[^A-Z' ]", " ", sentence.upper())
    s = re.sub(r"(^| )'+|'+( |$)", " ", s)  # quotes, not apostrophes
    return " ".join(s.split())


GRAMMAR = {
    "S": [["NP", "VP"], ["NP", "VP", "ADV"], ["WHEN", "NP", "VP", "NP", "VP"], ["NP", "VP", "AND", "VP"]],
    "NP": [["DET", "N"], ["DET", "ADJ", "N"], ["NAME"], ["DET", "N", "OF", "DET", "N"], ["NUM", "NS"]],
    "VP": [["V", "NP"], ["VI"], ["V", "NP", "PREP", "NP"], ["MOD", "VB", "NP"]],
    "DET": ["THE", "A", "THIS", "THAT", "EVERY", "NO", "MY", "YOUR", "OUR"], "OF": ["OF"], "AND": ["AND"],
    "WHEN": ["WHEN", "IF", "BECAUSE", "ALTHOUGH"],
    "N": "CAT DOG HOUSE RIVER KING QUEEN CHILD TEACHER DOCTOR GARDEN CITY MOUNTAIN BOOK LETTER SHIP TRAIN FRIEND "
         "FARMER WINDOW STORY MACHINE COMPUTER PROGRAM QUESTION ANSWER FOREST ISLAND BRIDGE MARKET".split(),
    "NS": "CATS DOGS HOUSES RIVERS BOOKS LETTERS SHIPS TRAINS FRIENDS FARMERS WINDOWS STORIES MACHINES".split(),
    "ADJ": "OLD YOUNG SMALL LARGE QUIET BRIGHT DARK HAPPY STRANGE CLEVER HEAVY EMPTY GENTLE".split(),
    "NAME": "ALICE BOB CAROL DAVID EMMA FRANK GRACE HENRY IRENE JACK".split(),
    "NUM": "TWO THREE FOUR FIVE SIX SEVEN TEN TWELVE TWENTY".split(),
    "V": "SAW FOUND BUILT CARRIED OPENED WROTE READ FOLLOWED PAINTED CALLED HELPED ANSWERED".split(),
    "VB": "SEE FIND BUILD CARRY OPEN WRITE READ FOLLOW PAINT CALL HELP ANSWER".split(),
    "VI": "SLEPT LAUGHED WAITED ARRIVED VANISHED SANG WORKED TRAVELLED".split(),
    "MOD": "WILL CAN MUST SHOULD MIGHT WOULD".split(),
    "PREP": "NEAR BEHIND UNDER ACROSS BESIDE WITH FOR".split(),
    "ADV": "TODAY YESTERDAY SLOWLY QUICKLY AGAIN TOGETHER ALONE EARLY LATE".split(),
}


def generate_sentences(n: int, seed: int) -> list[str]:
    """A small English grammar: the fallback text when Debian's fortunes are not installed."""
    rng = random.Random(seed)

    def expand(sym):
        rule = GRAMMAR[sym]
        if isinstance(rule[0], str):
            return [rng.choice(rule)]
        return [w for part in rng.choice(rule) for w in expand(part)]

    return [" ".join(expand("S")) for _ in range(n)]


def load_sentences(seed: int) -> tuple[list[str], str]:
    files = [f for f in glob.glob("/usr/share/games/fortunes/*") if not f.endswith((".dat", ".u8"))]
    if files:
        source, blocks = "debian fortunes", []
        for f in sorted(files):
            blocks += Path(f).read_text(errors="ignore").split("\n%\n")
        raw = [s for b in blocks for s in re.split(r"(?<=[.!?])\s+", " ".join(b.split()))]
    else:
        source, raw = "built-in grammar (install Debian's fortunes for real text)", generate_sentences(60000, seed)
    sents = sorted({n for n in map(normalize, raw) if 3 <= len(n.split()) <= 16 and len(n) <= 110})
    return sents, source


class Espeak:
    def __init__(self):
        import espeakng_loader

        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self.rate = self.lib.espeak_Initialize(2, 0, espeakng_loader.get_data_path().encode(), 0)  # synchronous
        if self.rate <= 0:
            raise RuntimeError("espeak-ng failed to initialise (espeakng-loader data missing?)")
        self.chunks: list[np.ndarray] = []
        proto = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

        def collect(wav, n, events):
            if n > 0:
                self.chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
            return 0

        self._cb = proto(collect)
        self.lib.espeak_SetSynthCallback(self._cb)
        self.seed_noise = getattr(self.lib, "espeak_ng_SetRandSeed", None)  # espeak-ng >= 1.52
        if self.seed_noise is None:
            print("warning: this espeak-ng cannot seed its noise: breathy voices (f2, f3, f5) differ between runs")
        else:
            self.seed_noise.argtypes = [ctypes.c_long]

    def say(self, text: str, voice: str, rate: int, pitch: int, range_: int, seed: int) -> np.ndarray:
        """`seed` replaces espeak-ng's clock seed (espeak_ng_Initialize: espeak_srand(time(NULL)))."""
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise RuntimeError(f"espeak-ng has no voice {voice}")
        if self.seed_noise is not None:
            self.seed_noise(seed)
        for param, value in ((1, rate), (3, pitch), (4, range_)):
            self.lib.espeak_SetParameter(param, value, 0)
        self.chunks = []
        data = text.encode()
        self.lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, 0, None, None)
        self.lib.espeak_Synchronize()
        return (np.concatenate(self.chunks).astype(np.float32) / 32768.0) if self.chunks else np.zeros(0, np.float32)


def make_speakers(n: int, rng: random.Random, first_id: int, variants: list[str] = VARIANTS) -> list[dict]:
    combos = [(a, v) for a in ACCENTS for v in variants]
    rng.shuffle(combos)
    speakers = []
    for i in range(n):
        accent, variant = combos[i % len(combos)]
        speakers.append({"id": first_id + i, "voice": f"{accent}+{variant}", "rate": rng.randint(140, 200),
                         "pitch": rng.randint(25, 75), "range": rng.randint(30, 80),
                         "warp": rng.choice([15, 16, 16, 17]), "gain": rng.uniform(0.4, 0.9),
                         "noise_db": rng.uniform(-55, -35)})
    return speakers


def render(tts: Espeak, spk: dict, text: str, rng: np.random.Generator, seed: int) -> np.ndarray:
    wav = tts.say(text, spk["voice"], spk["rate"], spk["pitch"], spk["range"], seed)
    # resample 22.05 kHz -> 16 kHz, with a small warp (x15/16 .. x17/16) that shifts formants
    up, down = 320 * spk["warp"], 441 * 16
    g = np.gcd(up, down)
    wav = resample_poly(wav, up // g, down // g).astype(np.float32)
    peak = float(np.abs(wav).max()) or 1.0
    wav = wav / peak * spk["gain"]
    wav += rng.normal(0, 10 ** (spk["noise_db"] / 20), wav.shape).astype(np.float32)
    pad = np.zeros(int(rng.integers(800, 4000)), np.float32)
    return np.concatenate([pad, wav, pad[: len(pad) // 2]])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--size", choices=list(SIZES), default="default")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--utts-per-speaker", type=int, default=5,
                   help="utterances per speaker (5: 240 voices an hour; test voices need voice variety)")
    args = p.parse_args()
    out = Path(args.out_dir)
    sents, source = load_sentences(args.seed)
    rng = random.Random(args.seed)
    rng.shuffle(sents)
    held_out: set[str] = set()
    tts = Espeak()
    sent_iter = iter(sents)
    spk_id = 100
    summary = {"text_source": source, "seed": args.seed, "size": args.size, "splits": {}}
    for split, hours in SIZES[args.size].items():
        target = hours * 3600
        n_spk = max(2, int(target / (args.utts_per_speaker * 3.0)))  # ~3 s per utterance
        speakers = make_speakers(n_spk, rng, spk_id, OTHER_VARIANTS if split == "test-other" else VARIANTS)
        spk_id += n_spk
        total, n_utt, k = 0.0, 0, 0
        while total < target:
            spk = speakers[k % n_spk]
            chapter = 1000 + k // n_spk // args.utts_per_speaker
            utt = (k // n_spk) % args.utts_per_speaker
            k += 1
            text = next(sent_iter)
            if split != "train-clean":
                held_out.add(text)
            d = out / split / str(spk["id"]) / str(chapter)
            d.mkdir(parents=True, exist_ok=True)
            name = f"{spk['id']}-{chapter}-{utt:04d}"
            path = d / f"{name}.flac"
            if path.exists():  # written by an earlier (interrupted) run: every utterance seeds its own draws
                samples = sf.info(path).frames
            else:
                gen = np.random.default_rng([args.seed, spk["id"], chapter, utt])
                wav = render(tts, spk, text, gen, zlib.crc32(name.encode()) ^ args.seed)
                atomic_write(path, lambda tmp: sf.write(tmp, wav, SAMPLE_RATE))
                samples = len(wav)
            trans = d / f"{spk['id']}-{chapter}.trans.txt"
            lines = dict(line.split(" ", 1) for line in trans.read_text().splitlines()) if trans.exists() else {}
            lines[name] = text
            atomic_write_text(trans, "".join(f"{u} {t}\n" for u, t in sorted(lines.items())))
            total += samples / SAMPLE_RATE
            n_utt += 1
        summary["splits"][split] = {"speakers": n_spk, "utterances": n_utt, "hours": round(total / 3600, 3)}
    used = sum(v["utterances"] for v in summary["splits"].values())
    # LM / lexicon text: every sentence but those of dev and test (train transcripts included)
    train_text = [t for t in sents[:used] if t not in held_out]
    lm_text = (train_text + sents[used:])[: max(LM_SENTENCES[args.size], len(train_text))]
    atomic_write_text(out / "lm_text.txt", "".join(f"{t}\n" for t in lm_text))
    summary["lm_sentences"] = len(lm_text)
    atomic_write_text(out / "corpus.json", json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
