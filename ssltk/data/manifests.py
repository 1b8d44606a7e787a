"""Lhotse manifests for the recipes' corpora, as CutSets (cuts_<part>.jsonl.gz), offline.

    prepare_cuts("librispeech", "/data/LibriSpeech", "data/manifests", ["train-clean-100", "dev-clean"])

Each corpus' expected tree is checked first; a missing corpus dir or part is an
error naming the path and what should be there.
"""
from __future__ import annotations

import os
from pathlib import Path


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
    corpus_dir, out_dir = Path(corpus_dir), Path(out_dir)
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
        case _:
            raise CorpusError(f"unknown corpus {corpus!r}")
    return written
