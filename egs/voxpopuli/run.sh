#!/usr/bin/env bash
# VoxPopuli (English): 10h-label domain transfer (SEW-D paper Table 5). Fine-tune a LibriSpeech-pretrained
# checkpoint on a deterministic 10 h subset of the training sessions, decode with a 3-gram LM trained
# on the corpus' own training text, score on dev and test.
#
#   ./run.sh --corpus-dir /data/voxpopuli --init ../librispeech/exp/pretrain_sewd-mid/checkpoints/checkpoint-00400000.pt
set -euo pipefail
cd "$(dirname "$0")"

# begin options (--help prints this block; --foo-bar sets foo_bar)
stage=0                      # first stage to run
stop_stage=6                 # last stage to run
corpus_dir=/data/voxpopuli  # raw_audios/en/<year>/*.ogg + asr_en.tsv.gz (annotations/asr)
init=                        # pre-trained checkpoint (LibriSpeech), or one imported with ssltk.bin.convert
finetune_config=conf/finetune.yaml
finetune_labels=10h          # label budget drawn from the training set (deterministic by seed)
lm_order=3
lm_weight=2                  # WFST decoding: LM weight, word score and beam (the SEW-D paper's setting)
word_score=-1
beam=50
nj=8
ngpu=1
data_dir=data
exp_dir=exp
seed=1
# end options
help_message=$(sed -n '/^# begin options/,/^# end options/p' "${0##*/}")
. utils/parse_options.sh
. ./cmd.sh
. utils/recipe_lib.sh

manifests=$data_dir/manifests
lang=$data_dir/lang_letters
sys=$exp_dir/finetune_${finetune_labels}
sets="dev test"
launch="python3"
[ "$ngpu" -gt 1 ] && launch="torchrun --standalone --nproc_per_node $ngpu"

if [ $stage -le 0 ] && [ $stop_stage -ge 0 ]; then
  log "Stage 0: check inputs: $corpus_dir"
  [ -d "$corpus_dir/raw_audios/en" ] || { echo "$0: $corpus_dir/raw_audios/en does not exist. Expected" \
    "VoxPopuli's English audio raw_audios/en/<year>/<session>_original.ogg. Pass --corpus-dir." >&2; exit 1; }
  [ -f "$corpus_dir/asr_en.tsv.gz" ] || { echo "$0: $corpus_dir/asr_en.tsv.gz does not exist: copy VoxPopuli's" \
    "annotations/asr/asr_en.tsv.gz there (it cannot be downloaded offline)" >&2; exit 1; }
fi

if [ $stage -le 1 ] && [ $stop_stage -ge 1 ]; then
  log "Stage 1: Lhotse manifests, normalised text (local/normalize_text.py): $corpus_dir -> $manifests"
  if done_or_run "$manifests"; then
    python3 -m ssltk.bin.manifests voxpopuli --corpus-dir "$corpus_dir" --out-dir "$manifests/raw" --parts train dev test
    for p in train dev test; do
      python3 local/normalize_text.py "$manifests/raw/cuts_$p.jsonl.gz" "$manifests/cuts_$p.jsonl.gz"
    done
    touch "$manifests/.done"
  fi
fi

. utils/transfer_stages.sh  # stages 2-6: subset, lang + LM + TLG, fine-tune, decode, results
