#!/usr/bin/env bash
# Stages 2-6 shared by the 10h-label domain-transfer recipes (tedlium3, voxpopuli, fisher_swbd; their
# shared options and setup are utils/transfer_options.sh),
# sourced by their run.sh after their corpus-specific stages 0-1 have written
# $manifests/cuts_{train,dev,...}.jsonl.gz:
#   2 label subset of train (deterministic by seed), 3 lang dir + n-gram LM on the train text + TLG,
#   4 CTC fine-tuning from $init, 5 greedy and WFST decoding of $sets scored with utils/score.sh,
#   6 RESULTS.md.
# Uses: stage stop_stage manifests lang sys init finetune_config finetune_labels lm_order lm_weight
#       word_score beam nj seed launch sets train_cmd (and the helpers of utils/recipe_lib.sh).

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
  for set in $sets; do
    log "Stage 5: decoding $set: greedy and WFST (LM weight $lm_weight, word score $word_score, beam $beam)"
    decode_and_score "$sys" "$manifests/cuts_$set.jsonl.gz" "$set" "$lang" "$nj" "$lm_weight" "$word_score" "$beam"
  done
fi

if [ $stage -le 6 ] && [ $stop_stage -ge 6 ]; then
  log "Stage 6: RESULTS.md"
  python3 -m ssltk.bin.results --systems "$sys" --sets $sets --out RESULTS.md \
    --command "$(run_command "${option_files[@]}")"
  cat RESULTS.md
fi
