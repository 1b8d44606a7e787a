"""Hold out a deterministic dev set (by whole conversations) from the Fisher+Switchboard training cuts.

    python local/split_dev.py ALL_CUTS SECONDS SEED OUT_TRAIN OUT_DEV
"""
import random
import sys

from lhotse import CutSet


def main(src: str, seconds: str, seed: str, out_train: str, out_dev: str) -> None:
    cuts = CutSet.from_file(src).to_eager()
    recordings = sorted({c.recording_id for c in cuts})
    random.Random(int(seed)).shuffle(recordings)
    dev, total = set(), 0.0
    per_rec = {}
    for c in cuts:
        per_rec[c.recording_id] = per_rec.get(c.recording_id, 0.0) + c.duration
    for r in recordings:
        if total >= float(seconds):
            break
        dev.add(r)
        total += per_rec[r]
    cuts.filter(lambda c: c.recording_id not in dev).to_file(out_train)
    cuts.filter(lambda c: c.recording_id in dev).to_file(out_dev)
    print(f"dev: {len(dev)} conversations, {total / 3600:.2f} h")


if __name__ == "__main__":
    main(*sys.argv[1:])
