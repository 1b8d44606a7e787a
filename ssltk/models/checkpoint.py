"""Model checkpoints: one file with the resolved config and the weights.

A checkpoint is a dict of plain types and tensors, so `torch.load(...,
weights_only=True)` reads it (no pickled code); a `.safetensors` path stores
the same dict with the config as JSON metadata. Writes are atomic (temp file,
fsync, rename): an interrupted save leaves the previous file intact.

State-dict keys are those of Wav2Vec2ForPretraining (`encoder.*`, `quantizer.*`,
`project_c.*`, `project_q.*`) plus `ctc.*` for a CTC output layer; a checkpoint
may hold any subset beyond `encoder.*`.

    >>> ckpt = load_checkpoint("exp/model.pt")          # doctest: +SKIP
    >>> encoder, cfg = load_encoder("exp/model.pt")     # doctest: +SKIP
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from ssltk.config import to_dict
from ssltk.data.atomic import atomic_write
from ssltk.models.config import ModelConfig
from ssltk.models.presets import config_from_dict

FORMAT_VERSION = 1


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be read; the message names the file and the fix."""


def save_checkpoint(path: str | Path, cfg: ModelConfig, state: dict[str, torch.Tensor],
                    **extra) -> None:
    """Write {'format', 'config', 'model', **extra} atomically to `path` (.pt or .safetensors)."""
    state = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    payload = {"format": FORMAT_VERSION, "config": to_dict(cfg), **extra}
    if str(path).endswith(".safetensors"):
        from safetensors.torch import save_file

        meta = {"ssltk": json.dumps(payload)}
        atomic_write(path, lambda tmp: save_file(state, tmp, metadata=meta))
    else:
        payload["model"] = state
        atomic_write(path, lambda tmp: torch.save(payload, tmp))


def load_checkpoint(path: str | Path) -> dict:
    """Read a checkpoint written by save_checkpoint; returns {'config': ModelConfig, 'model': ...}."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        if path.suffix == ".safetensors":
            from safetensors import safe_open

            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata() or {}
                if "ssltk" not in meta:
                    raise CheckpointError(f"{path} is a safetensors file without ssltk metadata; "
                                          "import transformers models with `python -m ssltk.bin.convert --from-hf`")
                payload = json.loads(meta["ssltk"])
                payload["model"] = {k: f.get_tensor(k) for k in f.keys()}
        else:
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except CheckpointError:
        raise
    except Exception as e:  # noqa: BLE001 - any reader error means the same thing to the user
        raise CheckpointError(f"cannot read checkpoint {path}: {e}. Is it an ssltk checkpoint "
                              "(not a fairseq/transformers file)? Convert those with ssltk.bin.convert.") from e
    if not isinstance(payload, dict) or "config" not in payload or "model" not in payload:
        raise CheckpointError(f"{path} is not an ssltk checkpoint (no 'config'/'model' entries)")
    payload["config"] = config_from_dict(payload["config"])
    return payload


def sub_state(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def load_encoder(path: str | Path, device: str | torch.device = "cpu"):
    """(Wav2Vec2Encoder in eval mode, ModelConfig) from a checkpoint."""
    from ssltk.models.build import build_encoder

    ckpt = load_checkpoint(path)
    cfg: ModelConfig = ckpt["config"]
    encoder = build_encoder(cfg)
    missing, unexpected = encoder.load_state_dict(sub_state(ckpt["model"], "encoder."), strict=False)
    if missing or unexpected:
        raise CheckpointError(f"{path}: encoder weights do not match its config "
                              f"(missing {missing[:5]}, unexpected {unexpected[:5]})")
    return encoder.to(device).eval(), cfg


MODEL_KEYS = ("ctc", "tokens", "tokenizer", "lang_dir", "aux_tokens", "aux_tokenizer", "aux_lang_dir")
"""Entries of a fine-tuned checkpoint that describe the model (the rest is training state)."""


def average_checkpoints(paths: list[str | Path]) -> dict:
    """The element-wise mean of the models of several checkpoints of one run (fairseq's
    average_checkpoints.py, icefall's --avg): {'config', 'model', and the entries of MODEL_KEYS of
    the last}; the training state (optimizer, RNG, data position) is dropped, since the average
    is a model to decode, not a point to resume from. Integer buffers are taken from the last."""
    if not paths:
        raise ValueError("average_checkpoints needs at least one checkpoint")
    ckpts = [load_checkpoint(p) for p in paths]
    keys = ckpts[-1]["model"].keys()
    for path, ckpt in zip(paths, ckpts):
        if ckpt["model"].keys() != keys or ckpt["config"] != ckpts[-1]["config"]:
            raise CheckpointError(f"{path} is not a checkpoint of the same model as {paths[-1]} (other config or "
                                  "weights); average checkpoints of one run")
    state = {}
    for k, v in ckpts[-1]["model"].items():
        if v.is_floating_point():
            state[k] = (sum(c["model"][k].double() for c in ckpts) / len(ckpts)).to(v.dtype)
        else:
            state[k] = v
    return {"config": ckpts[-1]["config"], "model": state,
            **{k: ckpts[-1][k] for k in MODEL_KEYS if k in ckpts[-1]}}
