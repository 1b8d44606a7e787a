#!/usr/bin/env bash
# LibriSpeech: pre-train any preset on 960 h, fine-tune with CTC on 10m / 1h / 10h / 100h / 960h of labels
# (Libri-light splits for the first three), decode greedy and with the official 4-gram (LM weight 2,
# word score -1, beam 50, as the SEW-D paper), score, and write RESULTS.md with inference times.
#
#   ./run.sh --corpus-dir /data/LibriSpeech --preset sewd-mid --finetune-labels 100h
#   ./run.sh --stage 3            # resumes pre-training from its last checkpoint
set -euo pipefail
cd "$(dirname "$0")"

# begin options (--help prints this block; --foo-bar sets foo_bar)
stage=0                      # first stage to run
stop_stage=7                 # last stage to run
corpus_dir=/data/LibriSpeech # LibriSpeech root: train-clean-100/, ..., dev-other/, test-other/
finetuning_dir=              # Libri-light librispeech_finetuning/ (default: CORPUS_DIR/librispeech_finetuning)
lm_arpa=                     # official 4-gram.arpa (openslr 11); empty: a 3-gram on the 960h transcripts
download=false               # download with lhotse when the corpus is missing (needs internet)
preset=w2v2-base             # model preset (python -m ssltk.bin.presets)
pretrain_config=             # default: conf/pretrain.yaml (conf/pretrain_s3l.yaml for s3l-* presets)
finetune_config=conf/finetune.yaml
finetune_labels=100h         # 10m | 1h | 10h | 100h | 960h
tokens=letters               # letters | bpe
bpe_size=500
lm_weight=2                  # WFST decoding: LM weight, word score and beam (the SEW-D paper's setting)
word_score=-1
beam=50
nj=8                         # parallel decoding jobs
ngpu=1                       # GPUs per training job (torchrun when > 1)
data_dir=data
exp_dir=exp
seed=1
# end options
help_message=$(sed -n '/^# begin options/,/^# end options/p' "${0##*/}")
. utils/parse_options.sh
case $preset in s3l-*) pretrain_config=${pretrain_config:-conf/pretrain_s3l.yaml} ;;
  *) pretrain_config=${pretrain_config:-conf/pretrain.yaml} ;; esac
. ./cmd.sh
. utils/recipe_lib.sh

# the directory a download produces (DIR/LibriSpeech + DIR/librispeech_finetuning) or the LibriSpeech root
if [ ! -d "$corpus_dir/train-clean-100" ] && [ -d "$corpus_dir/LibriSpeech" ]; then
  finetuning_dir=${finetuning_dir:-$corpus_dir/librispeech_finetuning}
  corpus_dir=$corpus_dir/LibriSpeech
fi
finetuning_dir=${finetuning_dir:-$corpus_dir/librispeech_finetuning}
manifests=$data_dir/manifests
lang=$data_dir/lang_${tokens}
parts="train-clean-100 train-clean-360 train-other-500 dev-clean dev-other test-clean test-other"
launch="python3"
[ "$ngpu" -gt 1 ] && launch="torchrun --standalone --nproc_per_node $ngpu"

if [ $stage -le 0 ] && [ $stop_stage -ge 0 ]; then
  log "Stage 0: check (or download) the corpus: $corpus_dir"
  missing=$(for p in $parts; do [ -d "$corpus_dir/$p" ] || echo -n "$p "; done)
  if [ -n "$missing" ]; then
    if [ "$download" = true ]; then
      python3 -c "from lhotse.recipes import download_librispeech as d; d('$(dirname "$corpus_dir")', dataset_parts='librispeech')"
    else
      echo "$0: $corpus_dir lacks $missing. Expected the LibriSpeech tree <part>/<spk>/<chapter>/*.flac" \
        "+ *.trans.txt (openslr.org/12), and for 10m/1h/10h labels librispeech_finetuning/{1h/0..5,9h}/{clean,other}" \
        "(Libri-light). Pass --corpus-dir, or --download true where there is internet." >&2
      exit 1
    fi
  fi
fi

if [ $stage -le 1 ] && [ $stop_stage -ge 1 ]; then
  log "Stage 1: Lhotse manifests: $corpus_dir (+ $finetuning_dir) -> $manifests"
  if done_or_run "$manifests"; then
    python3 -m ssltk.bin.manifests librispeech --corpus-dir "$corpus_dir" --out-dir "$manifests" --parts $parts
    python3 -m ssltk.bin.manifests librispeech-960 --out-dir "$manifests"
    if [ -d "$finetuning_dir" ]; then
      python3 -m ssltk.bin.manifests librilight-splits --corpus-dir "$finetuning_dir" --out-dir "$manifests"
    else
      log "  no $finetuning_dir: only the 100h and 960h label budgets are available"
    fi
    touch "$manifests/.done"
  fi
fi

if [ $stage -le 2 ] && [ $stop_stage -ge 2 ]; then
  log "Stage 2: filter 2-30 s and export Lhotse Shar for pre-training: $manifests/cuts_train-960 -> $data_dir/shar"
  if done_or_run "$data_dir/shar"; then
    python3 -m ssltk.bin.manifests shar --cuts "$manifests/cuts_train-960.jsonl.gz" --out-dir "$data_dir/shar" \
      --min-seconds 2 --max-seconds 30
    touch "$data_dir/shar/.done"
  fi
fi

if [ $stage -le 3 ] && [ $stop_stage -ge 3 ]; then
  log "Stage 3: pre-training $preset: $data_dir/shar -> $exp_dir/pretrain_$preset"
  if done_or_run "$exp_dir/pretrain_$preset"; then
    $train_cmd $launch -m ssltk.bin.pretrain --config "$pretrain_config" --exp-dir "$exp_dir/pretrain_$preset" \
      preset=$preset data.train_cuts=$data_dir/shar data.valid_cuts=$manifests/cuts_dev-other.jsonl.gz \
      train.seed=$seed
    touch "$exp_dir/pretrain_$preset/.done"
  fi
fi

if [ $stage -le 4 ] && [ $stop_stage -ge 4 ]; then
  log "Stage 4: lang dir ($tokens), LM and TLG: $manifests/cuts_train-960 ${lm_arpa:+$lm_arpa }-> $lang"
  if done_or_run "$lang"; then
    python3 -m ssltk.bin.prepare_lang --cuts "$manifests/cuts_train-960.jsonl.gz" --lang-dir "$lang" \
      --tokens "$tokens" --bpe-size "$bpe_size" ${lm_arpa:+--extra-words-from-arpa "$lm_arpa"} \
      $([ -z "$lm_arpa" ] && echo --lm-order 3)
    python3 -m ssltk.bin.compile_graph --lang-dir "$lang" --arpa "${lm_arpa:-$lang/lm_3gram.arpa}"
    touch "$lang/.done"
  fi
fi

labels_cuts=$manifests/cuts_train_${finetune_labels}.jsonl.gz
sys=$exp_dir/finetune_${preset}_${finetune_labels}
if [ $stage -le 5 ] && [ $stop_stage -ge 5 ]; then
  # a converted checkpoint can stand in: put it in checkpoints/ and touch .done
  init=$(finished_checkpoint "$exp_dir/pretrain_$preset")
  log "Stage 5: CTC fine-tuning on $finetune_labels: $init + $labels_cuts -> $sys"
  [ -f "$labels_cuts" ] || { echo "$0: $labels_cuts does not exist (Libri-light splits need $finetuning_dir)" >&2; exit 1; }
  if done_or_run "$sys"; then
    $train_cmd $launch -m ssltk.bin.finetune --config "$finetune_config" --exp-dir "$sys" --init "$init" \
      finetune.lang_dir=$lang data.train_cuts=$labels_cuts data.valid_cuts=$manifests/cuts_dev-other.jsonl.gz \
      train.seed=$seed $(case $finetune_labels in 10m|1h|10h) echo finetune.freeze_updates=10000;; esac)
    touch "$sys/.done"
  fi
fi

if [ $stage -le 6 ] && [ $stop_stage -ge 6 ]; then
  for set in dev-clean dev-other test-clean test-other; do
    log "Stage 6: decoding $set: greedy and WFST (LM weight $lm_weight, word score $word_score, beam $beam)" \
      "-> $sys/decode_${set}_*"
    decode_and_score "$sys" "$manifests/cuts_$set.jsonl.gz" "$set" "$lang" "$nj" "$lm_weight" "$word_score" "$beam"
  done
fi

if [ $stage -le 7 ] && [ $stop_stage -ge 7 ]; then
  log "Stage 7: RESULTS.md"
  python3 -m ssltk.bin.results --systems "$sys" --sets dev-clean dev-other test-clean test-other \
    --command "$(run_command)" --out RESULTS.md
  cat RESULTS.md
fi
