"""The wav2vec 2.0 composition: masking, gradient scaling of the feature encoder, what the heads see."""
import torch

from ssltk.models.presets import get_preset
from ssltk.models.wav2vec2 import build_encoder, build_pretraining_model
from ssltk.testing import synthetic_batch


def model_and_batch(preset="w2v2-test", *overrides):
    torch.manual_seed(0)
    model = build_pretraining_model(get_preset(preset, list(overrides)))
    wav, lens = synthetic_batch([16000, 12000], seed=0)
    return model, wav, lens


def test_masked_frames_get_the_mask_embedding_and_padding_is_never_masked():
    model, wav, lens = model_and_batch()
    model.eval()
    frames = model.encoder.output_lengths(lens)
    out = model(wav, lens, generator=torch.Generator().manual_seed(0))
    t = out.mask.shape[1]
    assert out.mask.shape == (2, int(frames.max())) and not out.mask[1, int(frames[1]):].any()
    assert out.c.shape[0] == out.q.shape[0] == int(out.mask.sum()) > 0
    # the context network's input at masked frames is the learnt mask embedding, nothing of the audio
    seen = {}
    hook = model.encoder.context.register_forward_pre_hook(lambda m, args: seen.setdefault("x", args[0]))
    model.encoder(wav, lens, mask=out.mask)
    hook.remove()
    assert torch.equal(seen["x"][out.mask], model.encoder.mask_emb.expand(int(out.mask.sum()), -1))
    assert not torch.equal(seen["x"][~out.mask][:1], model.encoder.mask_emb[None])
    assert t == seen["x"].shape[1]


def test_targets_are_quantized_unmasked_features():
    """q comes from the feature encoder's output at the masked frames, before masking replaced them:
    changing the mask embedding changes c but not q."""
    model, wav, lens = model_and_batch("w2v2-test", "dropout_features=0")
    model.eval()
    mask = model(wav, lens, generator=torch.Generator().manual_seed(1)).mask
    a = model(wav, lens, mask=mask)
    with torch.no_grad():
        model.encoder.mask_emb.add_(1.0)
    b = model(wav, lens, mask=mask)
    torch.testing.assert_close(a.q, b.q)
    assert not torch.allclose(a.c, b.c)


def test_feature_grad_mult_scales_the_feature_encoders_gradient():
    grads = {}
    for mult in (1.0, 0.1):
        torch.manual_seed(0)
        enc = build_encoder(get_preset("w2v2-test", [f"feature_grad_mult={mult}", "dropout_input=0",
                                                     "context.dropout=0", "context.layerdrop=0"])).train()
        wav, lens = synthetic_batch([16000], seed=0)
        enc(wav, lens).hidden.sum().backward()
        grads[mult] = next(enc.frontend.parameters()).grad.clone()
    torch.testing.assert_close(grads[0.1], grads[1.0] * 0.1)
    torch.manual_seed(0)
    frozen = build_encoder(get_preset("w2v2-test", ["feature_grad_mult=0"])).train()
    frozen(*synthetic_batch([16000], seed=0)).hidden.sum().backward()
    assert all(p.grad is None for p in frozen.frontend.parameters())
