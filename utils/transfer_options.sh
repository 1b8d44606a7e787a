#!/usr/bin/env bash
# Options and setup shared by the 10h-label domain-transfer recipes (tedlium3, voxpopuli, fisher_swbd),
# sourced by their run.sh right after their own option block: defines the shared options, parses the
# command line (--help prints both blocks), and sets manifests, lang, sys and launch. Their stages 2-6
# are utils/transfer_stages.sh.

# begin options (shared by the transfer recipes)
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
option_files=("${0##*/}" utils/transfer_options.sh)
help_message=$(sed -n '/^# begin options/,/^# end options/p' "${option_files[@]}")
. utils/parse_options.sh
. ./cmd.sh
. utils/recipe_lib.sh

manifests=$data_dir/manifests
lang=$data_dir/lang_letters
sys=$exp_dir/finetune_${finetune_labels}
launch="python3"
[ "$ngpu" -gt 1 ] && launch="torchrun --standalone --nproc_per_node $ngpu"

# normalised_manifests CORPUS: cuts_{train,dev,test} of a corpus with ssltk.bin.manifests' train/dev/test
# parts, their text normalised by the recipe's local/normalize_text.py
normalised_manifests() {
  local p
  python3 -m ssltk.bin.manifests "$1" --corpus-dir "$corpus_dir" --out-dir "$manifests/raw" --parts train dev test
  for p in train dev test; do
    python3 local/normalize_text.py "$manifests/raw/cuts_$p.jsonl.gz" "$manifests/cuts_$p.jsonl.gz"
  done
}
