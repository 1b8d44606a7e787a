"""List every model preset with its inference parameter count.

    python -m ssltk.bin.presets [--json]
"""
from __future__ import annotations

import argparse
import json

from ssltk.models.presets import PRESETS, get_preset
from ssltk.models.build import inference_parameters


def describe(name: str) -> dict:
    cfg = get_preset(name)
    c = cfg.context
    s3l = cfg.arch == "s3l"
    return {
        "preset": name,
        "params_m": round(inference_parameters(cfg) / 1e6, 2),
        "arch": cfg.arch,
        "frontend": f"mel{cfg.s3l.n_mels}-conv-x{cfg.s3l.stride}" if s3l else cfg.frontend.describe(),
        "E": c.dim, "L": c.layers, "heads": c.num_heads, "pos_conv_k": c.pos_conv_kernel,
        "squeeze": c.squeeze, "attention": c.attention, "pre_ln": c.layer_norm_first,
        "head": "ema-teacher" if s3l else cfg.head.type,
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args(argv)
    rows = [describe(n) for n in PRESETS]
    if args.json:
        for r in rows:
            print(json.dumps(r))
        return
    cols = list(rows[0])
    widths = [max(len(str(c)), *(len(str(r[c])) for r in rows)) for c in cols]
    print("  ".join(str(c).ljust(w) for c, w in zip(cols, widths)))
    for r in rows:
        print("  ".join(str(r[c]).ljust(w) for c, w in zip(cols, widths)))


if __name__ == "__main__":
    main()
