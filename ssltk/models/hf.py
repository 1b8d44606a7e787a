"""Conversion between ssltk checkpoints and transformers `save_pretrained` directories.

Supported: Wav2Vec2Model / Wav2Vec2ForPreTraining / Wav2Vec2ForCTC, SEWModel /
SEWForCTC, SEWDModel / SEWDForCTC. Reading and writing need only safetensors
(transformers itself is not imported), so this works on any machine that has
the files, e.g. the public asapp/sew-d-* or facebook/wav2vec2-* snapshots.

Name map (transformers -> ssltk), applied under the model's base prefix
(`wav2vec2.`, `sew.`, `sew_d.` for the heads-carrying classes):

    feature_extractor.conv_layers.{i}.conv      encoder.frontend.layers.{i}.conv
    feature_extractor.conv_layers.{i}.layer_norm  encoder.frontend.layers.{i}.norm
    feature_projection.layer_norm / layer_norm  encoder.feature_norm
    feature_projection(.projection)             encoder.feature_proj
    masked_spec_embed                           encoder.mask_emb
    encoder.pos_conv_embed.conv                 encoder.context.pos_conv.conv
    encoder.layer_norm                          encoder.context.input_norm (post-LN) / final_norm (pre-LN)
    encoder.layers.{i}.attention.{q,k,v}_proj   encoder.context.layers.{i}.attn.qkv (fused)
    ... the full table is name_pairs(); SEW-D blocks live under encoder.encoder.layer.{i}
    quantizer.*, project_hid, project_q, lm_head  quantizer.*, project_c, project_q, ctc

    >>> ckpt = import_hf_dir("wav2vec2-base")   # doctest: +SKIP
    >>> export_hf_dir(ckpt, "out_dir")          # doctest: +SKIP
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import torch

from ssltk.config import ConfigError, to_dict
from ssltk.models.config import (ContextConfig, FrontendConfig, HeadConfig, MaskingConfig, ModelConfig,
                                 ObjectiveConfig, QuantizerConfig, Wav2Vec2Config)

MODEL_TYPES = {"wav2vec2": "wav2vec2", "sew": "sew", "sew-d": "sew_d"}
_GELU = {"gelu", "gelu_python"}

class ConversionError(ConfigError):
    pass


# --------------------------------------------------------------------------- config


def frontend_from_convs(dims, kernels, strides, norm: str, bias: bool) -> FrontendConfig:
    """A transformers conv stack as WFE-O / WFE-C (with c and l) when it is one, else as its
    explicit list of layers (frontend.type=conv)."""
    target = [(int(d), int(k), int(s)) for d, k, s in zip(dims, kernels, strides)]
    if not (len(target) == len(dims) == len(kernels) == len(strides)) or not target:
        raise ConversionError(f"conv_dim / conv_kernel / conv_stride must be lists of one length "
                              f"(got {list(dims)}, {list(kernels)}, {list(strides)})")
    for kind in ("wfe-o", "wfe-c"):
        for extra in range(4):
            cand = FrontendConfig(type=kind, c=target[0][0], l=extra, norm=norm, bias=bias)
            if [(s.out_channels, s.kernel, s.stride) for s in cand.conv_layers()] == target:
                return cand
    return FrontendConfig(type="conv", layers=tuple(target), norm=norm, bias=bias)


def config_from_hf(hf: dict) -> ModelConfig:
    """ModelConfig from a transformers config.json dict."""
    mtype = hf.get("model_type")
    if mtype not in MODEL_TYPES:
        raise ConversionError(f"model_type {mtype!r} is not supported; expected one of {list(MODEL_TYPES)}")
    for key in ("hidden_act", "feat_extract_activation"):
        if hf.get(key, "gelu") not in _GELU:
            raise ConversionError(f"{key}={hf.get(key)!r} is not supported (ssltk uses exact GELU)")
    if hf.get("add_adapter") or hf.get("adapter_attn_dim"):
        raise ConversionError("wav2vec2 adapters (add_adapter / adapter_attn_dim) are not supported")
    get = hf.get
    frontend = frontend_from_convs(get("conv_dim"), get("conv_kernel"), get("conv_stride"),
                                   get("feat_extract_norm", "group"), bool(get("conv_bias", False)))
    eps = float(get("layer_norm_eps", 1e-5))
    context = dict(
        dim=get("hidden_size"), layers=get("num_hidden_layers"), heads=get("num_attention_heads"),
        ffn_dim=get("intermediate_size"), pos_conv_kernel=get("num_conv_pos_embeddings", 128),
        pos_conv_groups=get("num_conv_pos_embedding_groups", 16), layer_norm_eps=eps,
        dropout=float(get("hidden_dropout", 0.1)), attention_dropout=float(get("attention_dropout", 0.1)),
        activation_dropout=float(get("activation_dropout", 0.0)), layerdrop=float(get("layerdrop", 0.0)),
    )
    top = dict(dropout_input=float(get("feat_proj_dropout", 0.0)), feature_norm_eps=eps)
    head = HeadConfig()
    if mtype == "wav2vec2":
        context["layer_norm_first"] = bool(get("do_stable_layer_norm", False))
        top["feature_projection"] = "always"
        top["dropout_features"] = float(get("feat_quantizer_dropout", 0.0))
    else:
        context["squeeze"] = int(get("squeeze_factor", 2))
        top["feature_projection"] = "auto"
        head = HeadConfig(type="mlp")
    if mtype == "sew-d":
        if not get("relative_attention", True) or not get("share_att_key", True):
            raise ConversionError("SEW-D without relative_attention/share_att_key is not supported")
        if get("conv_kernel_size", 0):
            raise ConversionError("SEW-D with conv_kernel_size > 0 (DeBERTa conv layer) is not supported")
        if "layer_norm" not in str(get("norm_rel_ebd", "layer_norm")):
            raise ConversionError("SEW-D norm_rel_ebd must include layer_norm")
        pos_att = get("pos_att_type", ["p2c", "c2p"])
        if isinstance(pos_att, str):
            pos_att = [p.strip() for p in pos_att.lower().split("|") if p.strip()]
        max_rel = get("max_relative_positions", -1) or -1
        context.update(attention="disentangled", position_buckets=int(get("position_buckets", -1)),
                       max_relative_positions=int(max_rel if max_rel > 0 else get("max_position_embeddings")),
                       pos_att=tuple(sorted(pos_att)))
        top["feature_norm_eps"] = float(get("feature_layer_norm_eps", 1e-5))
    masking = MaskingConfig(prob=float(get("mask_time_prob", 0.05)), length=int(get("mask_time_length", 10)),
                            min_masks=int(get("mask_time_min_masks", 2)),
                            channel_prob=float(get("mask_feature_prob", 0.0)),
                            channel_length=int(get("mask_feature_length", 10)))
    quantizer, objective = QuantizerConfig(), ObjectiveConfig()
    if mtype == "wav2vec2":
        quantizer = QuantizerConfig(groups=get("num_codevector_groups", 2), entries=get("num_codevectors_per_group", 320),
                                    dim=get("codevector_dim", 256))
        head = HeadConfig(type="linear", dim=get("proj_codevector_dim", 256))
        objective = ObjectiveConfig(num_negatives=get("num_negatives", 100),
                                    temperature=float(get("contrastive_logits_temperature", 0.1)),
                                    diversity_weight=float(get("diversity_loss_weight", 0.1)))
    return Wav2Vec2Config(frontend=frontend, context=ContextConfig(**context), quantizer=quantizer, masking=masking,
                       head=head, objective=objective, **top)


def model_type_of(cfg: ModelConfig) -> str:
    if cfg.arch != "wav2vec2":
        raise ConfigError(f"{cfg.arch} models have no transformers equivalent; use the ssltk checkpoint")
    if cfg.context.attention == "disentangled":
        return "sew-d"
    if cfg.context.squeeze > 1 or cfg.feature_projection == "auto":
        return "sew"
    return "wav2vec2"


def config_to_hf(cfg: ModelConfig, architecture: str, vocab_size: int | None = None) -> dict:
    """transformers config.json dict for `cfg` (inverse of config_from_hf)."""
    mtype = model_type_of(cfg)
    if cfg.frontend.type == "fbank":
        raise ConversionError("the filter-bank front end (FBFE) has no transformers equivalent")
    c, f = cfg.context, cfg.frontend
    specs = f.conv_layers()
    hf = {
        "model_type": mtype, "architectures": [architecture],
        "hidden_size": c.dim, "num_hidden_layers": c.layers, "num_attention_heads": c.num_heads,
        "intermediate_size": c.ffn, "hidden_act": "gelu", "feat_extract_activation": "gelu",
        "conv_dim": [s.out_channels for s in specs], "conv_kernel": [s.kernel for s in specs],
        "conv_stride": [s.stride for s in specs], "num_feat_extract_layers": len(specs),
        "feat_extract_norm": f.norm, "conv_bias": f.bias,
        "num_conv_pos_embeddings": c.pos_conv_kernel, "num_conv_pos_embedding_groups": c.pos_conv_groups,
        "layer_norm_eps": c.layer_norm_eps, "hidden_dropout": c.dropout, "attention_dropout": c.attention_dropout,
        "activation_dropout": c.activation_dropout, "layerdrop": c.layerdrop,
        "feat_proj_dropout": cfg.dropout_input, "mask_time_prob": cfg.masking.prob,
        "mask_time_length": cfg.masking.length, "mask_time_min_masks": cfg.masking.min_masks,
        "mask_feature_prob": cfg.masking.channel_prob, "mask_feature_length": cfg.masking.channel_length,
        "apply_spec_augment": True,
    }
    if mtype == "wav2vec2":
        if cfg.feature_norm_eps != c.layer_norm_eps:
            raise ConversionError("transformers Wav2Vec2 shares layer_norm_eps between the feature and "
                                  "context LayerNorms; set feature_norm_eps == context.layer_norm_eps")
        q = cfg.quantizer
        hf.update(do_stable_layer_norm=c.layer_norm_first, num_codevector_groups=q.groups,
                  num_codevectors_per_group=q.entries, codevector_dim=q.dim, proj_codevector_dim=cfg.head.dim,
                  num_negatives=cfg.objective.num_negatives, feat_quantizer_dropout=cfg.dropout_features,
                  contrastive_logits_temperature=cfg.objective.temperature,
                  diversity_loss_weight=cfg.objective.diversity_weight)
    else:
        if c.layer_norm_first:
            raise ConversionError("transformers SEW/SEW-D have no pre-LN variant")
        hf["squeeze_factor"] = c.squeeze
    if mtype == "sew":
        if cfg.feature_norm_eps != c.layer_norm_eps:
            raise ConversionError("transformers SEW shares layer_norm_eps with the feature LayerNorm")
    if mtype == "sew-d":
        hf.update(position_buckets=c.position_buckets, max_position_embeddings=c.max_relative_positions,
                  max_relative_positions=c.max_relative_positions, share_att_key=True, relative_attention=True,
                  pos_att_type=list(c.pos_att), norm_rel_ebd="layer_norm",
                  feature_layer_norm_eps=cfg.feature_norm_eps)
    if vocab_size is not None:
        hf["vocab_size"] = vocab_size
    hf["ssltk_config"] = to_dict(cfg)
    return hf


# --------------------------------------------------------------------------- weights


def name_pairs(mtype: str, pre_ln: bool) -> list[tuple[str, str]]:
    """(ssltk, transformers) parameter-name templates under the encoder / base prefix.

    '{i}' is a layer index and '{p}' is weight|bias. One table serves both directions.
    """
    sew = mtype != "wav2vec2"
    block = "encoder.encoder.layer.{i}." if mtype == "sew-d" else "encoder.layers.{i}."
    layer = ([("attn.out.{p}", "attention.output.dense.{p}"), ("attn_norm.{p}", "attention.output.LayerNorm.{p}"),
              ("ffn.fc1.{p}", "intermediate.dense.{p}"), ("ffn.fc2.{p}", "output.dense.{p}"),
              ("ffn_norm.{p}", "output.LayerNorm.{p}")] if mtype == "sew-d" else
             [("attn.out.{p}", "attention.out_proj.{p}"), ("attn_norm.{p}", "layer_norm.{p}"),
              ("ffn.fc1.{p}", "feed_forward.intermediate_dense.{p}"), ("ffn.fc2.{p}", "feed_forward.output_dense.{p}"),
              ("ffn_norm.{p}", "final_layer_norm.{p}")])
    weight_norm = "parametrizations.weight.original"
    return [
        ("frontend.layers.{i}.conv.{p}", "feature_extractor.conv_layers.{i}.conv.{p}"),
        ("frontend.layers.{i}.norm.{p}", "feature_extractor.conv_layers.{i}.layer_norm.{p}"),
        ("feature_norm.{p}", "layer_norm.{p}" if sew else "feature_projection.layer_norm.{p}"),
        ("feature_proj.{p}", "feature_projection.{p}" if sew else "feature_projection.projection.{p}"),
        ("mask_emb", "masked_spec_embed"),
        ("context.pos_conv.conv.bias", "encoder.pos_conv_embed.conv.bias"),
        (f"context.pos_conv.conv.{weight_norm}0", f"encoder.pos_conv_embed.conv.{weight_norm}0"),
        (f"context.pos_conv.conv.{weight_norm}1", f"encoder.pos_conv_embed.conv.{weight_norm}1"),
        ("context.final_norm.{p}" if pre_ln else "context.input_norm.{p}", "encoder.layer_norm.{p}"),
        ("context.upsample.proj.{p}", "encoder.upsample.projection.{p}"),
        ("context.rel_pos.embedding.weight", "encoder.encoder.rel_embeddings.weight"),
        ("context.rel_pos.norm.{p}", "encoder.encoder.LayerNorm.{p}"),
    ] + [("context.layers.{i}." + ours, block + theirs) for ours, theirs in layer]


# Pre-training and CTC parts sit outside the base model in transformers.
HEAD_PAIRS = [("quantizer.codevectors", "quantizer.codevectors"), ("quantizer.weight_proj.{p}", "quantizer.weight_proj.{p}"),
              ("project_c.{p}", "project_hid.{p}"), ("project_q.{p}", "project_q.{p}"), ("ctc.{p}", "lm_head.{p}")]
# Older transformers checkpoints store the positional conv's weight norm as weight_g / weight_v.
LEGACY_NAMES = {".weight_g": ".parametrizations.weight.original0", ".weight_v": ".parametrizations.weight.original1"}


def _regex(template: str) -> re.Pattern:
    return re.compile(re.escape(template).replace(r"\{i\}", r"(?P<i>\d+)").replace(r"\{p\}", r"(?P<p>weight|bias)"))


def _rename(state: dict[str, torch.Tensor], pairs: list[tuple[str, str]], src: int, prefix_out: str,
            unmatched: list[str]) -> dict[str, torch.Tensor]:
    compiled = [(_regex(pair[src]), pair[1 - src]) for pair in pairs]
    out = {}
    for k, v in state.items():
        for regex, target in compiled:
            if m := regex.fullmatch(k):
                out[prefix_out + target.format(**m.groupdict())] = v
                break
        else:
            unmatched.append(k)
    return out


def _qkv_names(mtype: str) -> tuple[str, str]:
    """(transformers block prefix template, q/k/v module names)."""
    if mtype == "sew-d":
        return "encoder.encoder.layer.{i}.", ("attention.self.query_proj", "attention.self.key_proj",
                                               "attention.self.value_proj")
    return "encoder.layers.{i}.", ("attention.q_proj", "attention.k_proj", "attention.v_proj")


def state_from_hf(sd: dict[str, torch.Tensor], cfg: ModelConfig, mtype: str) -> dict[str, torch.Tensor]:
    """transformers state dict -> ssltk (Wav2Vec2ForPretraining + ctc) state dict."""
    base = MODEL_TYPES[mtype] + "."
    if not any(k.startswith(base) for k in sd):
        base = ""  # a bare Wav2Vec2Model / SEWModel / SEWDModel
    for old, new in LEGACY_NAMES.items():
        sd = {k.replace(old, new) if "pos_conv_embed" in k else k: v for k, v in sd.items()}
    is_head = re.compile(r"(quantizer|project_hid|project_q|lm_head)\.").match
    heads = {k: v for k, v in sd.items() if is_head(k)}
    body = {k[len(base):] if k.startswith(base) else k: v for k, v in sd.items() if not is_head(k)}
    block, qkv = _qkv_names(mtype)
    out = {}
    for i in range(cfg.context.layers):
        for p in ("weight", "bias"):
            parts = [block.format(i=i) + f"{n}.{p}" for n in qkv]
            if all(x in body for x in parts):
                out[f"encoder.context.layers.{i}.attn.qkv.{p}"] = torch.cat([body.pop(x) for x in parts], 0)
    left: list[str] = []
    out.update(_rename(body, name_pairs(mtype, cfg.context.layer_norm_first), 1, "encoder.", left))
    out.update(_rename(heads, HEAD_PAIRS, 1, "", left))
    if left:
        raise ConversionError(f"unrecognised transformers weights: {sorted(left)[:8]}{' ...' if len(left) > 8 else ''}")
    return out


def state_to_hf(state: dict[str, torch.Tensor], cfg: ModelConfig, base: str) -> dict[str, torch.Tensor]:
    """Inverse of state_from_hf; `base` is '' (bare model) or e.g. 'wav2vec2.'."""
    mtype = model_type_of(cfg)
    block, qkv = _qkv_names(mtype)
    body, heads, out = {}, {}, {}
    for k, v in state.items():
        if m := re.fullmatch(r"encoder\.context\.layers\.(\d+)\.attn\.qkv\.(weight|bias)", k):
            for name, part in zip(qkv, v.chunk(3, 0)):
                out[base + block.format(i=m[1]) + f"{name}.{m[2]}"] = part.clone()
        elif k.startswith("encoder."):
            body[k[len("encoder."):]] = v
        else:
            heads[k] = v
    left: list[str] = []
    out.update(_rename(body, name_pairs(mtype, cfg.context.layer_norm_first), 0, base, left))
    out.update(_rename(heads, HEAD_PAIRS, 0, "", left))
    if left:
        raise ConversionError(f"no transformers name for {sorted(left)[:8]}")
    return out


# --------------------------------------------------------------------------- directories


def read_hf_weights(directory: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    for name in ("model.safetensors", "pytorch_model.bin"):
        if (directory / name).is_file():
            path = directory / name
            return load_file(str(path)) if name.endswith(".safetensors") else torch.load(
                path, map_location="cpu", weights_only=True)
    for index in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        if (directory / index).is_file():
            shards = sorted(set(json.loads((directory / index).read_text())["weight_map"].values()))
            sd = {}
            for shard in shards:
                p = directory / shard
                sd.update(load_file(str(p)) if shard.endswith(".safetensors") else torch.load(
                    p, map_location="cpu", weights_only=True))
            return sd
    raise ConversionError(f"{directory} has no model.safetensors / pytorch_model.bin (is it a save_pretrained dir?)")


def import_hf_dir(directory: str | Path) -> dict:
    """{'config': ModelConfig, 'model': state dict, 'source': ..., 'ctc': {...}} from a HF directory."""
    directory = Path(directory)
    cfg_path = directory / "config.json"
    if not cfg_path.is_file():
        raise ConversionError(f"{cfg_path} does not exist; pass the directory written by save_pretrained")
    hf = json.loads(cfg_path.read_text())
    cfg = config_from_hf(hf)
    mtype = hf["model_type"]
    state = state_from_hf(read_hf_weights(directory), cfg, mtype)
    out = {"config": cfg, "model": state,
           "source": {"format": "transformers", "model_type": mtype, "architectures": hf.get("architectures", [])}}
    if "ctc.weight" in state:
        out["ctc"] = {"vocab_size": int(state["ctc.weight"].shape[0])}
    return out


def export_hf_dir(ckpt: dict, directory: str | Path) -> str:
    """Write config.json + model.safetensors for transformers; returns the architecture name."""
    from safetensors.torch import save_file

    cfg: ModelConfig = ckpt["config"]
    state = ckpt["model"]
    mtype = model_type_of(cfg)
    if (ckpt.get("ctc") or {}).get("condition_layer"):
        raise ConfigError("a self-conditioned CTC model (finetune.condition_layer) has no transformers equivalent: "
                          "its letters read an intermediate layer's predictions; use the ssltk checkpoint")
    stem = {"wav2vec2": "Wav2Vec2", "sew": "SEW", "sew-d": "SEWD"}[mtype]
    has_ctc = "ctc.weight" in state
    has_quant = "quantizer.codevectors" in state and mtype == "wav2vec2"
    if has_ctc:
        arch, base = f"{stem}ForCTC", MODEL_TYPES[mtype] + "."
        keep = lambda k: k.startswith("encoder.") or k.startswith("ctc.")  # noqa: E731
    elif has_quant and cfg.head.type == "linear":
        arch, base = "Wav2Vec2ForPreTraining", "wav2vec2."
        keep = lambda k: not k.startswith("ctc.")  # noqa: E731
    else:  # transformers has no pre-training class for SEW/SEW-D (nor MLP heads): encoder only
        arch, base = f"{stem}Model", ""
        keep = lambda k: k.startswith("encoder.")  # noqa: E731
    state = {k: v for k, v in state.items() if keep(k)}
    hf_state = state_to_hf(state, cfg, base)
    vocab = int(state["ctc.weight"].shape[0]) if has_ctc else None
    hf_cfg = config_to_hf(cfg, arch, vocab)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(hf_cfg, indent=2))
    save_file({k: v.contiguous() for k, v in hf_state.items()}, str(directory / "model.safetensors"),
              metadata={"format": "pt"})
    return arch
