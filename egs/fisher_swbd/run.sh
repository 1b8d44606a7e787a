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

# begin options (--help prints this block and utils/transfer_options.sh's; --foo-bar sets foo_bar)
stage=0                      # first stage to run
stop_stage=6                 # last stage to run
swbd_dir=                    # LDC97S62 (Switchboard-1 audio, .sph; PCM, or convert shorten with sph2pipe)
swbd_transcripts=            # unpacked swb_ms98_transcriptions (ISIP word alignments)
fisher_dir=                  # directory with LDC2004S13 + LDC2004T19 (and/or LDC2005S13 + LDC2005T19)
eval2000_dir=                # directory with LDC2002S09 + LDC2002T43 (Hub5'00); empty: score on dev only
dev_seconds=7200             # held-out dev set, whole conversations
# end options
. utils/transfer_options.sh  # the shared options, the command line, manifests / lang / sys / launch

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

. utils/transfer_stages.sh  # stages 2-6: subset, lang + LM + TLG, fine-tune, decode, results
