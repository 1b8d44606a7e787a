"""Context-network representations of a waveform (for probing, k-means targets, ...).

    >>> encoder, cfg = load_encoder("exp/model.pt")          # doctest: +SKIP
    >>> feats = extract(encoder, torch.from_numpy(wav))      # doctest: +SKIP
"""
from __future__ import annotations

import torch

from ssltk.models.wav2vec2 import Wav2Vec2Encoder


@torch.inference_mode()
def extract(encoder: Wav2Vec2Encoder, wav: torch.Tensor, layer: int | None = None) -> torch.Tensor:
    """wav: (S,) one utterance. Returns (T, E): the context network's output, or with
    `layer` = N (1..L) the output of block N (at the squeezed frame rate for SEW models,
    40 ms for the first S3LSpeech stage)."""
    encoder.eval()
    n_layers = encoder.num_layers
    if layer is not None and not 1 <= layer <= n_layers:
        raise ValueError(f"--layer must be between 1 and {n_layers} for this model (got {layer})")
    device = next(encoder.parameters()).device
    x = wav.to(device=device, dtype=torch.float32).unsqueeze(0)
    lens = torch.tensor([x.shape[1]], device=device)
    min_samples = int(encoder.output_lengths(torch.arange(1, 4000)).nonzero()[0]) + 1
    if x.shape[1] < min_samples:
        raise ValueError(f"audio of {x.shape[1]} samples is shorter than one frame ({min_samples} samples)")
    out = encoder(x, lens, return_layers=layer is not None)
    if layer is None:
        return out.hidden[0, : int(out.hidden_lens[0])].cpu()
    return out.layers[layer - 1][0].cpu()
