"""Every model variant in one table, each written as the difference from its parent.

Inference parameter counts (feature encoder + context network; no quantizer or
heads) are printed by `python -m ssltk.bin.presets` and checked against the
papers by tests/models/test_presets.py.

    >>> cfg = get_preset("sewd-tiny", ["context.squeeze=1"])
"""
from __future__ import annotations

from typing import Iterable

from ssltk.config import ConfigError, apply_overrides, from_dict, merge
from ssltk.models.config import ARCHS, ModelConfig

# name: (parent, overrides). Sources: W = SEW-D paper Table 2, T6 = its Table 6,
# SEW = asapp/sew-*-100k configs. Parameter counts in millions (paper / ours).
PRESETS: dict[str, tuple[str | None, dict]] = {
    # fairseq wav2vec2_base_librispeech: E768 L12, WFE-O-c512, conv-pos k128 (W, 94.4 / 94.4)
    "w2v2-base": (None, {}),
    # W: E256 L12 + WFE-O-c256 (11.1 / 11.1)
    "w2v2-tiny": ("w2v2-base", {"frontend": {"c": 256}, "context": {"dim": 256}}),
    # W / T6 row 1: E384 L12 + WFE-O-c384 (24.8 / 25.0)
    "w2v2-small": ("w2v2-base", {"frontend": {"c": 384}, "context": {"dim": 384}}),
    # W: E512 L12 + WFE-O-c512 (44.1 / 44.4)
    "w2v2-mid": ("w2v2-base", {"context": {"dim": 512}}),
    # fairseq wav2vec2_large_librivox: E1024 L24 pre-LN, layer-norm WFE with bias (315.5 / 315.4)
    "w2v2-large": ("w2v2-base", {
        "frontend": {"norm": "layer", "bias": True},
        "context": {"dim": 1024, "layers": 24, "layer_norm_first": True, "layerdrop": 0.0},
        "head": {"dim": 768}, "quantizer": {"dim": 768},
    }),
    # T6 row 7 / asapp sew-tiny: E512 L12 + WFE-C-c64-l1, k31, squeeze 2, MLP heads (40.7 / 40.7)
    "sew-tiny": ("w2v2-mid", {
        "frontend": {"type": "wfe-c", "c": 64, "l": 1},
        "context": {"pos_conv_kernel": 31, "squeeze": 2},
        "head": {"type": "mlp"}, "feature_projection": "auto",
    }),
    # asapp sew-small: E768 L12 (- / 89.6)
    "sew-small": ("sew-tiny", {"context": {"dim": 768}}),
    # asapp sew-mid: E768 L24 (- / 174.7)
    "sew-mid": ("sew-small", {"context": {"layers": 24}}),
    # T6 row 8 / W: SEW-tiny + disentangled attention, E384 (24.1 / 24.1)
    "sewd-tiny": ("sew-tiny", {"context": {
        "dim": 384, "attention": "disentangled", "layer_norm_eps": 1e-7}}),
    # W: E512 L12 (41.0 / 41.0)
    "sewd-small": ("sewd-tiny", {"context": {"dim": 512}}),
    # W: E512 L24 (78.8 / 78.8)
    "sewd-mid": ("sewd-small", {"context": {"layers": 24}}),
    # W: E768 L24 (175.1 / 175.1)
    "sewd-base": ("sewd-mid", {"context": {"dim": 768}}),
    # W: E768 L24 + WFE-C-c96-l1 (177.0 / 177.0)
    "sewd-base+": ("sewd-base", {"frontend": {"c": 96}}),
    # T6 row 9: SEW-tiny with FBFE-c160 instead of WFE-C-c64-l1 (42.2 / 42.1)
    "sew-tiny-fbank": ("sew-tiny", {"frontend": {"type": "fbank", "c": 160}}),
    # Laptop-CPU presets for the offline recipe (egs/mini_tts): minutes of pre-training on 2 cores.
    "sewd-mini": ("sewd-tiny", {
        "frontend": {"c": 16, "l": 0}, "context": {"dim": 128, "layers": 4},
        "quantizer": {"entries": 64, "dim": 64}, "head": {"dim": 64, "hidden": 256},
    }),
    # sewd-mini on filter banks (FBFE-c16, the SEW-D paper's Table 6 row 9 at the laptop scale): from raw
    # waveforms the 16-channel WFE-C gives quantizer codes that change at 90 % of frames and the wav2vec 2.0
    # objective stays near chance in minutes; on log-mels the codes settle and it learns (egs/mini_tts/RESULTS.md)
    "sewd-mini-fbank": ("sewd-mini", {"frontend": {"type": "fbank", "fbank_dim": 128}}),
    # sewd-mini-fbank with SEW's multi-head attention instead of disentangled attention (the SEW / SEW-D pair of
    # the SEW-D paper's Fig. 1 at the laptop scale)
    "sew-mini": ("sewd-mini-fbank", {"context": {"attention": "mha", "layer_norm_eps": 1e-5}}),
    "w2v2-mini": ("w2v2-base", {
        "frontend": {"c": 128}, "context": {"dim": 128, "layers": 4, "pos_conv_kernel": 64},
        "quantizer": {"entries": 64, "dim": 64}, "head": {"dim": 64},
    }),
    # S3LSpeech (its public code): 128 log-mels, conv 384-512 (40 ms), 2 blocks, conv 1536-512 (80 ms),
    # 2 blocks of E512 / 8 heads / FFN 2048, projection 256, conv predictor; EMA teacher, 100 negatives,
    # cosine similarity / 0.5: S3LModelConfig's defaults (23.0 M).
    "s3l-base": (None, {"arch": "s3l"}),
    "s3l-mini": ("s3l-base", {
        "context": {"dim": 128, "heads": 2, "pos_conv_kernel": 32},
        "s3l": {"conv1": [[128, 5, 2], [128, 5, 2]], "conv2": [[256, 5, 2], [128, 1, 1]], "proj_dim": 64,
                "predictor": [[64, 5, 1], [64, 5, 1], [64, 1, 1]]},
    }),
    # s3l-mini whose second conv block keeps the 40 ms rate (stride 1): letter CTC gets 2 output frames per
    # encoder frame instead of 4 from one 80 ms vector; from scratch on egs/mini_tts' 1 h, test WER 53.8 %
    # (WFST) against s3l-mini's 61.9 % with the same fine-tuning (egs/mini_tts/RESULTS.md).
    "s3l-mini-40ms": ("s3l-mini", {"s3l": {"conv2": [[256, 5, 1], [128, 1, 1]], "ctc_upsample": 2}}),
    # Between s3l-mini and s3l-base (4.7 M): on egs/mini_tts' 1 h from scratch it trains no better than
    # s3l-mini in the same 1200 updates (dev CTC loss 66.5 with pre-LN at 1e-3; post-LN at 2e-3 stays blank).
    "s3l-small": ("s3l-base", {
        "context": {"dim": 256, "heads": 4, "pos_conv_kernel": 32},
        "s3l": {"conv1": [[256, 5, 2], [256, 5, 2]], "conv2": [[512, 5, 2], [256, 1, 1]], "proj_dim": 128,
                "predictor": [[128, 5, 1], [128, 5, 1], [128, 1, 1]]},
    }),
    # Tiny test presets: every code path (group/layer norm, squeeze, disentangled, MLP heads).
    "w2v2-test": ("w2v2-base", {
        "frontend": {"c": 32}, "context": {"dim": 32, "layers": 2, "heads": 2, "pos_conv_kernel": 8,
                                            "pos_conv_groups": 4},
        "quantizer": {"entries": 8, "dim": 16}, "head": {"dim": 16},
        "objective": {"num_negatives": 5},
    }),
    "w2v2-large-test": ("w2v2-test", {"frontend": {"norm": "layer", "bias": True},
                                      "context": {"layer_norm_first": True}}),
    "sew-test": ("w2v2-test", {"frontend": {"type": "wfe-c", "c": 8, "l": 1},
                               "context": {"squeeze": 2, "pos_conv_kernel": 7},
                               "head": {"type": "mlp", "hidden": 32}, "feature_projection": "auto"}),
    "sewd-test": ("sew-test", {"context": {"attention": "disentangled", "layer_norm_eps": 1e-7,
                                           "position_buckets": 8, "max_relative_positions": 32}}),
    "fbank-test": ("sew-test", {"frontend": {"type": "fbank", "n_mels": 20, "fbank_dim": 32}}),
    "s3l-test": ("s3l-base", {
        "context": {"dim": 32, "layers": 2, "heads": 2, "pos_conv_kernel": 8, "pos_conv_groups": 4},
        "s3l": {"n_mels": 16, "conv1": [[24, 5, 2], [32, 5, 2]], "conv2": [[48, 5, 2], [32, 1, 1]],
                "stage_layers": [1, 1], "proj_dim": 16, "predictor": [[16, 3, 1], [16, 1, 1]],
                "num_negatives": 5},
    }),
}

# Table 6 of the SEW-D paper as presets plus overrides (tests build every row).
TABLE6_ROWS: dict[int, tuple[str, list[str]]] = {
    1: ("w2v2-small", []),
    2: ("w2v2-tiny", []),
    3: ("w2v2-small", ["frontend.c=256", "context.squeeze=2"]),
    4: ("w2v2-small", ["frontend.type=wfe-c", "frontend.c=96", "frontend.l=1", "context.squeeze=2"]),
    5: ("w2v2-mid", ["frontend.type=wfe-c", "frontend.c=48", "frontend.l=1", "context.squeeze=2"]),
    6: ("w2v2-mid", ["frontend.type=wfe-c", "frontend.c=64", "frontend.l=1", "context.squeeze=2",
                     "context.pos_conv_kernel=31", "feature_projection=auto"]),
    7: ("sew-tiny", []),
    8: ("sewd-tiny", []),
    9: ("sew-tiny", ["frontend.type=fbank", "frontend.c=160"]),
}


def preset_names() -> list[str]:
    return list(PRESETS)


def get_preset(name: str, overrides: Iterable[str] = ()) -> ModelConfig:
    """The preset's ModelConfig with `key.sub=value` overrides applied."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset '{name}'; valid presets: {', '.join(PRESETS)}")
    chain = []
    while name is not None:
        parent, diff = PRESETS[name]
        chain.append(diff)
        name = parent
    cfg = ARCHS[chain[-1].get("arch", "wav2vec2")]()  # the root preset names the architecture
    for diff in reversed(chain):
        cfg = merge(cfg, diff)
    return apply_overrides(cfg, overrides)


# What checkpoints written before each architecture had its own config still carry: the S3L
# augmentation settings (now PretrainConfig.augment) and the other architecture's sections.
MOVED_TO_AUGMENT = {"noise_prob", "snr_db", "noise_slope", "freq_masks", "freq_width", "time_mask_ratio",
                    "max_time_masks", "time_width", "mask_std", "shift_max", "shift_max_ratio"}
OTHER_ARCH_KEYS = {"wav2vec2": {"s3l", "units"},
                   "s3l": {"frontend", "quantizer", "head", "objective", "feature_projection", "feature_norm_eps",
                           "dropout_features", "feature_grad_mult"}}


def config_from_dict(data: dict) -> ModelConfig:
    """The config of a checkpoint's `config` entry, of the class its `arch` names (older
    checkpoints' keys of the other architecture and S3L augmentation are left out)."""
    arch = data.get("arch", "wav2vec2")
    if arch not in ARCHS:
        raise ConfigError(f"unknown model arch {arch!r}; known: {', '.join(ARCHS)}")
    data = {k: v for k, v in data.items() if k not in OTHER_ARCH_KEYS[arch]}
    if isinstance(data.get("s3l"), dict):
        data = {**data, "s3l": {k: v for k, v in data["s3l"].items() if k not in MOVED_TO_AUGMENT}}
    return from_dict(ARCHS[arch], data)
