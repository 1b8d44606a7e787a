#!/usr/bin/env bash
# Shell helpers shared by the recipes (source after parse_options.sh):
#   log MSG...                      timestamped message with the calling line
#   done_or_run DIR                 false (and a note) if DIR/.done exists, so stages are skipped
#   finished_checkpoint DIR         the newest DIR/checkpoints/checkpoint-*.pt of a finished training
#                                   stage (DIR/.done); an error naming the fix for a stopped or missing one
#   decode_and_score SYS_DIR CUTS NAME LANG NJ [LM_WEIGHTS] [WORD_SCORES] [BEAM] [DTYPE] [MODEL] [WFST_LANG]
#       greedy + WFST decoding of CUTS with SYS_DIR/MODEL (default best.pt; e.g. avg2.pt from
#       ssltk.bin.average) into SYS_DIR/decode_NAME_{greedy,wfst}, each scored with utils/score.sh;
#       the WFST reads WFST_LANG/TLG.fst (default LANG; a phone lang dir for a model with a phone layer);
#       several LM weights / word scores are a grid search. Each decode dir gets a .done marker
#       naming the model file it decoded (skipped while that is current).
#   run_command [FILE...]           ./run.sh and every option whose value differs from its default in
#                                   the option blocks of FILEs (default: the script itself), so the
#                                   recorded command is never a retyped list that can drift

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

# stage_begin N / stage_end N: a stage's start and end (epoch seconds) appended to $exp_dir/stage_times.txt,
# from which results tables take each stage's latest complete run
stage_begin() { mkdir -p "$exp_dir"; echo "$1 begin $(date +%s)" >> "$exp_dir/stage_times.txt"; }
stage_end() { echo "$1 end $(date +%s)" >> "$exp_dir/stage_times.txt"; }

decode_and_score() {
  local sys=$1 cuts=$2 name=$3 lang=$4 nj=$5 lmw=${6:-1} ws=${7:-0} beam=${8:-16} dtype=${9:-fp32} \
    ckpt=$1/${10:-best.pt} wlang=${11:-$4} m dir model mark
  [ -f "$ckpt" ] || { echo "$0: $ckpt does not exist; run the fine-tuning stage" >&2; return 1; }
  model="$(realpath "$ckpt") $(stat -c '%s %Y' "$ckpt")"
  for m in greedy wfst; do
    dir=$sys/decode_${name}_$m
    mark="$model $([ $m = wfst ] && echo "$wlang" || echo "$lang")"  # what this decode read
    if [ -f "$dir/.done" ] && [ "$(cat "$dir/.done")" = "$mark" ]; then
      log "  already done: $dir (delete $dir/.done to redo)"; continue
    fi
    rm -f "$dir/.done"
    if [ $m = greedy ]; then
      ${decode_cmd:-} python3 -m ssltk.bin.decode --ckpt "$ckpt" --cuts "$cuts" --method greedy \
        --lang-dir "$lang" --out-dir "$dir" --nj "$nj" --dtype "$dtype" >/dev/null
    else
      # shellcheck disable=SC2086  # lmw / ws may hold several values (grid search)
      ${decode_cmd:-} python3 -m ssltk.bin.decode --ckpt "$ckpt" --cuts "$cuts" --method wfst \
        --graph "$wlang/TLG.fst" --lang-dir "$wlang" --lm-weight $lmw --word-score $ws --beam "$beam" \
        --out-dir "$dir" --nj "$nj" --dtype "$dtype" >/dev/null
    fi
    utils/score.sh --utt2spk "$dir/utt2spk" "$dir/ref.txt" "$dir/hyp.txt" "$dir/scoring"
    echo "$mark" > "$dir/.done"
  done
}

run_command() {
  local line name default cmd="./${0##*/}"
  while IFS= read -r line; do
    [[ $line =~ ^([a-z_]+)=([^#]*) ]] || continue
    name=${BASH_REMATCH[1]}
    default=$(eval "echo ${BASH_REMATCH[2]}")
    case $name in stage|stop_stage) continue ;; esac
    [ "${!name}" = "$default" ] || cmd+=" --${name//_/-} $(printf %q "${!name}")"
  done < <(sed -n '/^# begin options/,/^# end options/p' "${@:-${0##*/}}")
  echo "$cmd"
}
