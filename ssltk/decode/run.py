"""Decoding CutSets with a CTC model: greedy or WFST, timing, hyp/ref files, LM-weight grid search.

    res = decode_cuts("exp/ft/best.pt", "data/manifests/cuts_dev.jsonl.gz", "exp/ft/decode_dev",
                      method="wfst", lang_dir="data/lang_char", graph="data/lang_char/TLG.fst",
                      lm_weights=[2.0], word_scores=[-1.0])
    # several sets and methods from one pass of the network; the LM weight chosen on dev decodes test
    res = decode_sets("exp/ft/best.pt", {"dev": DEV_CUTS, "test": TEST_CUTS},
                      {(s, m): f"exp/ft/decode_{s}_{m}" for s in ("dev", "test") for m in ("greedy", "wfst")},
                      ["greedy", "wfst"], lang_dir="data/lang_char", graph="data/lang_phone/TLG.fst",
                      wfst_lang_dir="data/lang_phone", lm_weights=[1.0, 2.0], tune_on="dev")

Writes OUT/hyp.txt and OUT/ref.txt (`utt-id WORD ...`), OUT/utt2spk, and OUT/stats.json
with the WER, the OOV rate of the references, the average forward time per utterance
(batch 1, fp32 or bf16: `dtype`) and real-time factors of the network and of the search. With several
LM weights / word scores, every pair is scored (OUT/grid.json) and hyp.txt holds the best.
"""
from __future__ import annotations

import json
import logging
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import torch

from ssltk.data.atomic import atomic_write_text
from ssltk.data.audio import SAMPLE_RATE
from ssltk.data.tokens import normalize_text

log = logging.getLogger(__name__)


def load_for_decoding(ckpt, device: str, heads: tuple[str, ...] = ("ctc",), amp: str = "none"):
    """The CTC model with the output layers `heads` ("both" when there are two), ready for `amp`."""
    from ssltk.models.ctc import load_ctc_model
    from ssltk.models.precision import cast_for_bf16_inference

    model, _ = load_ctc_model(str(ckpt), device, "both" if len(heads) > 1 else heads[0])
    if amp == "bf16":
        cast_for_bf16_inference(model)
    return model


def _posteriors(ckpt: str, cuts: list, device: str, threads: int, downmix: bool = False,
                amp: str = "none", heads: tuple[str, ...] = ("ctc",), model=None) -> tuple[dict, dict]:
    """Per-utterance CTC log-probs (T, V, fp32) of each output layer in `heads` ("ctc", "ctc_aux"),
    {head: {utt: log-probs}}, from one encoder pass per utterance, and its forward times; batch 1,
    under `amp` (none | bf16). `model`: one already loaded by load_for_decoding (else loaded here)."""
    from ssltk.data.dataset import AudioBatchDataset
    from ssltk.data.config import DataConfig
    from ssltk.models.precision import autocast

    torch.set_num_threads(threads)
    both = len(heads) > 1
    model = model if model is not None else load_for_decoding(ckpt, device, heads, amp)
    ds = AudioBatchDataset(DataConfig(min_samples=0, max_samples=10**9, resample=True, downmix=downmix), crop=False)
    out, times = {h: {} for h in heads}, {}
    with torch.inference_mode(), autocast(amp, torch.device(device)):
        for cut in cuts:
            batch = ds[[cut]]
            if batch["audio"].shape[0] == 0:
                s = batch["skipped"][0]
                raise ValueError(f"cannot decode cut {s.cut_id} ({s.source}): {s.reason}")
            wav = batch["audio"].to(device)
            start = time.perf_counter()
            logits, lens = model(wav, batch["audio_lens"].to(device), head="both" if both else heads[0])
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            times[cut.id] = (time.perf_counter() - start, wav.shape[1] / SAMPLE_RATE)
            for h, lg in zip(heads, logits if both else (logits,)):  # "both" gives (ctc, ctc_aux)
                out[h][cut.id] = torch.log_softmax(lg[0, : lens[0]].float(), -1).cpu().numpy()
    return out, times


def check_graph(symbols: tuple[list[str], dict[str, int]] | None, graph, tokens: list[str],
                words: dict[str, int], ckpt) -> None:
    """A graph must read the model's CTC tokens and write the lang dir's word ids; decoding with
    one built from another lang dir would score garbage as if it were a result."""
    if symbols is None:
        log.warning("%s has no symbol tables (built before ssltk attached them): cannot check that it was "
                    "built for this model's tokens; rebuild it with python -m ssltk.bin.compile_graph", graph)
        return
    graph_tokens, graph_words = symbols
    if graph_tokens != tokens:
        diff = next((i for i, (a, b) in enumerate(zip(graph_tokens, tokens)) if a != b), min(len(graph_tokens),
                                                                                           len(tokens)))
        raise ValueError(f"{graph} was built for other CTC tokens than {ckpt} was fine-tuned with "
                         f"({len(graph_tokens)} vs {len(tokens)} tokens, first difference at id {diff}): build the "
                         "graph from the lang dir the model was fine-tuned with (finetune.lang_dir)")
    if graph_words != words:
        raise ValueError(f"{graph} was built with another words.txt than the --lang-dir given "
                         f"({len(graph_words)} vs {len(words)} words): pass the lang dir the graph was built from")


def model_tokenizer(ckpt, lang_dir) -> tuple[object, str]:
    """(The tokenizer of the lang dir, the output layer that predicts its tokens: "ctc", or "ctc_aux"
    for a model's auxiliary token set), checked against the tokens the model was fine-tuned with (or
    the checkpoint's own token list when no lang dir is given)."""
    from ssltk.data.tokens import LetterTokenizer, load_tokenizer
    from ssltk.models.checkpoint import load_checkpoint

    state = load_checkpoint(ckpt)
    ckpt_tokens, aux_tokens = state.get("tokens"), state.get("aux_tokens")
    tokenizer = load_tokenizer(lang_dir) if lang_dir else LetterTokenizer(ckpt_tokens[1:]) if ckpt_tokens else None
    if tokenizer is None:
        raise ValueError(f"{ckpt} carries no token list: pass --lang-dir with its tokens.txt")
    if aux_tokens and list(tokenizer.symbols) == list(aux_tokens):
        return tokenizer, "ctc_aux"
    if ckpt_tokens and list(tokenizer.symbols) != list(ckpt_tokens):
        raise ValueError(f"tokens of {lang_dir} differ from those {ckpt} was fine-tuned with"
                         + (" and from its auxiliary ones" if aux_tokens else ""))
    return tokenizer, "ctc"


def posteriors(ckpt, cuts: list, device: str, nj: int, threads: int, downmix: bool,
               amp: str = "none", heads: tuple[str, ...] = ("ctc",), model=None) -> tuple[dict, dict]:
    """{head: {utt: CTC log-probs}} of every cut and the forward times, in `nj` processes (round-robin
    shards, each loading the model); heads: ("ctc",), ("ctc_aux",) or ("ctc", "ctc_aux") (one encoder
    pass for both). With nj 1, `model` (load_for_decoding) spares loading it again."""
    if nj <= 1:
        return _posteriors(str(ckpt), cuts, device, threads, downmix, amp, heads, model)
    shards = [cuts[i::nj] for i in range(nj)]
    with ProcessPoolExecutor(nj, mp_context=get_context("spawn")) as pool:
        parts = list(pool.map(_posteriors, [str(ckpt)] * nj, shards, [device] * nj, [threads] * nj, [downmix] * nj,
                              [amp] * nj, [heads] * nj))
    logp, times = {h: {} for h in heads}, {}
    for lp, tm in parts:
        for h in heads:
            logp[h].update(lp[h])
        times.update(tm)
    return logp, times


def search(logp: dict, tokenizer, decoder=None) -> tuple[dict, float]:
    """Hypotheses (greedy, or WFST with `decoder` at its current weights) and the search time."""
    from ssltk.objectives.ctc import greedy_decode

    start, hyps = time.perf_counter(), {}
    for utt, lp in logp.items():
        if decoder is None:
            hyps[utt] = tokenizer.decode(greedy_decode(torch.from_numpy(lp)[None], torch.tensor([lp.shape[0]]))[0])
        else:
            hyps[utt] = " ".join(decoder.decode(lp))
    return hyps, time.perf_counter() - start


def grid_search(logp: dict, refs: dict, tokenizer, decoder, lm_weights, word_scores) -> tuple[dict, list]:
    """Every (LM weight, word score) pair scored on refs; the best as {hyps, stats, lm_weight,
    word_score, search_s}, and the grid rows. Greedy (decoder None) is a one-point grid."""
    from ssltk.train.metrics import error_counts

    pairs = [(lw, ws) for lw in lm_weights for ws in word_scores] if decoder is not None else [(1.0, 0.0)]
    best, grid = None, []
    for lw, ws in pairs:
        if decoder is not None:
            decoder.set_weights(lw, ws)
        hyps, search_s = search(logp, tokenizer, decoder)
        stats = error_counts(refs, hyps)
        grid.append({"lm_weight": lw, "word_score": ws, "wer": stats["wer"], "search_s": search_s})
        if best is None or stats["wer"] < best["stats"]["wer"]:
            best = {"hyps": hyps, "stats": stats, "lm_weight": lw, "word_score": ws, "search_s": search_s}
    return best, grid


def oov_counts(refs: dict, lang_dir) -> tuple[int | None, int]:
    """(reference words missing from the lang dir's words.txt, or None without one; reference words)."""
    from ssltk.decode.lang import read_symbols

    words = [w for r in refs.values() for w in r.split()]
    path = Path(lang_dir) / "words.txt" if lang_dir else None
    if path is None or not path.is_file():
        return None, len(words)
    vocab = set(read_symbols(path))
    return sum(1 for w in words if w not in vocab), len(words)


def write_outputs(out_dir: Path, refs: dict, hyps: dict, spk: dict, result: dict, grid: list) -> None:
    """hyp.txt, ref.txt, utt2spk (Kaldi style), stats.json and, for a grid, grid.json; each atomic."""
    utts = sorted(refs)
    atomic_write_text(out_dir / "hyp.txt", "".join(f"{u} {hyps.get(u, '')}".rstrip() + "\n" for u in utts))
    atomic_write_text(out_dir / "ref.txt", "".join(f"{u} {refs[u]}".rstrip() + "\n" for u in utts))
    atomic_write_text(out_dir / "utt2spk", "".join(f"{u} {spk[u]}\n" for u in utts))
    if len(grid) > 1:
        atomic_write_text(out_dir / "grid.json", json.dumps(grid, indent=2) + "\n")
    atomic_write_text(out_dir / "stats.json", json.dumps(result, indent=2) + "\n")  # last: the run is complete


def _method(method: str, ckpt, lang_dir, graph, beam: float, max_active: int) -> dict:
    """One way to read the posteriors, checked against the model: {name, lang_dir, tokenizer, head
    (the output layer it reads), decoder (None for greedy)}."""
    if method not in ("greedy", "wfst"):
        raise ValueError(f"--method must be greedy or wfst, not {method!r}")
    if method == "wfst" and not (graph and lang_dir):
        raise ValueError("--method wfst needs --graph (TLG.fst or TL.fst) and --lang-dir (words.txt)")
    tokenizer, head = model_tokenizer(ckpt, lang_dir)
    if method == "greedy" and tokenizer.kind == "lexicon":
        raise ValueError(f"{lang_dir} holds a lexicon's units (phones): greedy decoding gives units, not words; "
                         "decode them with --method wfst, or greedy with a letter or BPE lang dir")
    decoder = None
    if method == "wfst":
        from ssltk.decode.wfst import WfstDecoder

        decoder = WfstDecoder(graph, Path(lang_dir) / "words.txt", beam=beam, max_active=max_active)
        check_graph(decoder.symbols, graph, list(tokenizer.symbols),
                    {w: i for i, w in decoder.id2word.items()}, ckpt)
    return {"name": method, "lang_dir": lang_dir, "tokenizer": tokenizer, "head": head, "decoder": decoder}


def _tuned_on(name: str, wfst: bool, tune_on: str | None, grid_points: int) -> str | None:
    """The set whose WER chose a WFST decode's LM weight / word score (None: given, not searched)."""
    if not wfst:
        return None
    return tune_on if tune_on is not None else name if grid_points > 1 else None


def set_name(cuts_path: str | Path) -> str:
    """A CutSet's name from its manifest: data/manifests/cuts_dev-clean.jsonl.gz -> dev-clean."""
    name = Path(cuts_path).name
    for suffix in (".gz", ".jsonl", ".json"):
        name = name.removesuffix(suffix)
    return name.removeprefix("cuts_") or name


def decode_sets(ckpt: str | Path, sets: dict[str, str | Path], out_dirs: dict[tuple[str, str], str | Path],
                methods: list[str] = ("greedy",), lang_dir: str | Path | None = None,
                graph: str | Path | None = None, wfst_lang_dir: str | Path | None = None,
                lm_weights: list[float] = (1.0,), word_scores: list[float] = (0.0,), tune_on: str | None = None,
                beam: float = 16.0, max_active: int = 7000, device: str = "cpu", nj: int = 1, threads: int = 1,
                downmix: bool = False, dtype: str = "fp32") -> dict[tuple[str, str], dict]:
    """Decode several CutSets (`sets`: name -> manifest) with several methods in one process: the model
    is loaded and every utterance goes through the network once, greedy and WFST read the same pass
    (each its output layer: greedy the letters of `lang_dir`, the WFST the tokens of `wfst_lang_dir`,
    default `lang_dir`, e.g. the phones of a second layer). Each (set, method) is written to
    out_dirs[(set, method)] as decode_cuts does. With `tune_on` (a set name) the LM weight / word
    score grid is searched on that set and its best pair decodes the others (their stats.json name
    it); without, each set gets the grid. Returns {(set, method): stats}."""
    from ssltk.data.dataset import load_cuts
    from ssltk.models.precision import log_amp

    methods = list(dict.fromkeys(methods))
    missing = [(n, m) for n in sets for m in methods if (n, m) not in out_dirs]
    if missing:
        raise ValueError(f"no output directory for {missing[0][0]} decoded with {missing[0][1]}")
    if tune_on is not None and tune_on not in sets:
        raise ValueError(f"--tune-on {tune_on}: not one of the sets decoded ({', '.join(sets)})")
    if dtype not in ("fp32", "bf16", "auto"):
        raise ValueError(f"--dtype must be fp32, bf16 or auto, not {dtype!r}")
    readers = [_method(m, ckpt, wfst_lang_dir or lang_dir if m == "wfst" else lang_dir, graph, beam, max_active)
               for m in methods]
    heads = tuple(sorted({r["head"] for r in readers}))  # ("ctc",), ("ctc_aux",) or both
    amp = log_amp({"fp32": "none"}.get(dtype, dtype), torch.device(device), key="--dtype")
    model = load_for_decoding(ckpt, device, heads, amp) if nj <= 1 else None  # once for every set
    order = sorted(sets, key=lambda n: n != tune_on)  # the tuning set first
    tuned, results = {}, {}
    for name in order:
        cuts = list(load_cuts(sets[name]))
        refs = {c.id: normalize_text(" ".join(s.text or "" for s in c.supervisions)) for c in cuts}
        spk = {c.id: (c.supervisions[0].speaker if c.supervisions and c.supervisions[0].speaker else c.id)
               for c in cuts}
        logp, times = posteriors(ckpt, cuts, device, nj, threads, downmix, amp, heads, model)
        audio_s = sum(a for _, a in times.values())
        forward_s = sum(t for t, _ in times.values())
        for r in readers:
            grid_lm, grid_ws = (lm_weights, word_scores) if r["name"] not in tuned else tuned[r["name"]]
            best, grid = grid_search(logp[r["head"]], refs, r["tokenizer"], r["decoder"], grid_lm, grid_ws)
            if name == tune_on:
                tuned[r["name"]] = ([best["lm_weight"]], [best["word_score"]])
            oov, ref_words = oov_counts(refs, r["lang_dir"])
            stats = best["stats"]
            result = {
                "set": name, "method": r["name"], "utterances": len(cuts), "wer": round(stats["wer"], 2),
                "errors": stats["errors"], "words": stats["words"], "lm_weight": best["lm_weight"],
                "word_score": best["word_score"],
                "tuned_on": _tuned_on(name, r["decoder"] is not None, tune_on, len(lm_weights) * len(word_scores)),
                "beam": beam, "oov_words": oov,
                "oov_rate": round(100 * oov / ref_words, 2) if oov is not None and ref_words else None,
                "avg_forward_s": round(forward_s / max(len(cuts), 1), 5), "forward_rtf": round(forward_s / audio_s, 5),
                "search_rtf": round(best["search_s"] / audio_s, 6), "audio_s": round(audio_s, 2), "device": device,
                "threads_per_job": threads, "nj": nj, "dtype": "bf16" if amp == "bf16" else "fp32",
                "heads_per_pass": len(heads),
            }
            write_outputs(Path(out_dirs[(name, r["name"])]), refs, best["hyps"], spk, result, grid)
            results[(name, r["name"])] = result
    return results


def decode_cuts(ckpt: str | Path, cuts_path: str | Path, out_dir: str | Path, method: str = "greedy",
                lang_dir: str | Path | None = None, graph: str | Path | None = None,
                lm_weights: list[float] = (1.0,), word_scores: list[float] = (0.0,), beam: float = 16.0,
                max_active: int = 7000, device: str = "cpu", nj: int = 1, threads: int = 1,
                downmix: bool = False, dtype: str = "fp32") -> dict:
    """Decode `cuts_path` with `ckpt` into `out_dir` (module docstring); dtype: fp32, bf16 or auto
    (bf16 where the device has it: ssltk.models.precision)."""
    name = set_name(cuts_path)
    return decode_sets(ckpt, {name: cuts_path}, {(name, method): out_dir}, [method], lang_dir, graph, None,
                       lm_weights, word_scores, None, beam, max_active, device, nj, threads, downmix,
                       dtype)[(name, method)]
