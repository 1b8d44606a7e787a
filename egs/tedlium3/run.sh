#!/usr/bin/env bash
# TED-LIUM 3: 10h-label domain transfer (SEW-D paper Table 5). Fine-tune a LibriSpeech-pretrained
# checkpoint on a deterministic 10 h subset of the training talks, decode with a 3-gram LM trained
# on the corpus' own training text, score on dev and test.
#
#   ./run.sh --corpus-dir /data/TEDLIUM_release-3 --init ../librispeech/exp/pretrain_sewd-mid/checkpoints/checkpoint-00400000.pt
set -euo pipefail
cd "$(dirname "$0")"

# begin options (--help prints this block; --foo-bar sets foo_bar)
stage=0                      # first stage to run
stop_stage=6                 # last stage to run
corpus_dir=/data/TEDLIUM_release-3  # with legacy/{train,dev,test}/{sph,stm}
init=                        # pre-trained checkpoint (LibriSpeech), or one imported with ssltk.bin.convert
finetune_config=conf/finetune.yaml
finetune_labels=10h          # label budget drawn from the training set (deterministic by seed)
lm_order=3
nj=8
ngpu=1
data_dir=data
exp_dir=exp
seed=1
# end options
help_message=$(sed -n '/^# begin options/,/^# end options/p' "$0")
. utils/parse_options.sh
. ./cmd.sh
. utils/recipe_lib.sh

manifests=$data_dir/manifests
lang=$data_dir/lang_letters
sys=$exp_dir/finetune_${finetune_labels}
launch="python3"
[ "$ngpu" -gt 1 ] && launch="torchrun --standalone --nproc_per_node $ngpu"

if [ $stage -le 0 ] && [ $stop_stage -ge 0 ]; then
  log "Stage 0: check inputs: $corpus_dir"
  [ -d "$corpus_dir/legacy" ] || { echo "$0: $corpus_dir/legacy does not exist. Expected TED-LIUM 3" \
    "(openslr.org/51) unpacked: legacy/{train,dev,test}/{sph/*.sph,stm/*.stm}. Pass --corpus-dir." >&2; exit 1; }
fi

if [ $stage -le 1 ] && [ $stop_stage -ge 1 ]; then
  log "Stage 1: Lhotse manifests, normalised text (local/normalize_text.py): $corpus_dir -> $manifests"
  if done_or_run "$manifests"; then
    python3 -m ssltk.bin.manifests tedlium --corpus-dir "$corpus_dir" --out-dir "$manifests/raw" --parts train dev test
    for p in train dev test; do
      python3 local/normalize_text.py "$manifests/raw/cuts_$p.jsonl.gz" "$manifests/cuts_$p.jsonl.gz"
    done
    touch "$manifests/.done"
  fi
fi

if [ $stage -le 2 ] && [ $stop_stage -ge 2 ]; then
  log "Stage 2: $finetune_labels label subset (seed $seed): $manifests/cuts_train -> cuts_train_$finetune_labels"
  [ -f "$manifests/cuts_train_$finetune_labels.jsonl.gz" ] || python3 -m ssltk.bin.subset \
    --cuts "$manifests/cuts_train.jsonl.gz" --budget "$finetune_labels" --seed "$seed" \
    --out "$manifests/cuts_train_$finetune_labels.jsonl.gz"
fi

if [ $stage -le 3 ] && [ $stop_stage -ge 3 ]; then
  log "Stage 3: lang dir, ${lm_order}-gram LM on the training text, TLG: $manifests/cuts_train -> $lang"
  if done_or_run "$lang"; then
    python3 -m ssltk.bin.prepare_lang --cuts "$manifests/cuts_train.jsonl.gz" --lang-dir "$lang" --lm-order "$lm_order"
    python3 -m ssltk.bin.compile_graph --lang-dir "$lang" --arpa "$lang/lm_${lm_order}gram.arpa"
    touch "$lang/.done"
  fi
fi

if [ $stage -le 4 ] && [ $stop_stage -ge 4 ]; then
  log "Stage 4: CTC fine-tuning: $init + cuts_train_$finetune_labels -> $sys"
  [ -f "$init" ] || { echo "$0: --init checkpoint '$init' does not exist (pre-train with egs/librispeech," \
    "or import one with python -m ssltk.bin.convert --from-hf)" >&2; exit 1; }
  if done_or_run "$sys"; then
    $train_cmd $launch -m ssltk.bin.finetune --config "$finetune_config" --exp-dir "$sys" --init "$init" \
      finetune.lang_dir=$lang data.train_cuts=$manifests/cuts_train_$finetune_labels.jsonl.gz \
      data.valid_cuts=$manifests/cuts_dev.jsonl.gz train.seed=$seed
    touch "$sys/.done"
  fi
fi

if [ $stage -le 5 ] && [ $stop_stage -ge 5 ]; then
  for set in dev test; do
    log "Stage 5: decoding $set: greedy and WFST (LM weight 2, word score -1, beam 50)"
    decode_and_score "$sys" "$manifests/cuts_$set.jsonl.gz" "$set" "$lang" "$nj" 2 -1 50
  done
fi

if [ $stage -le 6 ] && [ $stop_stage -ge 6 ]; then
  log "Stage 6: RESULTS.md"
  python3 -m ssltk.bin.results --systems "$sys" --sets dev test --out RESULTS.md \
    --command "./run.sh --init $init --finetune-labels $finetune_labels"
  cat RESULTS.md
fi
