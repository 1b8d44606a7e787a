"""Decoding CLI end to end on a tiny fine-tuned model (greedy, WFST grid, parallel jobs, OOVs)."""
import json
import shutil
import subprocess
import sys

import pytest

from ssltk.bin import compile_graph, decode, prepare_lang
from ssltk.data.tokens import LetterTokenizer, write_tokens
from ssltk.testing import pretrain_overrides, write_cuts
from ssltk.train.checkpoint import latest_checkpoint
from ssltk.train.config import load_pretrain_config
from ssltk.train.finetune import finetune, load_finetune_config
from ssltk.train.pretrain import pretrain


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    d = tmp_path_factory.mktemp("dec")
    texts = ["THE CAT SAT", "A DOG RAN", "THE MAT", "A CAT"] * 3
    train = write_cuts(d, [2.2] * 12, texts=texts, name="train.jsonl.gz")
    dev = write_cuts(d, [2.2] * 3, seed=1, texts=["THE CAT SAT", "THE ZEBRA RAN", "A DOG"], name="dev.jsonl.gz")
    pretrain(load_pretrain_config(None, pretrain_overrides({"train": train}, **{"train.max_updates": 1})), d / "pt")
    (d / "lang0").mkdir()
    write_tokens(LetterTokenizer(), d / "lang0" / "tokens.txt")
    finetune(load_finetune_config(None, [f"data.train_cuts={train}", f"finetune.lang_dir={d / 'lang0'}",
                                         "train.max_updates=1", "data.num_workers=0",
                                         "train.progress_bar=false"]), d / "ft", init=latest_checkpoint(d / "pt"))
    return {"dir": d, "train": train, "dev": dev, "ckpt": latest_checkpoint(d / "ft")}


def test_greedy_and_wfst_decoding_write_kaldi_files(model, capsys):
    d = model["dir"]
    prepare_lang.main(["--cuts", str(model["train"]), "--lang-dir", str(d / "lang"), "--lm-order", "2"])
    compile_graph.main(["--lang-dir", str(d / "lang"), "--arpa", str(d / "lang" / "lm_2gram.arpa")])
    capsys.readouterr()
    decode.main(["--ckpt", str(model["ckpt"]), "--cuts", str(model["dev"]), "--method", "greedy",
                 "--out-dir", str(d / "greedy"), "--lang-dir", str(d / "lang")])
    greedy = json.loads(capsys.readouterr().out)
    assert greedy["utterances"] == 3 and greedy["oov_words"] == 1  # ZEBRA is not in words.txt
    assert greedy["avg_forward_s"] > 0 and greedy["forward_rtf"] > 0
    refs = (d / "greedy" / "ref.txt").read_text().splitlines()
    assert refs[1] == "utt1_0001-1 THE ZEBRA RAN"
    decode.main(["--ckpt", str(model["ckpt"]), "--cuts", str(model["dev"]), "--method", "wfst",
                 "--graph", str(d / "lang" / "TLG.fst"), "--lang-dir", str(d / "lang"), "--lm-weight", "1", "2",
                 "--word-score", "-1", "0", "--nj", "2", "--out-dir", str(d / "wfst")])
    wfst = json.loads(capsys.readouterr().out)
    assert wfst["nj"] == 2 and len(json.loads((d / "wfst" / "grid.json").read_text())) == 4
    assert len((d / "wfst" / "hyp.txt").read_text().splitlines()) == 3
    out = subprocess.run(["bash", "utils/score.sh", str(d / "wfst" / "ref.txt"), str(d / "wfst" / "hyp.txt"),
                          str(d / "wfst" / "scoring")], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("%WER")


def test_bf16_decoding_runs_under_autocast_or_says_it_fell_back(model, capsys, caplog):
    from ssltk.models.precision import cpu_bf16_flags

    decode.main(["--ckpt", str(model["ckpt"]), "--cuts", str(model["dev"]), "--method", "greedy", "--dtype", "bf16",
                 "--out-dir", str(model["dir"] / "greedy_bf16")])
    res = json.loads(capsys.readouterr().out)
    assert res["utterances"] == 3 and res["dtype"] == ("bf16" if cpu_bf16_flags() else "fp32")
    if not cpu_bf16_flags():
        assert "running fp32" in caplog.text


def test_decode_errors_name_the_fix(model, tmp_path):
    with pytest.raises(SystemExit, match="needs --graph"):
        decode.main(["--ckpt", str(model["ckpt"]), "--cuts", str(model["dev"]), "--method", "wfst",
                     "--out-dir", str(tmp_path)])
    pt = latest_checkpoint(model["dir"] / "pt")
    with pytest.raises(SystemExit, match="no CTC output layer"):
        decode.main(["--ckpt", str(pt), "--cuts", str(model["dev"]), "--out-dir", str(tmp_path),
                     "--lang-dir", str(model["dir"] / "lang0")])
    proc = subprocess.run([sys.executable, "-m", "ssltk.bin.compile_graph", "--lang-dir", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "prepare_lang" in proc.stderr


def test_a_graph_from_another_lang_dir_is_refused(model, tmp_path, capsys):
    """A BPE graph with a letter model (or a graph with another words.txt) decodes garbage: it must
    stop with the reason instead of reporting a WER."""
    text = tmp_path / "text.txt"
    text.write_text("THE CAT SAT\nA DOG RAN\nTHE MAT\nA CAT\nTHE DOG SAT ON A MAT\n" * 20)
    prepare_lang.main(["--text", str(text), "--lang-dir", str(tmp_path / "bpe"), "--tokens", "bpe",
                       "--bpe-size", "20", "--lm-order", "2"])
    compile_graph.main(["--lang-dir", str(tmp_path / "bpe"), "--arpa", str(tmp_path / "bpe" / "lm_2gram.arpa")])
    prepare_lang.main(["--text", str(text), "--lang-dir", str(tmp_path / "char"), "--lm-order", "2"])
    compile_graph.main(["--lang-dir", str(tmp_path / "char"), "--arpa", str(tmp_path / "char" / "lm_2gram.arpa")])
    capsys.readouterr()
    common = ["--ckpt", str(model["ckpt"]), "--cuts", str(model["dev"]), "--method", "wfst",
              "--out-dir", str(tmp_path / "out")]
    with pytest.raises(SystemExit, match=r"bpe/TLG.fst was built for other CTC tokens than .* fine-tuned with"):
        decode.main([*common, "--graph", str(tmp_path / "bpe" / "TLG.fst"), "--lang-dir", str(tmp_path / "char")])
    shutil.copytree(tmp_path / "char", tmp_path / "other")
    (tmp_path / "other" / "words.txt").write_text("<eps> 0\nA 1\nCAT 2\n")
    with pytest.raises(SystemExit, match=r"char/TLG.fst was built with another words.txt than the --lang-dir"):
        decode.main([*common, "--graph", str(tmp_path / "char" / "TLG.fst"), "--lang-dir", str(tmp_path / "other")])
    assert not (tmp_path / "out" / "stats.json").exists()
    decode.main([*common, "--graph", str(tmp_path / "char" / "TLG.fst"), "--lang-dir", str(tmp_path / "char")])
    assert json.loads(capsys.readouterr().out)["utterances"] == 3


def test_multichannel_audio_is_refused_unless_downmixing(model, tmp_path, capsys):
    from lhotse import CutSet, Recording, RecordingSet, SupervisionSegment, SupervisionSet

    from ssltk.testing import write_wav

    rec = Recording.from_file(write_wav(tmp_path / "st.flac", seconds=2.0, channels=2), recording_id="st")
    sup = SupervisionSegment(id="st", recording_id="st", start=0.0, duration=2.0, text="A CAT", channel=[0, 1])
    cuts = tmp_path / "st.jsonl.gz"
    CutSet.from_manifests(recordings=RecordingSet.from_recordings([rec]),
                          supervisions=SupervisionSet.from_segments([sup])).to_file(cuts)
    args = ["--ckpt", str(model["ckpt"]), "--cuts", str(cuts), "--out-dir", str(tmp_path / "out"),
            "--lang-dir", str(model["dir"] / "lang0")]
    with pytest.raises(SystemExit, match=r"2 channels.*--downmix"):
        decode.main(args)
    capsys.readouterr()
    decode.main([*args, "--downmix"])
    assert json.loads(capsys.readouterr().out)["utterances"] == 1


@pytest.fixture(scope="module")
def two_heads(model, tmp_path_factory):
    """The tiny model fine-tuned with a letter layer and, beside it, a phone layer over a lexicon."""
    from ssltk.data.tokens import LexiconTokenizer
    from ssltk.decode.lang import prepare_lang as make_lang

    tmp_path = tmp_path_factory.mktemp("heads")
    lexicon = {"THE": ["D", "@"], "CAT": ["k", "a", "t"], "SAT": ["s", "a", "t"], "A": ["@"], "DOG": ["d", "0", "g"],
               "RAN": ["r", "a", "n"], "MAT": ["m", "a", "t"]}
    texts = ["THE CAT SAT", "A DOG RAN", "THE MAT", "A CAT"] * 3
    make_lang(tmp_path / "phones", texts, LexiconTokenizer(lexicon))
    compile_graph.main(["--lang-dir", str(tmp_path / "phones"), "--arpa",
                        str(prepare_lang_arpa(texts, tmp_path / "phones"))])
    d = model["dir"]
    cfg = load_finetune_config(None, [f"data.train_cuts={model['train']}", f"data.valid_cuts={model['train']}",
                                      f"finetune.lang_dir={d / 'lang0'}", f"finetune.aux_lang_dir={tmp_path / 'phones'}",
                                      "train.max_updates=2", "train.valid_every=2", "data.num_workers=0",
                                      "train.progress_bar=false"])
    finetune(cfg, tmp_path / "ft", init=latest_checkpoint(d / "pt"))
    return {"dir": tmp_path, "ckpt": tmp_path / "ft" / "best.pt", "phones": tmp_path / "phones"}


def test_a_phone_head_beside_letters_trains_and_decodes_through_its_lexicon(model, two_heads, tmp_path, capsys):
    from ssltk.models.checkpoint import load_checkpoint

    best = load_checkpoint(two_heads["ckpt"])
    assert best["aux_tokens"][1:4] == ["0", "@", "D"] and best["model"]["ctc_aux.weight"].shape[0] == 13
    assert "aux_error_rate" in best["best_valid"] and "loss_aux" in best["best_valid"]
    capsys.readouterr()
    decode.main(["--ckpt", str(two_heads["ckpt"]), "--cuts", str(model["dev"]), "--method", "wfst",
                 "--graph", str(two_heads["phones"] / "TLG.fst"), "--lang-dir", str(two_heads["phones"]),
                 "--out-dir", str(tmp_path / "wfst")])
    assert json.loads(capsys.readouterr().out)["utterances"] == 3  # the phone layer read by the phone graph
    with pytest.raises(SystemExit, match="greedy decoding gives units, not words"):
        decode.main(["--ckpt", str(two_heads["ckpt"]), "--cuts", str(model["dev"]), "--method", "greedy",
                     "--lang-dir", str(two_heads["phones"]), "--out-dir", str(tmp_path / "greedy")])


def test_several_sets_and_both_methods_from_one_pass_equal_separate_decodes(model, two_heads, tmp_path, capsys):
    """One process decodes dev and test greedy (letter layer) and with the WFST (phone layer): the same
    hypotheses as four separate decodes, and test is decoded with the LM weight / word score dev picked."""
    ckpt, phones, lang0 = str(two_heads["ckpt"]), str(two_heads["phones"]), str(model["dir"] / "lang0")
    sets = {"dev": str(model["dev"]), "test": str(model["train"])}
    wfst = ["--graph", f"{phones}/TLG.fst", "--beam", "8"]
    capsys.readouterr()
    decode.main(["--ckpt", ckpt, "--cuts", *(f"{k}={v}" for k, v in sets.items()), "--method", "greedy", "wfst",
                 "--lang-dir", lang0, "--wfst-lang-dir", phones, *wfst, "--lm-weight", "0.5", "2",
                 "--word-score", "-1", "1", "--tune-on", "dev", "--out-dir", str(tmp_path / "one" / "{set}_{method}")])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [(x["set"], x["method"]) for x in lines] == [("dev", "greedy"), ("dev", "wfst"), ("test", "greedy"),
                                                         ("test", "wfst")]
    dev, test = lines[1], lines[3]
    assert dev["tuned_on"] == test["tuned_on"] == "dev" and lines[0]["tuned_on"] is None
    assert dev["heads_per_pass"] == 2  # the letter and phone layers read one encoder pass
    assert (test["lm_weight"], test["word_score"]) == (dev["lm_weight"], dev["word_score"])
    assert (tmp_path / "one" / "dev_wfst" / "grid.json").exists() and not (tmp_path / "one" / "test_wfst" / "grid.json").exists()
    for name, cuts in sets.items():
        decode.main(["--ckpt", ckpt, "--cuts", cuts, "--method", "greedy", "--lang-dir", lang0,
                     "--out-dir", str(tmp_path / "apart" / f"{name}_greedy")])
        decode.main(["--ckpt", ckpt, "--cuts", cuts, "--method", "wfst", "--lang-dir", phones, *wfst,
                     "--lm-weight", str(dev["lm_weight"]), "--word-score", str(dev["word_score"]),
                     "--out-dir", str(tmp_path / "apart" / f"{name}_wfst")])
        for m in ("greedy", "wfst"):
            one, apart = tmp_path / "one" / f"{name}_{m}", tmp_path / "apart" / f"{name}_{m}"
            assert (one / "hyp.txt").read_text() == (apart / "hyp.txt").read_text()
            assert (one / "ref.txt").read_text() == (apart / "ref.txt").read_text()


def test_several_sets_need_an_output_pattern_and_a_known_tuning_set(model, tmp_path):
    base = ["--ckpt", str(model["ckpt"]), "--lang-dir", str(model["dir"] / "lang0")]
    with pytest.raises(SystemExit, match=r"must contain \{set\} to decode several sets \(dev, test\)"):
        decode.main([*base, "--cuts", f"dev={model['dev']}", f"test={model['train']}", "--out-dir", str(tmp_path)])
    with pytest.raises(SystemExit, match=r"must contain \{method\}"):
        decode.main([*base, "--cuts", str(model["dev"]), "--method", "greedy", "wfst", "--out-dir", str(tmp_path)])
    with pytest.raises(SystemExit, match="only {set} and {method}"):
        decode.main([*base, "--cuts", str(model["dev"]), "--out-dir", str(tmp_path / "{sets}")])
    with pytest.raises(SystemExit, match="two sets named 'dev'"):
        decode.main([*base, "--cuts", f"dev={model['dev']}", f"dev={model['train']}", "--out-dir", str(tmp_path / "{set}")])
    with pytest.raises(SystemExit, match=r"--tune-on test: not one of the sets decoded \(dev\)"):
        decode.main([*base, "--cuts", str(model["dev"]), "--tune-on", "test", "--out-dir", str(tmp_path)])


def prepare_lang_arpa(texts, lang_dir):
    from ssltk.decode.ngram import train_arpa

    return train_arpa(texts, 2, lang_dir / "lm.arpa")
