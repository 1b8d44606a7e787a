"""S3LSpeech teacher-student model: EMA math, no teacher gradient, alignment, padding."""
import math

import pytest
import torch

from ssltk.config import ConfigError
from ssltk.models.build import build_encoder, build_pretraining_model, inference_parameters
from ssltk.models.presets import PRESETS, get_preset
from ssltk.models.s3l import ema_update, momentum_at
from ssltk.objectives.teacher_student import TeacherStudentObjective
from ssltk.targets.masking import sample_negatives
from ssltk.testing import synthetic_batch
from ssltk.train.loop import param_groups


def model_and_batch(seed=0):
    torch.manual_seed(seed)
    model = build_pretraining_model(get_preset("s3l-test")).train()
    wav = torch.randn(3, 16000) * 0.1
    lens = torch.tensor([16000, 12800, 9600])
    wav[1, 12800:] = 0
    wav[2, 9600:] = 0
    return model, wav, lens


def test_ema_update_is_the_exponential_moving_average():
    torch.manual_seed(0)
    teacher, student = torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)
    t0 = [p.detach().clone() for p in teacher.parameters()]
    ema_update(teacher, student, 0.9)
    for t, t_old, s in zip(teacher.parameters(), t0, student.parameters()):
        torch.testing.assert_close(t, 0.9 * t_old + 0.1 * s, rtol=0, atol=1e-7)
    ema_update(teacher, student, 0.0)
    assert all(torch.equal(t, s) for t, s in zip(teacher.parameters(), student.parameters()))
    ema_update(teacher, torch.nn.Linear(4, 3), 1.0)
    assert all(torch.equal(t, s) for t, s in zip(teacher.parameters(), student.parameters()))


def test_momentum_schedule():
    assert momentum_at(0, 100, 0.995, 1.0) == 0.0  # the teacher starts as a copy
    assert momentum_at(50, 100, 0.995, 1.0) == pytest.approx(0.9975)
    assert momentum_at(100, 100, 0.995, 1.0) == pytest.approx(1.0)
    assert momentum_at(500, 100, 0.995, 1.0) == pytest.approx(1.0)
    assert momentum_at(1, 100, 0.995, 1.0) == pytest.approx(0.995 + 0.005 * (1 - math.cos(math.pi / 100)) / 2)
    assert momentum_at(25, 100, 0.99, 1.0, "linear") == pytest.approx(0.9925)
    assert momentum_at(25, 100, 0.99, 1.0, "constant") == 0.99


def test_teacher_gets_no_gradient_and_no_optimizer_state():
    model, wav, lens = model_and_batch()
    model.update_teacher(0.0)
    out = model(wav, lens)
    loss = TeacherStudentObjective(0.5)(out, sample_negatives(out.mask, 5)).loss
    loss.backward()
    teacher = list(model.teacher_parameters())
    assert teacher and all(p.grad is None and not p.requires_grad for p in teacher)
    assert model.encoder.stage1.layers[0].ffn.fc1.weight.grad is not None
    assert model.predictor.layers[0].conv.weight.grad is not None
    optimised = {id(p) for g in param_groups(model, 0.01) for p in g["params"]}
    assert not optimised & {id(p) for p in teacher}
    assert not out.target.requires_grad
    assert not model.teacher_encoder.training and model.encoder.training  # teacher: no dropout


def test_update_teacher_follows_the_student():
    model, _, _ = model_and_batch()
    with torch.no_grad():
        for p in model.encoder.parameters():
            p.add_(1.0)
    before = model.teacher_encoder.stage2.layers[0].ffn.fc2.weight.clone()
    student = model.encoder.stage2.layers[0].ffn.fc2.weight
    model.update_teacher(0.75)
    torch.testing.assert_close(model.teacher_encoder.stage2.layers[0].ffn.fc2.weight,
                               0.75 * before + 0.25 * student, rtol=0, atol=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_student_and_teacher_frames_align_under_random_shift(seed):
    model, wav, lens = model_and_batch(seed)
    torch.manual_seed(seed)
    out = model(wav, lens)
    assert out.pred.shape == out.target.shape
    expected = model.encoder.output_lengths(lens)
    assert out.mask.sum(1).tolist() == expected.tolist()


def test_shifted_clean_teacher_sees_the_same_frames():
    """Without augmentation and with the teacher = the student in eval mode, a zero shift makes
    target = project(student output): the loss compares like with like."""
    model, wav, lens = model_and_batch()
    model.update_teacher(0.0)
    model.eval()
    out = model(wav, lens)
    with torch.no_grad():
        st = model.encoder(wav, lens)
        ref = model.project(st.hidden)[out.mask]
    torch.testing.assert_close(out.target, ref, atol=1e-5, rtol=1e-5)


def test_encoder_padded_batch_equals_each_utterance_alone():
    model, wav, lens = model_and_batch()
    enc = model.encoder.eval()
    with torch.no_grad():
        out = enc(wav, lens)
        for i in range(3):
            alone = enc(wav[i: i + 1, : lens[i]], lens[i: i + 1])
            n = int(alone.hidden_lens[0])
            assert n == int(out.hidden_lens[i])
            torch.testing.assert_close(out.hidden[i, :n], alone.hidden[0], atol=1e-4, rtol=1e-4)


def test_augmentation_only_in_training():
    model, wav, lens = model_and_batch()
    model.eval()
    a, b = model(wav, lens), model(wav, lens)
    assert torch.equal(a.pred, b.pred) and a.shift == (0, 0)


def test_base_preset_matches_the_public_code():
    cfg = get_preset("s3l-base")
    assert (cfg.s3l.n_mels, cfg.context.layers, cfg.context.dim, cfg.context.num_heads) == (128, 4, 512, 8)
    assert cfg.s3l.num_negatives == 100 and cfg.s3l.temperature == 0.5
    assert cfg.s3l.stride == 8  # 80 ms frames
    assert 22 < inference_parameters(cfg) / 1e6 < 24
    assert type(build_encoder(get_preset("s3l-test"))).__name__ == "S3LEncoder"


def test_bad_s3l_configs_are_errors():
    with pytest.raises((ConfigError, ValueError), match="stage_layers"):
        get_preset("s3l-base", ["context.layers=6"])
    with pytest.raises((ConfigError, ValueError), match="predictor"):
        get_preset("s3l-base", ["s3l.proj_dim=128"])
    with pytest.raises(ValueError, match="no transformers equivalent"):
        from ssltk.models.hf import model_type_of
        model_type_of(get_preset("s3l-test"))


@pytest.mark.parametrize("name", [n for n in PRESETS if get_preset(n).arch == "s3l"])
def test_every_s3l_preset_trains_one_step_on_cpu(name):
    torch.manual_seed(0)
    model = build_pretraining_model(get_preset(name)).train()
    model.update_teacher(0.0)
    out = model(torch.randn(2, 16000) * 0.1, torch.tensor([16000, 12000]))
    res = TeacherStudentObjective(0.5)(out, sample_negatives(out.mask, 10))
    assert torch.isfinite(res.loss)
    res.loss.backward()
    assert model.encoder.stage2.layers[-1].ffn.fc2.weight.grad is not None


def test_augmentation_is_run_config_not_model_config():
    from ssltk.config import to_dict
    from ssltk.frontend.augment import AugmentConfig
    from ssltk.models.presets import config_from_dict
    from ssltk.train.config import load_pretrain_config

    cfg = load_pretrain_config(None, ["preset=s3l-test", "augment.noise_prob=0", "augment.shift_max=0"])
    assert cfg.augment.noise_prob == 0 and not hasattr(cfg.model.s3l, "noise_prob")
    # with nothing perturbed, the student in training sees what the teacher sees
    quiet = AugmentConfig(noise_prob=0, freq_masks=0, time_mask_ratio=0, shift_max=0)
    torch.manual_seed(0)
    model = build_pretraining_model(get_preset("s3l-test"), quiet).train()
    wav, lens = synthetic_batch([16000, 12000], seed=0)
    assert model(wav, lens).shift == (0, 0)
    # checkpoints from before the move still load: their augmentation keys are left out
    old = to_dict(get_preset("s3l-test"))
    old["s3l"].update(noise_prob=0.5, shift_max=2, freq_width=4)
    old.update(frontend={"type": "wfe-o", "c": 512}, objective={"temperature": 0.5}, feature_grad_mult=0.1)
    assert config_from_dict(old) == get_preset("s3l-test")  # and when both archs shared one config


def test_each_architecture_has_its_own_config():
    from ssltk.models.config import S3LModelConfig, Wav2Vec2Config

    s3l, w2v2 = get_preset("s3l-mini"), get_preset("sewd-mini")
    assert isinstance(s3l, S3LModelConfig) and not hasattr(s3l, "quantizer") and not hasattr(s3l, "frontend")
    assert isinstance(w2v2, Wav2Vec2Config) and not hasattr(w2v2, "s3l")
    with pytest.raises(ConfigError, match="unknown config key 'quantizer'"):
        get_preset("s3l-mini", ["quantizer.entries=8"])
