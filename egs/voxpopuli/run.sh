#!/usr/bin/env bash
# VoxPopuli (English): 10h-label domain transfer (SEW-D paper Table 5). Fine-tune a LibriSpeech-pretrained
# checkpoint on a deterministic 10 h subset of the training sessions, decode with a 3-gram LM trained
# on the corpus' own training text, score on dev and test.
#
#   ./run.sh --corpus-dir /data/voxpopuli --init ../librispeech/exp/pretrain_sewd-mid/checkpoints/checkpoint-00400000.pt
set -euo pipefail
cd "$(dirname "$0")"

# begin options (--help prints this block and utils/transfer_options.sh's; --foo-bar sets foo_bar)
stage=0                      # first stage to run
stop_stage=6                 # last stage to run
corpus_dir=/data/voxpopuli  # raw_audios/en/<year>/*.ogg + asr_en.tsv.gz (annotations/asr)
# end options
. utils/transfer_options.sh  # the shared options, the command line, manifests / lang / sys / launch

sets="dev test"

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
    normalised_manifests voxpopuli
    touch "$manifests/.done"
  fi
fi

. utils/transfer_stages.sh  # stages 2-6: subset, lang + LM + TLG, fine-tune, decode, results
