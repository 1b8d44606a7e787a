#!/usr/bin/env bash
# mini_tts: ssltk end to end on a laptop CPU, fully offline.
# Synthesises a multi-speaker speech corpus with espeak-ng, pre-trains a small SEW-D model on filter
# banks with the wav2vec 2.0 objective (conf/pretrain.yaml: 160 s of audio per update), fine-tunes it
# with CTC on a label budget (a letter layer and, beside it, a phone layer over espeak-ng's own G2P
# lexicon), decodes (greedy letters; WFST over the phones with a lexicon and an n-gram LM) and scores;
# the same fine-tuning from scratch shows what pre-training buys (RESULTS.md).
#
#   ./run.sh                          # everything (14-22 minutes on 2 cores with the hour of the VM, more on slower VMs: README)
#   ./run.sh --pt-updates 1500 --finetune-labels 10m --exp-dir exp_sewd_10m   # longer pre-training, 10 min of labels
#   ./run.sh --preset s3l-mini-40ms --pt-updates 1500 --exp-dir exp_s3l       # S3LSpeech teacher-student (conf/pretrain_s3l.yaml)
#   ./run_study.sh --help             # the batch-size and SEW-D papers' findings in miniature
#   ./run.sh --size ci --stage 1      # the 2-minute CI corpus
#   ./run.sh --stage 5 --stop-stage 7 # re-run fine-tuning .. scoring (finished stages are skipped)
set -euo pipefail
cd "$(dirname "$0")"

# begin options (--help prints this block; --foo-bar sets foo_bar)
stage=0                      # first stage to run
stop_stage=7                 # last stage to run
size=default                 # corpus size (train + held-out audio): ci (2 min) | small (44 min) | default (74 min) | medium (3.2 h) | large (11.5 h)
data_dir=data                # corpus (data_dir/corpus), manifests, lang dir
preset=sewd-mini-fbank       # model preset (python -m ssltk.bin.presets)
pretrain_config=             # default: conf/pretrain.yaml (conf/pretrain_s3l.yaml for s3l-* presets)
finetune_config=             # default: conf/finetune_s3l.yaml for s3l-*, conf/finetune_fbank.yaml for the wav2vec 2.0
                             # family on filter banks (*-fbank, sew-mini; conf/finetune_fbank_10m.yaml with
                             # --finetune-labels 10m), else conf/finetune.yaml
finetune_labels=1h           # label budget: a duration (10m, 30m, 1h, ...) or all
from_scratch=true            # also fine-tune a randomly initialised model (baseline)
init_ckpt=                   # stage 5's pre-trained start (default: the newest checkpoint of exp_dir/pretrain)
wfst_tokens=phones           # tokens the WFST decodes: letters | phones (a second CTC layer over espeak-ng's
                             # phones of each word, local/g2p.py, trained beside the letters; best.pt then
                             # follows its dev phone error rate; greedy reads the letter layer either way)
lm_order=2                   # n-gram order of the LM trained on the corpus text
lm_weights="1 2"             # LM weights tried on dev (WFST decoding)
word_scores="0"              # word scores tried on dev
beam=8                       # WFST beam (search cost grows fast with the beam on a weak model)
avg=1                        # decode best.pt (best dev score) or, N > 1, the average of the last N fine-tuning
                             # checkpoints (icefall's --avg; written every 250 updates)
amp=                         # train.amp of pre-training and fine-tuning (default: the confs'): auto | bf16 | none
decode_dtype=fp32            # decoding precision: fp32 | bf16 | auto (bf16 where the CPU has it); bf16
                             # pays from ~5 M parameters (benchmarks/README.md), s3l-mini is faster in fp32
nj=1                         # decoding processes per system: 1 decodes dev, test and test-other greedy and with the WFST
                             # from one pass of the network, the two systems side by side; N > 1 shards each set
                             # over N spawned processes (their start costs more than they save on ~100 utterances)
parallel_ft=true             # stage 5 fine-tunes both systems at once, each on half the cores (CPU: two 1-thread
                             # runs take 1.38x less wall time than two 2-thread runs in turn, benchmarks/README.md)
ngpu=0                       # GPUs for training (torchrun when > 1)
pt_updates=                  # pre-training updates (default: by --size)
ft_updates=                  # fine-tuning updates (default: by --size)
exp_dir=exp                  # experiment directory
results=RESULTS.md           # stage 7 records the run in results/<preset>_<hours>h_<labels>.json next
                             # to this file and rebuilds it from every recorded run
seed=0
# end options
help_message=$(sed -n '/^# begin options/,/^# end options/p' "${0##*/}")
. utils/parse_options.sh
. ./cmd.sh
. utils/recipe_lib.sh

corpus_dir=$data_dir/corpus
launch="python3"
[ "$ngpu" -gt 1 ] && launch="torchrun --standalone --nproc_per_node $ngpu"
manifests=$data_dir/manifests
lang=$data_dir/lang_char
wfst_lang=$lang; [ "$wfst_tokens" = phones ] && wfst_lang=$data_dir/lang_phone
case $wfst_tokens in letters|phones) ;; *) echo "$0: --wfst-tokens must be letters or phones" >&2; exit 1 ;; esac
case $parallel_ft in true|false) ;; *) echo "$0: --parallel-ft must be true or false" >&2; exit 1 ;; esac
pt_ci=()  # the 2-minute CI corpus is smaller than one 160 s batch: 40 s updates, a log line every 5
case $size in ci) pt=20; ft=20; pt_ci=(train.accum_grad=1 train.log_every=5) ;; small) pt=1500; ft=1500 ;;
  default|medium) pt=500; ft=1800 ;;
  large) pt=20000; ft=10000 ;; *) echo "$0: unknown --size $size" >&2; exit 1 ;; esac
pt_updates=${pt_updates:-$pt}
ft_updates=${ft_updates:-$ft}
case $preset in
  s3l-*) pretrain_config=${pretrain_config:-conf/pretrain_s3l.yaml} ;;
  *) pretrain_config=${pretrain_config:-conf/pretrain.yaml} ;;
esac
case $preset in  # a filter-bank front end trains with the rest from the first update (RESULTS.md, issue 15 notes)
  s3l-*) finetune_config=${finetune_config:-conf/finetune_s3l.yaml} ;;
  *-fbank|sew-mini) fbank_conf=conf/finetune_fbank.yaml  # 10 min of labels: a frozen start (fairseq's base_10m habit)
    [ "$finetune_labels" = 10m ] && fbank_conf=conf/finetune_fbank_10m.yaml
    finetune_config=${finetune_config:-$fbank_conf} ;;
  *) finetune_config=${finetune_config:-conf/finetune.yaml} ;;
esac

if [ $stage -le 0 ] && [ $stop_stage -ge 0 ]; then
  stage_begin 0
  log "Stage 0: check the TTS engine and text: espeakng-loader, Debian fortunes"
  python3 -c "import espeakng_loader" 2>/dev/null || python3 -m pip install --quiet espeakng-loader
  if ! ls /usr/share/games/fortunes/fortunes >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      mkdir -p "$data_dir"
      (apt-get update -qq && apt-get install -y -qq --no-install-recommends fortunes) >"$data_dir/apt.log" 2>&1 \
        || log "  could not install Debian's fortunes ($data_dir/apt.log says why): the corpus uses the built-in" \
          "grammar text"
    else
      log "  Debian's fortunes are not installed (apt-get install fortunes): using the built-in grammar text"
    fi
  fi
  stage_end 0
fi

if [ $stage -le 1 ] && [ $stop_stage -ge 1 ]; then
  stage_begin 1
  log "Stage 1: synthesise the corpus: espeak-ng + text -> $corpus_dir (size $size)"
  if done_or_run "$corpus_dir"; then
    python3 local/synthesize.py --out-dir "$corpus_dir" --size "$size" --seed "$seed"
    touch "$corpus_dir/.done"
  fi
  stage_end 1
fi

if [ $stage -le 2 ] && [ $stop_stage -ge 2 ]; then
  stage_begin 2
  log "Stage 2: Lhotse manifests and the label subset: $corpus_dir -> $manifests"
  if done_or_run "$manifests"; then
    parts="train-clean dev-clean test-clean"  # + test-other (unseen voices) where the corpus has it
    [ -d "$corpus_dir/test-other" ] && parts="$parts test-other"
    # shellcheck disable=SC2086
    python3 -m ssltk.bin.manifests librispeech --corpus-dir "$corpus_dir" --out-dir "$manifests" --parts $parts
    touch "$manifests/.done"
  fi
  sub=$manifests/cuts_train_${finetune_labels}.jsonl.gz
  if [ ! -f "$sub" ]; then
    if [ "$finetune_labels" = all ]; then cp "$manifests/cuts_train-clean.jsonl.gz" "$sub"
    else  # the 2-minute ci corpus has less than any useful budget: all of it, with a warning
      python3 -m ssltk.bin.subset --cuts "$manifests/cuts_train-clean.jsonl.gz" --budget "$finetune_labels" \
        --seed "$seed" --out "$sub" $([ "$size" = ci ] && echo --allow-short)
    fi
  fi
  stage_end 2
fi

if [ $stage -le 3 ] && [ $stop_stage -ge 3 ]; then
  stage_begin 3
  log "Stage 3: self-supervised pre-training of $preset: $manifests/cuts_train-clean -> $exp_dir/pretrain"
  if done_or_run "$exp_dir/pretrain"; then
    $train_cmd $launch -m ssltk.bin.pretrain --config "$pretrain_config" --exp-dir "$exp_dir/pretrain" \
      preset=$preset data.train_cuts=$manifests/cuts_train-clean.jsonl.gz \
      data.valid_cuts=$manifests/cuts_dev-clean.jsonl.gz train.max_updates=$pt_updates train.seed=$seed \
      ${amp:+train.amp=$amp} "${pt_ci[@]}"
    touch "$exp_dir/pretrain/.done"
  fi
  stage_end 3
fi

if [ $stage -le 4 ] && [ $stop_stage -ge 4 ]; then
  stage_begin 4
  log "Stage 4: lang dirs, ${lm_order}-gram LM and TLG ($wfst_tokens): $corpus_dir/lm_text.txt -> $wfst_lang"
  if done_or_run "$lang"; then
    python3 -m ssltk.bin.prepare_lang --text "$corpus_dir/lm_text.txt" --lang-dir "$lang" --tokens letters \
      --lm-order "$lm_order"
    touch "$lang/.done"
  fi
  if [ "$wfst_tokens" = letters ] && [ ! -f "$lang/TLG.fst" ]; then  # with phones, greedy needs tokens.txt only
    python3 -m ssltk.bin.compile_graph --lang-dir "$lang" --arpa "$lang/lm_${lm_order}gram.arpa"
  fi
  if [ "$wfst_tokens" = phones ] && done_or_run "$wfst_lang"; then
    python3 local/g2p.py --text "$corpus_dir/lm_text.txt" --out "$data_dir/lexicon_phone.txt"
    python3 -m ssltk.bin.prepare_lang --text "$corpus_dir/lm_text.txt" --lang-dir "$wfst_lang" --tokens lexicon \
      --lexicon "$data_dir/lexicon_phone.txt" --lm-order "$lm_order"
    python3 -m ssltk.bin.compile_graph --lang-dir "$wfst_lang" --arpa "$wfst_lang/lm_${lm_order}gram.arpa"
    touch "$wfst_lang/.done"
  fi
  stage_end 4
fi

model=best.pt; [ "$avg" -gt 1 ] && model=avg$avg.pt  # what stage 6 decodes
systems="finetune"
[ "$from_scratch" = true ] && systems="$systems finetune_scratch"

if [ $stage -le 5 ] && [ $stop_stage -ge 5 ]; then
  stage_begin 5
  running=(); failed=()
  pending=0; for sys in $systems; do [ -f "$exp_dir/$sys/.done" ] || pending=$((pending + 1)); done
  together=$parallel_ft; [ "$ngpu" -gt 0 ] || [ $pending -lt 2 ] && together=false  # GPUs: one run on all of them
  threads=$(( $(nproc) / 2 )); [ $threads -ge 1 ] || threads=1
  for sys in $systems; do
    extra=()
    if [ $sys = finetune_scratch ]; then
      # the same fine-tuning as the pre-trained start, the conf's frozen start included (at 10 min of labels it
      # gives a random encoder 59.4 % test WFST over seeds 0-2 against 62.1 without, RESULTS.md notes); only a
      # random front end is never kept frozen throughout
      init=preset:$preset; extra=(finetune.freeze_feature_encoder=false)
    else
      init=${init_ckpt:-$(finished_checkpoint "$exp_dir/pretrain")}
    fi
    log "Stage 5: CTC fine-tuning ($sys) on $finetune_labels of labels: $init -> $exp_dir/$sys"
    done_or_run "$exp_dir/$sys" || continue
    # shellcheck disable=SC2206  # train_cmd / launch are word lists (cmd.sh)
    cmd=($train_cmd $launch -m ssltk.bin.finetune --config "$finetune_config" --exp-dir "$exp_dir/$sys" \
      --init "$init" finetune.lang_dir=$lang data.train_cuts=$manifests/cuts_train_${finetune_labels}.jsonl.gz \
      data.valid_cuts=$manifests/cuts_dev-clean.jsonl.gz train.max_updates=$ft_updates train.seed=$seed \
      ${amp:+train.amp=$amp} "${extra[@]}")
    [ "$wfst_tokens" = phones ] && cmd+=(finetune.aux_lang_dir=$wfst_lang finetune.best_metric=aux_error_rate)
    if [ "$together" = true ]; then
      log "  beside the other system, $threads thread(s) each; its output: $exp_dir/$sys/log/stage5.log"
      beside "$exp_dir/$sys/log/stage5.log" "${cmd[@]}" train.num_threads=$threads  # INT / TERM: it checkpoints, stops
      running+=($sys)
    else
      "${cmd[@]}"
      touch "$exp_dir/$sys/.done"
    fi
  done
  beside_wait
  for i in "${!beside_rc[@]}"; do
    if [ "${beside_rc[$i]}" -eq 0 ]; then touch "$exp_dir/${running[$i]}/.done"; continue; fi
    echo "$0: fine-tuning $exp_dir/${running[$i]} failed (re-run stage 5 to resume it); the end of its log" \
      "${beside_logs[$i]}:" >&2
    tail -n 25 "${beside_logs[$i]}" >&2; failed+=("${running[$i]}")
  done
  [ ${#failed[@]} -eq 0 ] || exit 1
  for sys in $systems; do
    if [ "$avg" -gt 1 ] && ! [ "$exp_dir/$sys/$model" -nt "$exp_dir/$sys/.done" ]; then
      python3 -m ssltk.bin.average --exp-dir "$exp_dir/$sys" --last "$avg" --out "$exp_dir/$sys/avg$avg.pt"
    fi
  done
  stage_end 5
fi

if [ $stage -le 6 ] && [ $stop_stage -ge 6 ]; then
  stage_begin 6
  sets=(dev=$manifests/cuts_dev-clean.jsonl.gz test=$manifests/cuts_test-clean.jsonl.gz)
  [ -f $manifests/cuts_test-other.jsonl.gz ] && sets+=(test_other=$manifests/cuts_test-other.jsonl.gz)  # voices that no train speaker shares
  together=false; [ "$systems" != "${systems% *}" ] && [ "$nj" -eq 1 ] && [ "$(nproc)" -gt 1 ] && together=true
  running=(); failed=()
  for sys in $systems; do
    log "Stage 6: decoding ($sys, $model): ${sets[*]%%=*}, greedy and WFST from one pass of the network; the LM weight" \
      "/ word score grid on dev"
    decode_pending "$exp_dir/$sys" $lang $wfst_lang $model "${sets[@]}" || continue
    args=("$exp_dir/$sys" $lang $wfst_lang $nj "$lm_weights" "$word_scores" $beam $decode_dtype $model "${sets[@]}")
    if [ $together = true ]; then  # one thread each
      log "  beside the other system; its output: $exp_dir/$sys/log/stage6.log"
      beside "$exp_dir/$sys/log/stage6.log" decode_sets_and_score "${args[@]}"; running+=($sys)
    else
      decode_sets_and_score "${args[@]}"
    fi
  done
  beside_wait
  for i in "${!beside_rc[@]}"; do
    [ "${beside_rc[$i]}" -eq 0 ] && continue
    echo "$0: decoding $exp_dir/${running[$i]} failed (re-run stage 6); the end of its log ${beside_logs[$i]}:" >&2
    tail -n 25 "${beside_logs[$i]}" >&2; failed+=("${running[$i]}")
  done
  [ ${#failed[@]} -eq 0 ] || exit 1
  stage_end 6
fi

if [ $stage -le 7 ] && [ $stop_stage -ge 7 ]; then
  log "Stage 7: results (utils/score.sh outputs of stage 6) -> $results"
  python3 local/write_results.py --exp-dir "$exp_dir" --corpus-dir "$corpus_dir" --systems $systems \
    --preset "$preset" --labels "$finetune_labels" --wfst-tokens "$wfst_tokens" --results-dir "$(dirname "$results")/results" --out "$results" \
    --wall-seconds $SECONDS --from-stage $stage --command "$(run_command)"
  cat "$results"
fi
