#!/usr/bin/env bash
# TED-LIUM 3: 10h-label domain transfer (SEW-D paper Table 5). Fine-tune a LibriSpeech-pretrained
# checkpoint on a deterministic 10 h subset of the training talks, decode with a 3-gram LM trained
# on the corpus' own training text, score on dev and test.
#
#   ./run.sh --corpus-dir /data/TEDLIUM_release-3 --init ../librispeech/exp/pretrain_sewd-mid/checkpoints/checkpoint-00400000.pt
set -euo pipefail
cd "$(dirname "$0")"

# begin options (--help prints this block and utils/transfer_options.sh's; --foo-bar sets foo_bar)
stage=0                      # first stage to run
stop_stage=6                 # last stage to run
corpus_dir=/data/TEDLIUM_release-3  # with legacy/{train,dev,test}/{sph,stm}
# end options
. utils/transfer_options.sh  # the shared options, the command line, manifests / lang / sys / launch

sets="dev test"

if [ $stage -le 0 ] && [ $stop_stage -ge 0 ]; then
  log "Stage 0: check inputs: $corpus_dir"
  [ -d "$corpus_dir/legacy" ] || { echo "$0: $corpus_dir/legacy does not exist. Expected TED-LIUM 3" \
    "(openslr.org/51) unpacked: legacy/{train,dev,test}/{sph/*.sph,stm/*.stm}. Pass --corpus-dir." >&2; exit 1; }
fi

if [ $stage -le 1 ] && [ $stop_stage -ge 1 ]; then
  log "Stage 1: Lhotse manifests, normalised text (local/normalize_text.py): $corpus_dir -> $manifests"
  if done_or_run "$manifests"; then
    normalised_manifests tedlium
    touch "$manifests/.done"
  fi
fi

. utils/transfer_stages.sh  # stages 2-6: subset, lang + LM + TLG, fine-tune, decode, results
