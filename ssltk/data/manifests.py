"""Lhotse manifests for the recipes' corpora, as CutSets (cuts_<part>.jsonl.gz), offline.

    prepare_cuts("librispeech", "/data/LibriSpeech", "data/manifests", ["train-clean-100", "dev-clean"])

Each corpus' expected tree is checked first; a missing corpus dir or part is an
error naming the path and what should be there.
"""
from __future__ import annotations

import os
from pathlib import Path

from ssltk.data.dataset import sphere_without_sph2pipe


class CorpusError(FileNotFoundError):
    pass


def _write_cuts(recordings, supervisions, path: Path) -> Path:
    from lhotse import CutSet
    from lhotse.qa import fix_manifests

    recordings, supervisions = fix_manifests(recordings, supervisions)
    cuts = CutSet.from_manifests(recordings=recordings, supervisions=supervisions)
    if supervisions is not None and _needs_trim(supervisions):
        cuts = cuts.trim_to_supervisions(keep_overlapping=False)
    tmp = path.with_name(f".{path.name.split('.')[0]}.tmp.jsonl.gz")
    cuts.to_file(tmp)
    os.replace(tmp, path)
    return path


def _needs_trim(supervisions) -> bool:
    """Long recordings with several segments (TED-LIUM, Fisher) become one cut per segment."""
    seen = set()
    for s in supervisions:
        if s.recording_id in seen:
            return True
        seen.add(s.recording_id)
    return False


def prepare_cuts(corpus: str, corpus_dir: str | Path, out_dir: str | Path, parts: list[str]) -> list[Path]:
    corpus_dir, out_dir = Path(corpus_dir).resolve(), Path(out_dir)  # absolute audio paths in manifests
    if not corpus_dir.is_dir():
        raise CorpusError(f"corpus directory {corpus_dir} does not exist; pass --corpus-dir to the recipe")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    match corpus:
        case "librispeech":
            from lhotse.recipes import prepare_librispeech

            for part in parts:
                if not (corpus_dir / part).is_dir():
                    raise CorpusError(f"{corpus_dir / part} does not exist: expected the LibriSpeech layout "
                                      f"{part}/<speaker>/<chapter>/<speaker>-<chapter>-<utt>.flac + .trans.txt")
            manifests = prepare_librispeech(corpus_dir, dataset_parts=parts, num_jobs=1)
            for part in parts:
                m = manifests[part]
                written.append(_write_cuts(m["recordings"], m["supervisions"], out_dir / f"cuts_{part}.jsonl.gz"))
        case "tedlium":
            from lhotse.recipes import prepare_tedlium

            for part in parts:
                for sub in ("sph", "stm"):
                    if not (corpus_dir / "legacy" / part / sub).is_dir():
                        raise CorpusError(f"{corpus_dir / 'legacy' / part / sub} does not exist: expected TED-LIUM 3's "
                                          "legacy/{train,dev,test}/{sph,stm} (pass the TEDLIUM_release-3 root)")
            sphere_without_sph2pipe()
            manifests = prepare_tedlium(corpus_dir, dataset_parts=parts, num_jobs=1)
            for part in parts:
                m = manifests[part]
                written.append(_write_cuts(m["recordings"], m["supervisions"], out_dir / f"cuts_{part}.jsonl.gz"))
        case "voxpopuli":
            import shutil

            from lhotse.recipes import prepare_voxpopuli

            tsv = corpus_dir / "asr_en.tsv.gz"
            if not tsv.is_file():
                raise CorpusError(f"{tsv} does not exist: put VoxPopuli's annotations/asr/asr_en.tsv.gz there "
                                  "(the recipe cannot download it offline)")
            if not (corpus_dir / "raw_audios" / "en").is_dir():
                raise CorpusError(f"{corpus_dir / 'raw_audios' / 'en'} does not exist: expected VoxPopuli's "
                                  "raw_audios/en/<year>/<session>_original.ogg")
            lhotse_dir = out_dir / "voxpopuli_lhotse"
            lhotse_dir.mkdir(exist_ok=True)
            shutil.copy(tsv, lhotse_dir / "asr_en.tsv.gz")  # lhotse reads (or else downloads) it there
            manifests = prepare_voxpopuli(corpus_dir, output_dir=lhotse_dir, task="asr", lang="en", num_jobs=1)
            for part in parts:
                m = manifests[part]
                written.append(_write_cuts(m["recordings"], m["supervisions"], out_dir / f"cuts_{part}.jsonl.gz"))
        case "switchboard":
            from lhotse.recipes import prepare_switchboard

            transcripts = Path(parts[0]) if parts else None
            if transcripts is None or not transcripts.is_dir():
                raise CorpusError(f"Switchboard transcripts dir {transcripts} does not exist: pass the unpacked "
                                  "swb_ms98_transcriptions (the recipe cannot download it offline)")
            if not any(corpus_dir.rglob("*.sph")):
                raise CorpusError(f"no .sph files under {corpus_dir}: expected LDC97S62 (Switchboard-1 audio)")
            sphere_without_sph2pipe()
            m = prepare_switchboard(corpus_dir, transcripts_dir=transcripts, absolute_paths=True)
            written.append(_write_cuts(m["recordings"], m["supervisions"], out_dir / "cuts_swbd.jsonl.gz"))
        case "fisher":
            from lhotse.recipes import prepare_fisher_english

            dirs = {"audio": ["LDC2004S13", "LDC2005S13"], "transcripts": ["LDC2004T19", "LDC2005T19"]}
            present = {k: [d for d in v if (corpus_dir / d).is_dir()] for k, v in dirs.items()}
            if not present["audio"] or len(present["audio"]) != len(present["transcripts"]):
                raise CorpusError(f"{corpus_dir} must hold Fisher's LDC audio/transcript pairs "
                                  "(LDC2004S13 + LDC2004T19, and/or LDC2005S13 + LDC2005T19)")
            sphere_without_sph2pipe()
            m = prepare_fisher_english(corpus_dir, out_dir / "fisher_lhotse", audio_dirs=present["audio"],
                                       transcript_dirs=present["transcripts"], absolute_paths=True)
            written.append(_write_cuts(m["recordings"], m["supervisions"], out_dir / "cuts_fisher.jsonl.gz"))
        case "eval2000":
            from lhotse.recipes import prepare_eval2000

            for d in ("LDC2002S09/hub5e_00/english", "LDC2002T43/reference/english"):
                if not (corpus_dir / d).is_dir():
                    raise CorpusError(f"{corpus_dir / d} does not exist: expected the Hub5'00 (eval2000) LDC dirs")
            sphere_without_sph2pipe()
            m = prepare_eval2000(corpus_dir, out_dir / "eval2000_lhotse", absolute_paths=True)
            written.append(_write_cuts(m["recordings"], m["supervisions"], out_dir / "cuts_eval2000.jsonl.gz"))
        case _:
            raise CorpusError(f"unknown corpus {corpus!r}")
    return written



def _combine(paths: list[Path], out: Path) -> Path:
    from lhotse import CutSet

    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise CorpusError(f"cannot build {out.name}: missing {missing}")
    cuts = CutSet.from_cuts(c for p in paths for c in CutSet.from_jsonl_lazy(p))
    tmp = out.with_name(f".{out.name.split('.')[0]}.tmp.jsonl.gz")
    cuts.to_file(tmp)
    os.replace(tmp, out)
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
    from lhotse.recipes import prepare_librispeech

    root, out = Path(finetuning_dir), Path(out_dir)
    folds = sorted(p.name for p in (root / "1h").iterdir() if p.is_dir()) if (root / "1h").is_dir() else []
    if not folds or not (root / "9h").is_dir():
        raise CorpusError(f"{root} is not Libri-light's librispeech_finetuning tree (expected 1h/0..5/{{clean,other}} "
                          "and 9h/{clean,other})")
    leaves = {f"1h/{f}/{k}": root / "1h" / f / k for f in folds for k in ("clean", "other")}
    leaves.update({f"9h/{k}": root / "9h" / k for k in ("clean", "other")})
    leaves = {name: path for name, path in leaves.items() if path.is_dir()}
    manifests = prepare_librispeech(root, dataset_parts=list(leaves), num_jobs=1)
    leaf_cuts = {}
    for name in leaves:
        path = out / f"cuts_ll_{name.replace('/', '_')}.jsonl.gz"
        leaf_cuts[name] = _write_cuts(manifests[name]["recordings"], manifests[name]["supervisions"], path)
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
    dst = Path(dst)
    tmp = dst.with_name(f".{dst.name.split('.')[0]}.tmp.jsonl.gz")
    cuts.to_file(tmp)
    os.replace(tmp, dst)
    return len(cuts)
