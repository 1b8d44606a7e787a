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
#       naming the model file it decoded (both are skipped while they are current): decode_sets_and_score
#       with one set.
#   decode_pending SYS_DIR LANG WFST_LANG MODEL NAME=CUTS...
#       true if one of decode_sets_and_score's decode dirs is missing or stale; else logs them done
#   decode_sets_and_score SYS_DIR LANG WFST_LANG NJ LM_WEIGHTS WORD_SCORES BEAM DTYPE MODEL NAME=CUTS...
#       the same for several sets in one process (one pass of the network per utterance gives greedy and
#       WFST; the model and graph load once): SYS_DIR/decode_NAME_{greedy,wfst}; the LM weight / word score
#       grid is searched on the first set and its best pair decodes the others. All are redone unless every
#       decode dir is current.
#   beside LOG CMD...               CMD (a command or a shell function) in the background, its output in LOG;
#   beside_wait                     then waits for every such job: beside_rc[i] / beside_logs[i] are the i-th
#                                   job's exit status and log (INT / TERM meanwhile are passed on to the jobs)
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

decode_and_score() {  # one set: decode_sets_and_score's greedy + WFST for NAME=CUTS
  decode_sets_and_score "$1" "$4" "${11:-$4}" "$5" "${6:-1}" "${7:-0}" "${8:-16}" "${9:-fp32}" "${10:-best.pt}" "$3=$2"
}

decode_mark() {  # CKPT LANG: what a decode dir read (the model file as it was, the lang dir)
  echo "$(realpath "$1") $(stat -c '%s %Y' "$1") $2"
}

decode_pending() {
  local sys=$1 lang=$2 wlang=$3 ckpt=$1/$4 spec m dirs=()
  shift 4
  [ -f "$ckpt" ] || return 0  # decode_sets_and_score names what is missing
  for spec in "$@"; do
    for m in greedy wfst; do
      dirs+=("$sys/decode_${spec%%=*}_$m")
      [ -f "${dirs[-1]}/.done" ] && [ "$(cat "${dirs[-1]}/.done")" = "$(decode_mark "$ckpt" "$([ $m = wfst ] && echo "$wlang" || echo "$lang")")" ] || return 0
    done
  done
  for m in "${dirs[@]}"; do log "  already done: $m (delete $m/.done to redo)"; done
  return 1
}

decode_sets_and_score() {
  local sys=$1 lang=$2 wlang=$3 nj=$4 lmw=$5 ws=$6 beam=$7 dtype=$8 ckpt=$1/$9 spec m i sets=() dirs=() marks=()
  shift 9
  [ -f "$ckpt" ] || { echo "$0: $ckpt does not exist; run the fine-tuning stage" >&2; return 1; }
  decode_pending "$sys" "$lang" "$wlang" "${ckpt##*/}" "$@" || return 0
  for spec in "$@"; do
    sets+=("$spec")
    for m in greedy wfst; do
      dirs+=("$sys/decode_${spec%%=*}_$m"); marks+=("$(decode_mark "$ckpt" "$([ $m = wfst ] && echo "$wlang" || echo "$lang")")")
      rm -f "${dirs[-1]}/.done"
    done
  done
  # shellcheck disable=SC2086  # lmw / ws may hold several values (grid search)
  ${decode_cmd:-} python3 -m ssltk.bin.decode --ckpt "$ckpt" --cuts "${sets[@]}" --method greedy wfst \
    --lang-dir "$lang" --graph "$wlang/TLG.fst" --wfst-lang-dir "$wlang" --lm-weight $lmw --word-score $ws \
    --tune-on "${sets[0]%%=*}" --beam "$beam" --out-dir "$sys/decode_{set}_{method}" --nj "$nj" \
    --dtype "$dtype" >/dev/null
  for i in "${!dirs[@]}"; do
    utils/score.sh --utt2spk "${dirs[$i]}/utt2spk" "${dirs[$i]}/ref.txt" "${dirs[$i]}/hyp.txt" "${dirs[$i]}/scoring"
    echo "${marks[$i]}" > "${dirs[$i]}/.done"
  done
}

beside_pids=(); beside_logs=(); beside_rc=()
beside() {
  local log=$1; shift
  [ ${#beside_pids[@]} -gt 0 ] || { beside_logs=(); beside_rc=(); }  # a new group of jobs
  mkdir -p "$(dirname "$log")"
  "$@" > "$log" 2>&1 &
  beside_pids+=($!); beside_logs+=("$log")
  trap '[ ${#beside_pids[@]} -eq 0 ] || kill "${beside_pids[@]}" 2>/dev/null' INT TERM  # each job stops cleanly
}

beside_wait() {
  local i rc
  beside_rc=()
  for i in "${!beside_pids[@]}"; do
    rc=0; wait "${beside_pids[$i]}" || rc=$?
    while [ $rc -gt 128 ] && kill -0 "${beside_pids[$i]}" 2>/dev/null; do rc=0; wait "${beside_pids[$i]}" || rc=$?; done  # a trap ran
    beside_rc+=("$rc")
  done
  trap - INT TERM
  beside_pids=()
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
