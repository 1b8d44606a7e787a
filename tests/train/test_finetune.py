import random

import pytest
import torch

from ssltk.config import ConfigError
from ssltk.data.tokens import LetterTokenizer, write_tokens
from ssltk.models.checkpoint import load_checkpoint
from ssltk.models.hf import export_hf_dir
from ssltk.testing import pretrain_overrides, write_cuts
from ssltk.train.checkpoint import latest_checkpoint, list_checkpoints, load_latest
from ssltk.train.config import load_pretrain_config
from ssltk.train.finetune import CTCTask, finetune, load_finetune_config, warn_blank_phase
from ssltk.train.metrics import read_metrics
from ssltk.train.pretrain import pretrain

WORDS = "HELLO WORLD THIS IS A TEST OF THE TINY CORPUS".split()


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    d = tmp_path_factory.mktemp("labelled")
    r = random.Random(0)
    texts = [" ".join(r.choice(WORDS) for _ in range(3)) for _ in range(24)]
    train = write_cuts(d, [r.uniform(2.1, 3.5) for _ in range(24)], texts=texts, name="train.jsonl.gz")
    dev = write_cuts(d, [2.5] * 4, seed=1, texts=texts[:4], name="dev.jsonl.gz")
    pretrain(load_pretrain_config(None, pretrain_overrides({"train": train}, **{"train.max_updates": 2})), d / "pt")
    (d / "lang").mkdir()
    write_tokens(LetterTokenizer(), d / "lang" / "tokens.txt")
    return {"dir": d, "train": train, "dev": dev, "init": latest_checkpoint(d / "pt"), "lang": d / "lang"}


def overrides(lab, **kw):
    args = {"data.train_cuts": lab["train"], "data.valid_cuts": lab["dev"], "finetune.lang_dir": lab["lang"],
            "train.max_updates": 4, "train.valid_every": 2, "train.checkpoint_every": 2, "train.log_every": 2,
            "data.max_duration": 10, "data.num_workers": 0, "schedule.type": "constant", "optim.lr": 1e-3,
            "train.progress_bar": "false"}
    args.update(kw)
    return [f"{k}={v}" for k, v in args.items()]


def test_finetune_selects_best_by_wer_and_exports_to_transformers(labelled, tmp_path):
    finetune(load_finetune_config(None, overrides(labelled)), tmp_path, init=labelled["init"])
    best = load_checkpoint(tmp_path / "best.pt")
    assert best["tokens"][:3] == ["<blk>", "|", "A"] and best["ctc"]["vocab_size"] == 29
    assert "wer" in best["best_valid"] and best["config"].masking.channel_prob == 0.5
    assert best["model"]["ctc.weight"].shape == (29, 32)
    assert export_hf_dir(best, tmp_path / "hf") == "SEWDForCTC"


def test_context_network_is_frozen_for_the_first_updates(labelled, tmp_path):
    finetune(load_finetune_config(None, overrides(labelled, **{"finetune.freeze_updates": 2,
                                                                "train.checkpoint_every": 1})),
             tmp_path, init=labelled["init"])
    init = load_checkpoint(labelled["init"])["model"]
    ckpts = {u: load_checkpoint(p)["model"] for u, p in list_checkpoints(tmp_path)}
    key = "encoder.context.layers.0.ffn.fc1.weight"
    assert torch.equal(ckpts[2][key], init[key]), "frozen during updates 0-1"
    assert not torch.equal(ckpts[4][key], init[key]), "trained afterwards"
    assert not torch.equal(ckpts[1]["ctc.weight"], ckpts[2]["ctc.weight"]), "the output layer trains throughout"
    fe = "encoder.frontend.layers.1.conv.weight"
    assert torch.equal(ckpts[4][fe], init[fe]), "the feature encoder stays frozen"


def test_a_self_conditioned_intermediate_layer_is_saved_and_loaded_for_decoding(labelled, tmp_path):
    """finetune.aux_layer / condition_layer (intermediate, self-conditioned CTC): the checkpoint says where the
    auxiliary layer sits, and load_ctc_model rebuilds it, also for the letters alone (they read it)."""
    from ssltk.models.ctc import load_ctc_model

    aux = tmp_path / "aux"
    aux.mkdir()
    write_tokens(LetterTokenizer(), aux / "tokens.txt")
    sc = {"finetune.aux_lang_dir": aux, "finetune.condition_layer": 1}  # phones decoded on top, read at block 1
    finetune(load_finetune_config(None, overrides(labelled, **sc)), tmp_path / "exp", init=labelled["init"])
    best = load_checkpoint(tmp_path / "exp" / "best.pt")
    assert best["ctc"]["aux_layer"] == 0 and best["ctc"]["condition_layer"] == 1 and "aux_cond.weight" in best["model"]
    assert "loss_aux" in best["best_valid"]
    wav, lens = torch.randn(1, 24000), torch.tensor([24000])
    both, _ = load_ctc_model(tmp_path / "exp" / "best.pt", head="both")
    letters, tokens = load_ctc_model(tmp_path / "exp" / "best.pt")
    phones, aux_tokens = load_ctc_model(tmp_path / "exp" / "best.pt", head="ctc_aux")
    with torch.no_grad():
        (want_letters, want_phones), _ = both(wav, lens, head="both")
        assert torch.equal(letters(wav, lens)[0], want_letters) and tokens == best["tokens"]
        assert torch.equal(phones(wav, lens, head="ctc_aux")[0], want_phones) and aux_tokens == best["aux_tokens"]
    with pytest.raises(ConfigError, match="no transformers equivalent"):
        export_hf_dir(best, tmp_path / "hf")
    for bad, match in [({"finetune.condition_layer": 1}, "aux_lang_dir"),
                       ({"finetune.aux_lang_dir": aux, "finetune.condition_layer": 2}, "condition_layer=2: .* 1 .. 1"),
                       ({"finetune.aux_lang_dir": aux, "finetune.aux_layer": 2}, "aux_layer=2: .* 1 .. 1")]:
        with pytest.raises(ConfigError, match=match):
            finetune(load_finetune_config(None, overrides(labelled, **bad)), tmp_path / "bad", init=labelled["init"])


def test_missing_lang_dir_or_init_is_a_clear_error(labelled, tmp_path):
    with pytest.raises(ConfigError, match="--init"):
        finetune(load_finetune_config(None, overrides(labelled)), tmp_path)
    cfg = load_finetune_config(None, overrides(labelled, **{"finetune.lang_dir": ""}))
    with pytest.raises(ConfigError, match="prepare_lang"):
        finetune(cfg, tmp_path, init=labelled["init"])


def test_reinit_layers_starts_only_the_top_layers_fresh(labelled, tmp_path):
    cfg = load_finetune_config(None, overrides(labelled, **{"finetune.reinit_layers": 1, "optim.lr": 1e-9,
                                                            "train.max_updates": 1, "train.checkpoint_every": 1}))
    finetune(cfg, tmp_path, init=labelled["init"])
    init = load_checkpoint(labelled["init"])["model"]
    ft = load_checkpoint(latest_checkpoint(tmp_path))["model"]
    top = max(int(k.split(".")[3]) for k in init if k.startswith("encoder.context.layers."))
    same = lambda k: torch.allclose(ft[k], init[k], atol=1e-6)  # noqa: E731
    assert same(f"encoder.context.layers.{top - 1}.ffn.fc1.weight"), "lower layers are pre-trained"
    assert not same(f"encoder.context.layers.{top}.ffn.fc1.weight"), "the top layer starts fresh"
    with pytest.raises(ConfigError, match="reinit_layers=99"):
        finetune(load_finetune_config(None, overrides(labelled, **{"finetune.reinit_layers": 99})),
                 tmp_path / "bad", init=labelled["init"])


def test_encoder_lr_scale_gives_the_pretrained_encoder_a_smaller_step(labelled, tmp_path):
    cfg = load_finetune_config(None, overrides(labelled, **{
        "finetune.encoder_lr_scale": 0.1, "finetune.reinit_layers": 1, "train.max_updates": 1,
        "train.checkpoint_every": 1}))
    finetune(cfg, tmp_path, init=labelled["init"])
    groups = load_latest(tmp_path)["optimizer"]["param_groups"]
    lrs = {g["lr_scale"]: g["lr"] for g in groups}
    assert set(lrs) == {1.0, 0.1} and lrs[0.1] == pytest.approx(0.1 * lrs[1.0])
    # the CTC layer and the re-initialised top layer train at the full LR, the rest of the encoder at 0.1
    full = sum(len(g["params"]) for g in groups if g["lr_scale"] == 1.0)
    assert full > 2 and sum(len(g["params"]) for g in groups if g["lr_scale"] == 0.1) > full
    with pytest.raises(ConfigError, match="encoder_lr_scale=0"):
        finetune(load_finetune_config(None, overrides(labelled, **{"finetune.encoder_lr_scale": 0})),
                 tmp_path / "bad", init=labelled["init"])


def test_model_changes_are_model_keys_merged_into_the_defaults():
    from ssltk.models.presets import get_preset
    from ssltk.train.finetune import finetune_model_config, load_finetune_config

    cfg = load_finetune_config(None, ["model.masking.prob=0.3", "model.context.layerdrop=0"])
    model = finetune_model_config(get_preset("w2v2-test"), cfg)
    assert model.masking.prob == 0.3 and model.masking.channel_prob == 0.5  # the other defaults stay
    assert model.context.layerdrop == 0.0 and model.context.activation_dropout == 0.1
    assert model.feature_grad_mult == 0.0 and model.dropout_input == 0.0
    with pytest.raises(ConfigError, match="unknown config key 'model.masking.probb'"):
        load_finetune_config(None, ["model.masking.probb=0.3"])
    # architecture-specific changes are checked against the pre-trained config, not an arch's defaults
    s3l = finetune_model_config(get_preset("s3l-test"), load_finetune_config(None, ["model.s3l.ctc_upsample=2"]))
    assert s3l.s3l.ctc_upsample == 2
    with pytest.raises(ConfigError, match="must equal context.dim"):
        finetune_model_config(get_preset("s3l-test"), load_finetune_config(None, ["model.s3l.conv2=[[8,3,2]]"]))


def test_validation_reports_empty_hypotheses(labelled, tmp_path):
    finetune(load_finetune_config(None, overrides(labelled)), tmp_path, init=labelled["init"])
    valid = [r for r in read_metrics(tmp_path) if r["split"] == "valid"]
    assert valid and all(0.0 <= r["empty_hyps"] <= 100.0 for r in valid)


def test_a_run_that_ends_in_the_blank_only_phase_says_so(caplog):
    cfg = load_finetune_config(None, [])
    with caplog.at_level("WARNING", logger="ssltk.train"):
        warn_blank_phase({"empty_hyps": 100.0, "wer": 100.0}, cfg)
    assert "blank-only phase" in caplog.text and "optim.lr" in caplog.text and "schedule.phase_ratio" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="ssltk.train"):
        warn_blank_phase({"empty_hyps": 20.0, "wer": 60.0}, cfg)
        warn_blank_phase({}, cfg)  # resumed after the last update: nothing validated
    assert "blank-only" not in caplog.text


def test_best_checkpoint_can_follow_the_auxiliary_layer(labelled, tmp_path):
    """A phone WFST reads the auxiliary layer: best.pt then follows its dev unit error rate, not the letters'."""
    aux = tmp_path / "aux"
    aux.mkdir()
    write_tokens(LetterTokenizer(), aux / "tokens.txt")
    cfg = load_finetune_config(None, overrides(labelled, **{"finetune.aux_lang_dir": aux,
                                                            "finetune.best_metric": "aux_error_rate"}))
    finetune(cfg, tmp_path / "exp", init=labelled["init"])
    valid = [r for r in read_metrics(tmp_path / "exp") if r.get("split") == "valid"]
    best = load_checkpoint(tmp_path / "exp" / "best.pt")["best_valid"]
    assert best["aux_error_rate"] == pytest.approx(min(r["aux_error_rate"] for r in valid), abs=1e-4)
    # a dev set the auxiliary lexicon cannot spell has no aux_error_rate: best.pt follows the WER then
    task = CTCTask(cfg, LetterTokenizer(), LetterTokenizer())
    assert task.is_better({"wer": 90.0}, None) and task.is_better({"wer": 80.0}, {"wer": 90.0, "update": 2})
    assert not task.is_better({"wer": 95.0}, {"wer": 90.0, "update": 2})
    with pytest.raises(ConfigError, match="aux_lang_dir"):
        finetune(load_finetune_config(None, overrides(labelled, **{"finetune.best_metric": "aux_error_rate"})),
                 tmp_path / "x", init=labelled["init"])
    with pytest.raises(ConfigError, match="one of wer, aux_error_rate"):
        finetune(load_finetune_config(None, overrides(labelled, **{"finetune.best_metric": "loss"})),
                 tmp_path / "y", init=labelled["init"])
