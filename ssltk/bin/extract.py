"""Write the context network's output for one audio file as a (T, E) float32 .npy.

    python -m ssltk.bin.extract --ckpt CKPT --audio FILE.wav --out FEATS.npy [--layer N]

Without --layer: the context network's output (50 Hz). With --layer N (1..L): the
output of block N (at 25 Hz for squeezed SEW / SEW-D models).
"""
from __future__ import annotations

import argparse
import sys

import numpy as np
import torch

from ssltk.data.audio import AudioError, read_audio
from ssltk.models.checkpoint import CheckpointError, load_encoder
from ssltk.models.extract import extract


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt", required=True)
    parser.add_argument("--audio", required=True, help="16 kHz mono audio (WAV, FLAC, ...)")
    parser.add_argument("--out", required=True, help="output .npy")
    parser.add_argument("--layer", type=int, default=None, help="block N (1..L) instead of the final output")
    parser.add_argument("--resample", action="store_true", help="resample audio that is not 16 kHz")
    parser.add_argument("--downmix", action="store_true", help="average the channels of multi-channel audio")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    try:
        wav = read_audio(args.audio, resample=args.resample, downmix=args.downmix)
        encoder, _ = load_encoder(args.ckpt, args.device)
        feats = extract(encoder, torch.from_numpy(wav), args.layer)
    except (AudioError, CheckpointError, ValueError) as e:
        sys.exit(f"error: {e}")
    np.save(args.out, feats.numpy().astype(np.float32))
    print(f"wrote {args.out} {tuple(feats.shape)}")


if __name__ == "__main__":
    main()
