#!/usr/bin/env bash
# Scores Kaldi-style hypotheses (`utt-id WORD WORD ...`) against references.
# Writes <out-dir>/wer (or cer), per_utt (aligned REF/HYP with errors marked),
# substitutions (most frequent), and per_spk when --utt2spk is given.
#
# Usage: utils/score.sh [--cer true] [--utt2spk <utt2spk>] <ref.txt> <hyp.txt> <out-dir>
# e.g.:  utils/score.sh exp/decode/ref.txt exp/decode/hyp.txt exp/decode/scoring

# Begin configuration section.
cer=false
utt2spk=
# End configuration section.

echo "$0 $*" >&2
set -euo pipefail
. "$(dirname "$0")/parse_options.sh"

if [ $# -ne 3 ]; then
  echo "Usage: $0 [--cer true] [--utt2spk <utt2spk>] <ref.txt> <hyp.txt> <out-dir>" >&2
  exit 1
fi
ref=$1; hyp=$2; dir=$3
for f in "$ref" "$hyp" ${utt2spk:+"$utt2spk"}; do
  [ -f "$f" ] || { echo "$0: no such file $f" >&2; exit 1; }
done
args=()
[ "$cer" = true ] && args+=(--cer)
[ -n "$utt2spk" ] && args+=(--utt2spk "$utt2spk")
python3 -m ssltk.bin.score "${args[@]}" "$ref" "$hyp" "$dir"
