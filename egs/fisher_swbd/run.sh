#!/usr/bin/env bash
# Fisher + Switchboard: 10h-label domain transfer to conversational telephone speech (SEW-D paper
# Table 5). Fine-tune a LibriSpeech-pretrained checkpoint on a deterministic 10 h subset of
# Fisher + Switchboard, decode with a 3-gram LM on their training text, score on a held-out dev
# set and on Hub5'00 (eval2000). Offline: every input is passed explicitly.
#
#   ./run.sh --swbd-dir /data/LDC97S62 --swbd-transcripts /data/swb_ms98_transcriptions \
#     --fisher-dir /data/fisher --eval2000-dir /data/eval2000 --init CKPT
set -euo pipefail
cd "$(dirname "$0")"

# begin options (--help prints this block; --foo-bar sets foo_bar)
stage=0                      # first stage to run
stop_stage=6                 # last stage to run
swbd_dir=                    # LDC97S62 (Switchboard-1 audio, .sph; PCM, or convert shorten with sph2pipe)
swbd_transcripts=            # unpacked swb_ms98_transcriptions (ISIP word alignments)
fisher_dir=                  # directory with LDC2004S13 + LDC2004T19 (and/or LDC2005S13 + LDC2005T19)
eval2000_dir=                # directory with LDC2002S09 + LDC2002T43 (Hub5'00); empty: score on dev only
init=                        # pre-trained checkpoint (LibriSpeech)
finetune_config=conf/finetune.yaml
finetune_labels=10h
dev_seconds=7200             # held-out dev set, whole conversations
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
sets="dev"
[ -n "$eval2000_dir" ] && sets="dev eval2000"

if [ $stage -le 0 ] && [ $stop_stage -ge 0 ]; then
  log "Stage 0: check inputs"
  for v in swbd_dir swbd_transcripts fisher_dir; do
    [ -d "${!v}" ] || { echo "$0: --${v//_/-} '${!v}' is not a directory (Switchboard LDC97S62 audio," \
      "swb_ms98_transcriptions, Fisher LDC2004/2005 dirs are needed; nothing can be downloaded offline)" >&2; exit 1; }
  done
fi

if [ $stage -le 1 ] && [ $stop_stage -ge 1 ]; then
  log "Stage 1: manifests + normalised text (local/normalize_text.py): Switchboard, Fisher, eval2000 -> $manifests"
  if done_or_run "$manifests"; then
    raw=$manifests/raw
    python3 -m ssltk.bin.manifests switchboard --corpus-dir "$swbd_dir" --transcripts-dir "$swbd_transcripts" --out-dir $raw
    python3 -m ssltk.bin.manifests fisher --corpus-dir "$fisher_dir" --out-dir $raw
    [ -n "$eval2000_dir" ] && python3 -m ssltk.bin.manifests eval2000 --corpus-dir "$eval2000_dir" --out-dir $raw
    for c in swbd fisher $([ -n "$eval2000_dir" ] && echo eval2000); do
      python3 local/normalize_text.py $raw/cuts_$c.jsonl.gz $manifests/cuts_$c.jsonl.gz
    done
    python3 -c "from lhotse import CutSet; CutSet.from_files(['$manifests/cuts_swbd.jsonl.gz', \
'$manifests/cuts_fisher.jsonl.gz']).to_file('$manifests/cuts_all.jsonl.gz')"
    python3 local/split_dev.py $manifests/cuts_all.jsonl.gz $dev_seconds $seed $manifests/cuts_train.jsonl.gz \
      $manifests/cuts_dev.jsonl.gz
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
  [ -f "$init" ] || { echo "$0: --init checkpoint '$init' does not exist" >&2; exit 1; }
  if done_or_run "$sys"; then
    $train_cmd $launch -m ssltk.bin.finetune --config "$finetune_config" --exp-dir "$sys" --init "$init" \
      finetune.lang_dir=$lang data.train_cuts=$manifests/cuts_train_$finetune_labels.jsonl.gz \
      data.valid_cuts=$manifests/cuts_dev.jsonl.gz train.seed=$seed
    touch "$sys/.done"
  fi
fi

if [ $stage -le 5 ] && [ $stop_stage -ge 5 ]; then
  for set in $sets; do
    log "Stage 5: decoding $set: greedy and WFST (LM weight 2, word score -1, beam 50)"
    decode_and_score "$sys" "$manifests/cuts_$set.jsonl.gz" "$set" "$lang" "$nj" 2 -1 50
  done
fi

if [ $stage -le 6 ] && [ $stop_stage -ge 6 ]; then
  log "Stage 6: RESULTS.md"
  python3 -m ssltk.bin.results --systems "$sys" --sets $sets --out RESULTS.md \
    --command "./run.sh --init $init --finetune-labels $finetune_labels"
  cat RESULTS.md
fi
