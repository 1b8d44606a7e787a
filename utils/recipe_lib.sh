#!/usr/bin/env bash
# Shell helpers shared by the recipes (source after parse_options.sh):
#   log MSG...                      timestamped message with the calling line
#   done_or_run DIR                 false (and a note) if DIR/.done exists, so stages are skipped
#   finished_checkpoint DIR         the newest DIR/checkpoints/checkpoint-*.pt of a finished training
#                                   stage (DIR/.done); an error naming the fix for a stopped or missing one
#   decode_and_score SYS_DIR CUTS NAME LANG NJ [LM_WEIGHTS] [WORD_SCORES] [BEAM]
#       greedy + WFST decoding of CUTS with SYS_DIR/best.pt into SYS_DIR/decode_NAME_{greedy,wfst},
#       each scored with utils/score.sh; several LM weights / word scores are a grid search.

log() { echo -e "$(date '+%F %T') (${0##*/}:${BASH_LINENO[0]}) $*"; }

done_or_run() {
  if [ -f "$1/.done" ]; then log "  already done: $1 (delete $1/.done to redo)"; return 1; fi
  return 0
}

finished_checkpoint() {
  local ckpt
  ckpt=$(ls "$1"/checkpoints/checkpoint-*.pt 2>/dev/null | tail -1)
  if [ -z "$ckpt" ]; then
    echo "$0: no checkpoint in $1/checkpoints; run the training stage that writes it" >&2; return 1
  fi
  if [ ! -f "$1/.done" ]; then
    echo "$0: training in $1 did not finish (no $1/.done; newest is $ckpt): re-run its stage to resume," \
      "or touch $1/.done to use that checkpoint as it is" >&2; return 1
  fi
  echo "$ckpt"
}

decode_and_score() {
  local sys=$1 cuts=$2 name=$3 lang=$4 nj=$5 lmw=${6:-1} ws=${7:-0} beam=${8:-16} m
  [ -f "$sys/best.pt" ] || { echo "$0: $sys/best.pt does not exist; run the fine-tuning stage" >&2; return 1; }
  ${decode_cmd:-} python3 -m ssltk.bin.decode --ckpt "$sys/best.pt" --cuts "$cuts" --method greedy \
    --lang-dir "$lang" --out-dir "$sys/decode_${name}_greedy" --nj "$nj" >/dev/null
  # shellcheck disable=SC2086  # lmw / ws may hold several values (grid search)
  ${decode_cmd:-} python3 -m ssltk.bin.decode --ckpt "$sys/best.pt" --cuts "$cuts" --method wfst \
    --graph "$lang/TLG.fst" --lang-dir "$lang" --lm-weight $lmw --word-score $ws --beam "$beam" \
    --out-dir "$sys/decode_${name}_wfst" --nj "$nj" >/dev/null
  for m in greedy wfst; do
    utils/score.sh --utt2spk "$sys/decode_${name}_$m/utt2spk" "$sys/decode_${name}_$m/ref.txt" \
      "$sys/decode_${name}_$m/hyp.txt" "$sys/decode_${name}_$m/scoring" 2>/dev/null
  done
}
