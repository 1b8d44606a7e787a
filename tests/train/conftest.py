import random

import pytest

from ssltk.testing import write_cuts


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    """24 training and 4 validation utterances of 2-4 s (FLAC + Lhotse manifests)."""
    d = tmp_path_factory.mktemp("corpus")
    r = random.Random(0)
    train = write_cuts(d, [r.uniform(2.1, 4.0) for _ in range(24)], seed=0, name="train.jsonl.gz")
    valid = write_cuts(d, [r.uniform(2.1, 4.0) for _ in range(4)], seed=1, name="valid.jsonl.gz")
    return {"dir": d, "train": train, "valid": valid}
