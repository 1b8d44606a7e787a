"""Decoding graphs with kaldifst (k2-fsa's OpenFst bindings): T, L, G, TLG and T o L.

Label spaces (shared with kaldi-decoder's DecodableCtc, which scores input label
i with log-prob column i - 1):
    T: input = CTC token id + 1 (0 is epsilon), output = token id (blank -> epsilon)
    L: input = token ids and #n disambiguation symbols, output = word ids
    G: words -> words, back-off arcs carry #0 on the input (kaldilm arpa2fst)
Build order (as Kaldi builds HCLG): LG = det*(L o G) -> minimize_encoded; TLG = det(T o LG) with
self-loops of the disambiguation symbols on every state of T, so homophones (a phone lexicon's
WRITE / RIGHT) stay distinct through determinization -> minimize_encoded -> disambiguation symbols
to epsilon -> rmepsilon -> arcsort.
The written graph carries its symbol tables (input: <eps> + the CTC tokens, output: words),
so decoding can refuse a graph built from another lang dir (`graph_symbols`).

    compile_graph("data/lang_char", "data/lang_char/G_2gram.arpa")   # -> TLG.fst
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path

from ssltk.data.atomic import atomic_write
from ssltk.data.tokens import is_disambig
from ssltk.decode.lang import read_symbols


class GraphError(RuntimeError):
    pass


def _compile(lines: list[str], acceptor: bool = False):
    import kaldifst

    return kaldifst.compile(s="\n".join(lines) + "\n", acceptor=acceptor)


def ctc_topology(num_tokens: int, compact: bool = False, disambig: list[int] = ()):
    """T for tokens 0..num_tokens-1 (0 = blank).

    standard: a state per token; a token is emitted on entering its state, repeats of
    the same token collapse unless a blank separates them (O(V^2) arcs).
    compact: tokens return to the blank state through an epsilon (O(V) arcs); a
    repeated token may then also be read as two tokens (k2's "modified" topology).
    disambig: token ids of #n symbols, passed through by a self-loop on every state (input id + 1)."""
    lines, v = [], num_tokens
    lines.extend(f"{s} {s} {d + 1} {d}" for s in range(v) for d in disambig)
    lines.append("0 0 1 0")  # blank loop
    for t in range(1, v):
        lines.append(f"0 {t} {t + 1} {t}")
        lines.append(f"{t} {t} {t + 1} 0")  # repeats
        if compact:
            lines.append(f"{t} 0 0 0")
        else:
            lines.append(f"{t} 0 1 0")  # blank
            lines.extend(f"{t} {u} {u + 1} {u}" for u in range(1, v) if u != t)
    lines.extend(f"{s}" for s in range(v))  # every state is final
    return _compile(lines)


def lexicon_fst(lang_dir: Path, with_disambig: bool = True):
    """L: token sequences (with disambiguation) -> words, looping; #0:#0 self-loop for G's back-off."""
    tokens = read_symbols(lang_dir / "tokens.txt")
    words = read_symbols(lang_dir / "words.txt")
    lex_path = lang_dir / ("lexicon_disambig.txt" if with_disambig else "lexicon.txt")
    lines, next_state = [], 1
    for n, line in enumerate(lex_path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        word, pron = parts[0], parts[1:]
        if word not in words:
            raise GraphError(f"{lex_path}:{n}: word {word!r} is not in words.txt")
        missing = [p for p in pron if p not in tokens]
        if missing:
            raise GraphError(f"{lex_path}:{n}: tokens {missing} of {word!r} are not in tokens.txt")
        src = 0
        for i, p in enumerate(pron):
            dst = 0 if i == len(pron) - 1 else next_state
            if dst:
                next_state += 1
            lines.append(f"{src} {dst} {tokens[p]} {words[word] if i == 0 else 0}")
            src = dst
    if with_disambig:
        lines.append(f"0 0 {tokens['#0']} {words['#0']}")
    lines.append("0")
    return _compile(lines)


def _relabel(fst, ilabels: dict[int, int] | None = None, olabels: dict[int, int] | None = None):
    """Map input / output labels (e.g. disambiguation symbols to 0) via the text form."""
    out = []
    for line in fst.to_str(show_weight_one=True).splitlines():
        p = line.split()
        if len(p) >= 4:
            p[2] = str((ilabels or {}).get(int(p[2]), int(p[2])))
            p[3] = str((olabels or {}).get(int(p[3]), int(p[3])))
        out.append(" ".join(p))
    return _compile(out)


def grammar_fst(lang_dir: Path, arpa: Path):
    import kaldifst
    import kaldilm

    arpa = Path(arpa)
    if not arpa.is_file():
        raise GraphError(f"ARPA file {arpa} does not exist; train one with python -m ssltk.bin.prepare_lang "
                         "--lm-order N or pass the corpus' LM")
    with _kaldilm_warnings_only():
        text = kaldilm.arpa2fst(str(arpa), "", disambig_symbol="#0", read_symbol_table=str(lang_dir / "words.txt"))
    return kaldifst.compile(s=text, acceptor=False)


@contextlib.contextmanager
def _kaldilm_warnings_only():
    """kaldilm's C++ logs every ARPA section to fd 2 as `<source location>` + `[I] ...` line pairs;
    pass on its warnings and errors only, so recipes need not throw stderr away."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode(errors="replace").splitlines()
            kept = [loc + "\n" + msg for loc, msg in zip([""] + lines, lines)
                    if msg.startswith(("[W]", "[E]", "[F]"))]
            kept += [line for line in lines if not line.startswith("[") and "::" not in line and line.strip()]
            if kept:
                sys.stderr.write("\n".join(kept) + "\n")


def compose_lg(lang_dir: Path, arpa: Path):
    import kaldifst

    L = lexicon_fst(lang_dir)
    G = grammar_fst(lang_dir, arpa)
    kaldifst.arcsort(L, sort_type="olabel")
    kaldifst.arcsort(G, sort_type="ilabel")
    LG = kaldifst.compose(L, G)
    kaldifst.determinize_star(LG)
    kaldifst.minimize_encoded(LG)
    return LG


def _remove_disambig(lang_dir: Path, fst, ilabels: list[int]):
    """The #n input labels `ilabels` and the #0 word to epsilon, then rmepsilon."""
    import kaldifst

    words = read_symbols(lang_dir / "words.txt")
    fst = _relabel(fst, ilabels={i: 0 for i in ilabels}, olabels={words["#0"]: 0})
    kaldifst.rmepsilon(fst)
    kaldifst.arcsort(fst, sort_type="ilabel")
    return fst


def compose_with_topology(lang_dir: Path, right, compact: bool = False):
    """T o right, determinized and minimized, then without disambiguation symbols; right's input
    labels are token ids and #n symbols."""
    import kaldifst

    tokens = read_symbols(lang_dir / "tokens.txt")
    disambig = sorted(i for s, i in tokens.items() if is_disambig(s))
    num_tokens = 1 + max(i for s, i in tokens.items() if not is_disambig(s))
    T = ctc_topology(num_tokens, compact, disambig)
    kaldifst.arcsort(T, sort_type="olabel")
    kaldifst.arcsort(right, sort_type="ilabel")
    out = kaldifst.compose(T, right)
    out = kaldifst.determinize(out)
    kaldifst.minimize_encoded(out)
    return _remove_disambig(lang_dir, out, [d + 1 for d in disambig])  # T's input labels are id + 1


def _symbol_table(symbols: dict[str, int]):
    import kaldifst

    table = kaldifst.SymbolTable()
    for sym, i in sorted(symbols.items(), key=lambda kv: kv[1]):
        table.add_symbol(sym, i)
    return table


def attach_symbols(fst, lang_dir: Path) -> None:
    """Input symbols: <eps> 0, CTC token id + 1 (T's labels); output symbols: words.txt."""
    tokens = read_symbols(lang_dir / "tokens.txt")
    labels = {"<eps>": 0, **{sym: i + 1 for sym, i in tokens.items() if not is_disambig(sym)}}
    fst.input_symbols = _symbol_table(labels)
    fst.output_symbols = _symbol_table(read_symbols(lang_dir / "words.txt"))


def graph_symbols(fst) -> tuple[list[str], dict[str, int]] | None:
    """(CTC tokens in id order, words -> ids) a graph was built with, or None for a graph
    written without symbol tables (before they were attached)."""
    isyms, osyms = fst.input_symbols, fst.output_symbols
    if isyms is None or osyms is None:
        return None
    tokens = [isyms.find(label) for label in range(1, isyms.available_key())]
    words = {sym: i for i in range(osyms.available_key()) if (sym := osyms.find(i))}
    return tokens, words


def compile_graph(lang_dir: str | Path, arpa: str | Path | None = None, out: str | Path | None = None,
                  compact: bool = False) -> Path:
    """Write TLG.fst (with an ARPA LM) or TL.fst (lexicon only) into the lang dir; returns the path."""
    lang_dir = Path(lang_dir)
    if arpa:
        right = compose_lg(lang_dir, Path(arpa))
        name = "TLG.fst"
    else:
        right = lexicon_fst(lang_dir)
        name = "TL.fst"
    graph = compose_with_topology(lang_dir, right, compact)
    attach_symbols(graph, lang_dir)
    out = Path(out) if out else lang_dir / name
    atomic_write(out, lambda tmp: graph.write(tmp))
    return out
