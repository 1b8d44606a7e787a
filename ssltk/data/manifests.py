"""Lhotse manifests for the recipes' corpora, as CutSets (cuts_<part>.jsonl.gz), offline.

    prepare_cuts("librispeech", "/data/LibriSpeech", "data/manifests", ["train-clean-100", "dev-clean"])

Each corpus' expected tree is checked first; a missing corpus dir or part is an
error naming the path and what should be there. Entries that cannot be used (an empty
transcript line, a missing, empty or non-audio file) are skipped, not fatal: each is logged
with its file (and line) and listed in OUT/skipped_<part>.txt, and a part with nothing usable
left is an error.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from ssltk.data.atomic import atomic_write
from ssltk.data.audio import diagnose
from ssltk.data.dataset import sphere_without_sph2pipe

log = logging.getLogger(__name__)
MAX_LOGGED = 20


class CorpusError(FileNotFoundError):
    pass


@dataclass
class Problem:
    """A corpus entry left out of the manifest."""

    path: Path
    """The file at fault: the transcript (with `line`) or the audio file."""
    line: int | None
    kind: str
    """empty_transcript, missing, empty, not_audio, no_samples, malformed_line."""
    words: str

    def __str__(self) -> str:
        return f"{self.path}{f':{self.line}' if self.line else ''}: {self.words}"


def read_librispeech_part(part_dir: Path):
    """(RecordingSet, SupervisionSet, [Problem]) of a LibriSpeech-layout part
    (<spk>/<chapter>/<spk>-<chapter>.trans.txt lines `ID TEXT`, audio <spk>/<chapter>/ID.flac);
    lhotse's prepare_librispeech fields, but a bad entry is a Problem instead of a traceback."""
    from lhotse import Recording, RecordingSet, SupervisionSegment, SupervisionSet
    from lhotse.audio.utils import AudioLoadingError

    recordings, supervisions, problems = [], [], []
    for trans in sorted(part_dir.rglob("*.trans.txt")):
        for n, line in enumerate(trans.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if not line.strip():
                continue
            utt, _, text = line.strip().partition(" ")
            if not re.fullmatch(r"[^-/\s]+-[^-/\s]+-[^/\s]+", utt):
                problems.append(Problem(trans, n, "malformed_line", f"{utt!r} is not a SPEAKER-CHAPTER-UTT id"))
                continue
            if not text.strip():
                problems.append(Problem(trans, n, "empty_transcript", f"{utt} has no transcript text"))
                continue
            audio = part_dir / Path(utt.replace("-", "/")).parent / f"{utt}.flac"
            if not audio.is_file():
                problems.append(Problem(trans, n, "missing", f"the audio of {utt}, {audio}, does not exist"))
                continue
            try:
                rec = Recording.from_file(audio, recording_id=utt)
            except (AudioLoadingError, RuntimeError, TypeError) as e:  # what lhotse's readers raise
                kind, words = diagnose(audio) or ("not_audio", str(e).strip().splitlines()[0][:200])
                problems.append(Problem(audio, None, kind, words))
                continue
            if rec.num_samples == 0:
                problems.append(Problem(audio, None, "no_samples", "the file holds no samples"))
                continue
            recordings.append(rec)
            supervisions.append(SupervisionSegment(id=utt, recording_id=utt, start=0.0, duration=rec.duration,
                                                   channel=0, language="English", speaker=utt.split("-")[0],
                                                   text=text.strip()))
    return RecordingSet.from_recordings(recordings), SupervisionSet.from_segments(supervisions), problems


def _unusable(recordings, supervisions) -> tuple[list[Problem], set[str]]:
    """Problems of manifests built by lhotse's recipes (audio files missing or empty, supervisions
    without text) and the ids of the recordings to leave out."""
    problems, bad = [], set()
    for rec in recordings:
        for src in rec.sources:
            path = Path(src.source)
            if src.type != "file":
                continue
            kind = "missing" if not path.is_file() else "empty" if path.stat().st_size == 0 else None
            if kind:
                problems.append(Problem(path, None, kind, f"audio of recording {rec.id} is {kind}"))
                bad.add(rec.id)
    for sup in supervisions or []:
        if not (sup.text or "").strip():
            problems.append(Problem(Path(sup.recording_id), None, "empty_transcript",
                                    f"segment {sup.id} of recording {sup.recording_id} has no text"))
    return problems, bad


def _skipped_listing(manifest: Path) -> Path:
    """data/manifests/cuts_dev-clean.jsonl.gz -> data/manifests/skipped_dev-clean.txt"""
    return manifest.with_name(f"skipped_{manifest.name.split('.')[0].removeprefix('cuts_')}.txt")


def _report(problems: list[Problem], manifest: Path) -> None:
    """Log each problem (the first MAX_LOGGED) and list them all next to the manifest."""
    listing = _skipped_listing(manifest)
    if not problems:
        listing.unlink(missing_ok=True)
        return
    listing.write_text("".join(f"{p.path}\t{p.line or ''}\t{p.kind}\t{p.words}\n" for p in problems))
    for p in problems[:MAX_LOGGED]:
        log.warning("skipped %s", p)
    counts: dict[str, int] = {}
    for p in problems:
        counts[p.kind] = counts.get(p.kind, 0) + 1
    log.warning("%s: skipped %d corpus entries (%s); all are listed in %s", manifest.name, len(problems),
                ", ".join(f"{n} {k}" for k, n in sorted(counts.items())), listing)


def _write_cuts(recordings, supervisions, path: Path, problems: list[Problem] | None = None) -> Path:
    """cuts_<part>.jsonl.gz from recordings + supervisions. `problems`: what ssltk's own reader left
    out (it checked every entry); None for lhotse-built manifests, which are checked here."""
    from lhotse import CutSet, RecordingSet, SupervisionSet
    from lhotse.qa import fix_manifests

    if problems is None:
        problems, bad = _unusable(recordings, supervisions)
        recordings = RecordingSet.from_recordings(r for r in recordings if r.id not in bad)
        if supervisions is not None:
            supervisions = SupervisionSet.from_segments(s for s in supervisions if (s.text or "").strip())
    _report(problems, path)
    if len(recordings) == 0:
        raise CorpusError(f"no usable audio for {path.name}: " + (f"every entry was skipped, see "
                          f"{_skipped_listing(path)}" if problems else "the corpus part holds no recordings"))
    recordings, supervisions = fix_manifests(recordings, supervisions)
    cuts = CutSet.from_manifests(recordings=recordings, supervisions=supervisions)
    if supervisions is not None and _needs_trim(supervisions):
        cuts = cuts.trim_to_supervisions(keep_overlapping=False)
    atomic_write(path, cuts.to_file)
    return path


def _needs_trim(supervisions) -> bool:
    """Long recordings with several segments (TED-LIUM, Fisher) become one cut per segment."""
    seen = set()
    for s in supervisions:
        if s.recording_id in seen:
            return True
        seen.add(s.recording_id)
    return False


def _write_parts(manifests: dict, parts: list[str], out_dir: Path) -> list[Path]:
    """cuts_<part>.jsonl.gz for each part of a lhotse recipe's {part: {recordings, supervisions}}."""
    return [_write_cuts(manifests[p]["recordings"], manifests[p]["supervisions"], out_dir / f"cuts_{p}.jsonl.gz")
            for p in parts]


def _require(path: Path, what: str) -> None:
    if not path.exists():
        raise CorpusError(f"{path} does not exist: {what}")


def librispeech(corpus_dir: Path, out_dir: Path, parts: list[str]) -> list[Path]:
    """Any LibriSpeech-layout parts (read by ssltk: bad entries are skipped and listed)."""
    for part in parts:
        _require(corpus_dir / part, f"expected the LibriSpeech layout {part}/<speaker>/<chapter>/"
                                    "<speaker>-<chapter>-<utt>.flac + .trans.txt")
    written = []
    for part in parts:
        recordings, supervisions, problems = read_librispeech_part(corpus_dir / part)
        written.append(_write_cuts(recordings, supervisions, out_dir / f"cuts_{part}.jsonl.gz", problems))
    return written


def tedlium(corpus_dir: Path, out_dir: Path, parts: list[str]) -> list[Path]:
    """TED-LIUM 3's legacy/{train,dev,test}/{sph,stm}."""
    from lhotse.recipes import prepare_tedlium

    for part in parts:
        for sub in ("sph", "stm"):
            _require(corpus_dir / "legacy" / part / sub, "expected TED-LIUM 3's legacy/{train,dev,test}/{sph,stm} "
                                                         "(pass the TEDLIUM_release-3 root)")
    sphere_without_sph2pipe()
    return _write_parts(prepare_tedlium(corpus_dir, dataset_parts=parts, num_jobs=1), parts, out_dir)


def voxpopuli(corpus_dir: Path, out_dir: Path, parts: list[str]) -> list[Path]:
    """VoxPopuli English ASR: raw_audios/en/<year>/*.ogg and asr_en.tsv.gz."""
    import shutil

    from lhotse.recipes import prepare_voxpopuli

    tsv = corpus_dir / "asr_en.tsv.gz"
    _require(tsv, "put VoxPopuli's annotations/asr/asr_en.tsv.gz there (the recipe cannot download it offline)")
    _require(corpus_dir / "raw_audios" / "en", "expected VoxPopuli's raw_audios/en/<year>/<session>_original.ogg")
    lhotse_dir = out_dir / "voxpopuli_lhotse"
    lhotse_dir.mkdir(exist_ok=True)
    shutil.copy(tsv, lhotse_dir / "asr_en.tsv.gz")  # lhotse reads (or else downloads) it there
    manifests = prepare_voxpopuli(corpus_dir, output_dir=lhotse_dir, task="asr", lang="en", num_jobs=1)
    return _write_parts(manifests, parts, out_dir)


def switchboard(corpus_dir: Path, out_dir: Path, parts: list[str]) -> list[Path]:
    """Switchboard-1 audio (LDC97S62); parts = [the unpacked swb_ms98_transcriptions dir]."""
    from lhotse.recipes import prepare_switchboard

    transcripts = Path(parts[0]) if parts else None
    if transcripts is None or not transcripts.is_dir():
        raise CorpusError(f"Switchboard transcripts dir {transcripts} does not exist: pass the unpacked "
                          "swb_ms98_transcriptions (the recipe cannot download it offline)")
    if not any(corpus_dir.rglob("*.sph")):
        raise CorpusError(f"no .sph files under {corpus_dir}: expected LDC97S62 (Switchboard-1 audio)")
    sphere_without_sph2pipe()
    m = prepare_switchboard(corpus_dir, transcripts_dir=transcripts, absolute_paths=True)
    return [_write_cuts(m["recordings"], m["supervisions"], out_dir / "cuts_swbd.jsonl.gz")]


def fisher(corpus_dir: Path, out_dir: Path, parts: list[str]) -> list[Path]:
    """Fisher English: LDC audio / transcript pairs under corpus_dir."""
    from lhotse.recipes import prepare_fisher_english

    dirs = {"audio": ["LDC2004S13", "LDC2005S13"], "transcripts": ["LDC2004T19", "LDC2005T19"]}
    present = {k: [d for d in v if (corpus_dir / d).is_dir()] for k, v in dirs.items()}
    if not present["audio"] or len(present["audio"]) != len(present["transcripts"]):
        raise CorpusError(f"{corpus_dir} must hold Fisher's LDC audio/transcript pairs "
                          "(LDC2004S13 + LDC2004T19, and/or LDC2005S13 + LDC2005T19)")
    sphere_without_sph2pipe()
    m = prepare_fisher_english(corpus_dir, out_dir / "fisher_lhotse", audio_dirs=present["audio"],
                               transcript_dirs=present["transcripts"], absolute_paths=True)
    return [_write_cuts(m["recordings"], m["supervisions"], out_dir / "cuts_fisher.jsonl.gz")]


def eval2000(corpus_dir: Path, out_dir: Path, parts: list[str]) -> list[Path]:
    """Hub5'00: LDC2002S09 audio and LDC2002T43 references."""
    from lhotse.recipes import prepare_eval2000

    for d in ("LDC2002S09/hub5e_00/english", "LDC2002T43/reference/english"):
        _require(corpus_dir / d, "expected the Hub5'00 (eval2000) LDC dirs")
    sphere_without_sph2pipe()
    m = prepare_eval2000(corpus_dir, out_dir / "eval2000_lhotse", absolute_paths=True)
    return [_write_cuts(m["recordings"], m["supervisions"], out_dir / "cuts_eval2000.jsonl.gz")]


CORPORA = {"librispeech": librispeech, "tedlium": tedlium, "voxpopuli": voxpopuli, "switchboard": switchboard,
           "fisher": fisher, "eval2000": eval2000}
"""Corpus name -> function(corpus_dir, out_dir, parts) writing its cuts manifests."""


def prepare_cuts(corpus: str, corpus_dir: str | Path, out_dir: str | Path, parts: list[str]) -> list[Path]:
    if corpus not in CORPORA:
        raise CorpusError(f"unknown corpus {corpus!r}; known: {', '.join(CORPORA)}")
    corpus_dir, out_dir = Path(corpus_dir).resolve(), Path(out_dir)  # absolute audio paths in manifests
    if not corpus_dir.is_dir():
        raise CorpusError(f"corpus directory {corpus_dir} does not exist; pass --corpus-dir to the recipe")
    out_dir.mkdir(parents=True, exist_ok=True)
    return CORPORA[corpus](corpus_dir, out_dir, parts)


def _combine(paths: list[Path], out: Path) -> Path:
    from lhotse import CutSet

    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise CorpusError(f"cannot build {out.name}: missing {missing}")
    atomic_write(out, CutSet.from_cuts(c for p in paths for c in CutSet.from_jsonl_lazy(p)).to_file)
    return out


def librispeech_label_budgets(manifests: str | Path) -> list[Path]:
    """cuts_train-960 (all three training parts), cuts_train_100h (train-clean-100), cuts_train_960h."""
    m = Path(manifests)
    parts = [m / f"cuts_{p}.jsonl.gz" for p in ("train-clean-100", "train-clean-360", "train-other-500")]
    return [_combine(parts, m / "cuts_train-960.jsonl.gz"),
            _combine(parts[:1], m / "cuts_train_100h.jsonl.gz"),
            _combine(parts, m / "cuts_train_960h.jsonl.gz")]


def librilight_splits(finetuning_dir: str | Path, out_dir: str | Path) -> list[Path]:
    """Libri-light's limited-resource sets from librispeech_finetuning/: 10m = 1h/0, 1h = 1h/0..5,
    10h = 1h/* + 9h (clean and other in each)."""
    root, out = Path(finetuning_dir), Path(out_dir)
    folds = sorted(p.name for p in (root / "1h").iterdir() if p.is_dir()) if (root / "1h").is_dir() else []
    if not folds or not (root / "9h").is_dir():
        raise CorpusError(f"{root} is not Libri-light's librispeech_finetuning tree (expected 1h/0..5/{{clean,other}} "
                          "and 9h/{clean,other})")
    leaves = {f"1h/{f}/{k}": root / "1h" / f / k for f in folds for k in ("clean", "other")}
    leaves.update({f"9h/{k}": root / "9h" / k for k in ("clean", "other")})
    leaves = {name: path for name, path in leaves.items() if path.is_dir()}
    leaf_cuts = {}
    for name, leaf in leaves.items():
        path = out / f"cuts_ll_{name.replace('/', '_')}.jsonl.gz"
        recordings, supervisions, problems = read_librispeech_part(leaf)
        leaf_cuts[name] = _write_cuts(recordings, supervisions, path, problems)
    one_h = [p for n, p in leaf_cuts.items() if n.startswith("1h/")]
    splits = {"10m": [p for n, p in leaf_cuts.items() if n.startswith(f"1h/{folds[0]}/")], "1h": one_h,
              "10h": one_h + [p for n, p in leaf_cuts.items() if n.startswith("9h/")]}
    return [_combine(paths, out / f"cuts_train_{name}.jsonl.gz") for name, paths in splits.items()]


def export_shar(cuts_path: str | Path, out_dir: str | Path, min_seconds: float = 0.0,
                max_seconds: float = float("inf"), shard_size: int = 1000) -> Path:
    """Filter by duration and write a Lhotse Shar directory (FLAC audio) for streaming pre-training."""
    from lhotse import CutSet

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cuts = CutSet.from_jsonl_lazy(cuts_path).filter(lambda c: min_seconds <= c.duration <= max_seconds)
    cuts.to_shar(out, fields={"recording": "flac"}, shard_size=shard_size)
    return out


def map_supervision_text(src: str | Path, dst: str | Path, normalize) -> int:
    """Write `src` cuts with every supervision's text passed through `normalize`; cuts whose
    text ends up empty are dropped. Returns the number of cuts written."""
    from lhotse import CutSet

    cuts = CutSet.from_file(src).map_supervisions(lambda s: s.transform_text(normalize))
    cuts = cuts.filter(lambda c: all(s.text for s in c.supervisions)).to_eager()
    atomic_write(dst, cuts.to_file)
    return len(cuts)
