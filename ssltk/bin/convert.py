"""Convert between transformers `save_pretrained` directories and ssltk checkpoints.

    python -m ssltk.bin.convert --from-hf DIR --out CKPT       # import (Wav2Vec2*, SEW*, SEWD*)
    python -m ssltk.bin.convert --ckpt CKPT --to-hf DIR        # export back

Start from a public checkpoint by downloading its directory (config.json +
model.safetensors / pytorch_model.bin), e.g. asapp/sew-d-mid-400k, then import it.
"""
from __future__ import annotations

import argparse
import sys

from ssltk.config import ConfigError
from ssltk.models.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from ssltk.models.hf import export_hf_dir, import_hf_dir


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--from-hf", metavar="DIR", help="transformers save_pretrained directory to import")
    src.add_argument("--ckpt", metavar="CKPT", help="ssltk checkpoint to export")
    parser.add_argument("--out", metavar="CKPT", help="where to write the imported checkpoint (.pt or .safetensors)")
    parser.add_argument("--to-hf", metavar="DIR", help="where to write the exported transformers directory")
    args = parser.parse_args(argv)
    try:
        if args.from_hf:
            if not args.out:
                parser.error("--from-hf needs --out CKPT")
            ckpt = import_hf_dir(args.from_hf)
            extra = {k: v for k, v in ckpt.items() if k not in ("config", "model")}
            save_checkpoint(args.out, ckpt["config"], ckpt["model"], **extra)
            print(f"wrote {args.out} ({len(ckpt['model'])} tensors, {ckpt['source']['architectures']})")
        else:
            if not args.to_hf:
                parser.error("--ckpt needs --to-hf DIR")
            arch = export_hf_dir(load_checkpoint(args.ckpt), args.to_hf)
            print(f"wrote {args.to_hf} as {arch}")
    except (ConfigError, CheckpointError) as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
