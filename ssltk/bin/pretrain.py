"""Self-supervised pre-training (wav2vec 2.0 objective) of any preset on Lhotse CutSets.

    python -m ssltk.bin.pretrain --config conf/pretrain.yaml --exp-dir exp/pretrain [key.sub=value ...]
    torchrun --standalone --nproc_per_node 4 -m ssltk.bin.pretrain --config ... --exp-dir ...

Re-running the same command resumes from the newest checkpoint in EXP_DIR.
SIGTERM / Ctrl-C finish the current update, write a checkpoint and exit with 128 + the signal
(143 / 130): a stopped run is not a finished one. A second run on the same EXP_DIR exits at once.
Multi-node: see ssltk/train/distributed.py.
"""
from __future__ import annotations

import argparse
import sys

from ssltk.config import ConfigError
from ssltk.data.dataset import DataError
from ssltk.models.checkpoint import CheckpointError
from ssltk.train.config import load_pretrain_config
from ssltk.train.loop import TrainingStopped
from ssltk.train.pretrain import TrainingError, pretrain


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="YAML overrides (see ssltk/train/config.py for every key)")
    parser.add_argument("--exp-dir", required=True)
    parser.add_argument("overrides", nargs="*", help="key.sub=value, e.g. preset=sewd-tiny train.max_updates=100")
    args = parser.parse_args(argv)
    try:
        cfg = load_pretrain_config(args.config, args.overrides)
        pretrain(cfg, args.exp_dir)
    except TrainingStopped as e:  # logged already; the exit status tells the recipe it is not done
        sys.exit(e.exit_code)
    except (ConfigError, DataError, CheckpointError, TrainingError) as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
