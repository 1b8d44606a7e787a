"""CTC fine-tuning of a pre-trained checkpoint on labelled Lhotse CutSets.

    python -m ssltk.bin.finetune --config conf/finetune.yaml --exp-dir exp/ft --init CKPT [key.sub=value ...]

Needs a lang dir (finetune.lang_dir, from ssltk.bin.prepare_lang) and cuts with
supervision text (data.train_cuts, data.valid_cuts). Re-running resumes; best.pt is
the checkpoint with the lowest validation WER (greedy decoding). SIGTERM / Ctrl-C checkpoint and
exit with 128 + the signal (a stopped run is not a finished one).
"""
from __future__ import annotations

import argparse
import sys

from ssltk.config import ConfigError
from ssltk.data.dataset import DataError
from ssltk.data.tokens import TokenError
from ssltk.models.checkpoint import CheckpointError
from ssltk.train.finetune import finetune, load_finetune_config
from ssltk.train.loop import TrainingError, TrainingStopped


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="YAML overrides (fields of ssltk/train/finetune.py:FinetuneConfig)")
    parser.add_argument("--exp-dir", required=True)
    parser.add_argument("--init", help="pre-trained checkpoint (overrides `init` in the config)")
    parser.add_argument("overrides", nargs="*", help="key.sub=value, e.g. finetune.lang_dir=data/lang_char")
    args = parser.parse_args(argv)
    try:
        finetune(load_finetune_config(args.config, args.overrides), args.exp_dir, args.init)
    except TrainingStopped as e:  # logged already; the exit status tells the recipe it is not done
        sys.exit(e.exit_code)
    except (ConfigError, DataError, CheckpointError, TrainingError, TokenError) as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
