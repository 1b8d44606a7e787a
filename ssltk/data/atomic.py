"""Atomic file writes: a reader (or a rerun after a crash) sees the old file or the new one, never half.

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "hyp.txt"
    >>> atomic_write_text(out, "utt1 HELLO\\n"); out.read_text()
    'utt1 HELLO\\n'

The temporary file sits in the target's directory (so the rename is atomic) and keeps the
target's suffixes, for writers that pick the format by suffix (lhotse's `.jsonl.gz`,
soundfile's `.flac`).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable


def atomic_write(path: str | Path, write: Callable[[str], object]) -> None:
    """Call write(tmp_path), fsync, then rename over `path` (its directory is created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name.split('.')[0]}.", suffix=".tmp" + "".join(path.suffixes),
                               dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
