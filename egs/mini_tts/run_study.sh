#!/usr/bin/env bash
# The two papers' central findings in miniature, on the mini_tts corpus and 2 CPU cores:
#  - "The Effect of Batch Size on Contrastive Self-Supervised Speech Representation Learning"
#    (arXiv:2402.13723), Fig. 2 / Fig. 5: the same SEW-D model pre-trained with the wav2vec 2.0 objective at
#    several batch sizes (seconds of audio per update) for equal updates under its cyclic LR schedule,
#    the peak LR by its square-root heuristic; training curves over updates and over hours of audio seen,
#    and fine-tuned WER against hours seen (RQ3: equal audio seen, about equal WER?);
#  - "Performance-Efficiency Trade-offs in Unsupervised Pre-training for Speech Recognition"
#    (SEW-D, arXiv:2109.06870), Fig. 1: test WER against inference time per utterance for wav2vec 2.0,
#    SEW and SEW-D mini presets pre-trained with the same audio and fine-tuned alike.
# Every pre-training / fine-tuning / decoding step is run.sh's or ssltk.bin's; finished steps are skipped.
#
#   ./run_study.sh                       # everything (data from run.sh stages 0-2 and 4 when missing)
#   ./run_study.sh --stage 3 --stop-stage 5
set -euo pipefail
cd "$(dirname "$0")"

# begin options (--help prints this block; --foo-bar sets foo_bar)
stage=0                      # first stage to run
stop_stage=5                 # last stage to run
size=default                 # corpus size (run.sh --size)
data_dir=data                # corpus, manifests and lang dirs (shared with run.sh)
exp_dir=exp_study            # everything the study writes
preset=sewd-mini-fbank       # the model of the batch-size study (and SEW-D in the Fig. 1 comparison)
fig1_presets="w2v2-mini sew-mini"  # pre-trained like the batch size fig1_batch and compared with $preset
batch_sizes="20 40 80 160 320"     # seconds of audio per update (20 s: one device batch; more: accumulated 40 s)
fig1_batch=160               # the batch (s) of the Fig. 1 runs; its batch-size run is $preset's
updates=400                  # pre-training updates of every run (equal updates; 400 keeps the whole study in
                             # 3 h on 2 cores: pre-training ~65 min, 12 fine-tunes ~80 min, RESULTS.md notes)
cycles=2                     # triangular LR cycles (the paper: 8 over 400k updates); a checkpoint at each end
finetune_labels=10m          # label budget of every fine-tuning (at 1 h, the hour pre-trained on, pre-training
                             # is worth under 1 point on this corpus, at 10 min 4-16, mean 9, over three seeds: RESULTS.md notes)
ft_updates=1800              # fine-tuning updates (run.sh --ft-updates; the main job's: at 1000 the tri-stage warm-up
                             # reaches the peak LR in 100 updates and weak starts stay in CTC's blank-only phase)
finetune_config=             # fine-tuning config of every system (default: conf/finetune_fbank.yaml,
                             # conf/finetune_fbank_10m.yaml at 10 min of labels: run.sh's choice for SEW-D)
results=RESULTS.md           # rebuilt with the study's tables (results/study.md next to it) and PNGs
seed=0                       # pre-training seed of every run
ft_seeds=0                   # fine-tuning seeds of every checkpoint (and of the from-scratch baseline); tables
                             # show the mean over them. RQ3 needs several: at 10 min of labels the seed alone moves
                             # test WFST by up to 8 points; each seed more adds ~80 min to stage 3
# end options
help_message=$(sed -n '/^# begin options/,/^# end options/p' "${0##*/}")
. utils/parse_options.sh
. ./cmd.sh
. utils/recipe_lib.sh
ft_config=$finetune_config  # resolved here, so run_command still records the options as given
if [ -z "$ft_config" ]; then  # every preset alike, w2v2-mini too (run.sh would give it conf/finetune.yaml)
  ft_config=conf/finetune_fbank.yaml; [ "$finetune_labels" = 10m ] && ft_config=conf/finetune_fbank_10m.yaml
fi

manifests=$data_dir/manifests
results_dir=$(dirname "$results")/results
half=$((updates / cycles / 2))
[ $((half * 2 * cycles)) -eq "$updates" ] || { echo "$0: --updates must be a multiple of 2 x --cycles" >&2; exit 1; }
for b in $batch_sizes; do
  [ "$b" -le 40 ] || [ $((b % 40)) -eq 0 ] || { echo "$0: --batch-sizes above 40 s must be multiples of 40" >&2; exit 1; }
done
[ -n "${ft_seeds// }" ] || { echo "$0: --ft-seeds needs at least one seed" >&2; exit 1; }
for s in $ft_seeds; do
  [[ "$s" =~ ^[0-9]+$ ]] || { echo "$0: --ft-seeds must be non-negative integers, e.g. \"0 1 2\"" >&2; exit 1; }
done
case " $batch_sizes " in *" $fig1_batch "*) ;;
  *) echo "$0: --fig1-batch must be one of --batch-sizes" >&2; exit 1 ;; esac
# run.sh for one system: the study's settings, once
run_recipe() { ./run.sh --size "$size" --data-dir "$data_dir" --finetune-labels "$finetune_labels" \
  --ft-updates "$ft_updates" --seed "$seed" --finetune-config "$ft_config" "$@"; }
# finetune DIR CKPT PRESET SCRATCH: run.sh stages 5-6 from CKPT once per fine-tuning seed, into DIR/seed<S>
# (its --seed comes after run_recipe's and wins; in stages 5-6 run.sh uses it as train.seed only)
finetune() {
  local s
  for s in $ft_seeds; do
    run_recipe --stage 5 --stop-stage 6 --preset "$3" --exp-dir "$1/seed$s" --init-ckpt "$2" --from-scratch "$4" \
      --seed "$s"
  done
}

# pretrain DIR PRESET BATCH_S: equal-update pre-training under the cyclic schedule, the conf's sqrt LR rule
pretrain() {
  local dir=$1 p=$2 b=$3 md=$3 accum=1
  [ "$b" -gt 40 ] && { md=40; accum=$((b / 40)); }
  if done_or_run "$dir"; then
    $train_cmd python3 -m ssltk.bin.pretrain --config conf/pretrain.yaml --exp-dir "$dir" preset=$p \
      data.train_cuts=$manifests/cuts_train-clean.jsonl.gz data.valid_cuts=$manifests/cuts_dev-clean.jsonl.gz \
      data.max_duration=$md train.accum_grad=$accum train.max_updates=$updates train.seed=$seed \
      schedule.type=cyclic schedule.cycle_up=$half schedule.cycle_down=$half \
      train.checkpoint_every=$((2 * half)) train.keep_last=$cycles train.valid_every=$((2 * half))
    touch "$dir/.done"
  fi
}

if [ $stage -le 0 ] && [ $stop_stage -ge 0 ]; then
  log "Stage 0: corpus, manifests, lang dirs (run.sh stages 0-2 and 4; not its stage 3 pre-training)"
  run_recipe --stop-stage 2 --exp-dir "$exp_dir"
  run_recipe --stage 4 --stop-stage 4 --exp-dir "$exp_dir"
fi

if [ $stage -le 1 ] && [ $stop_stage -ge 1 ]; then
  for b in $batch_sizes; do
    log "Stage 1: pre-training $preset at ${b} s per update, $updates updates -> $exp_dir/bs$b/pretrain"
    pretrain "$exp_dir/bs$b/pretrain" "$preset" "$b"
  done
  for p in $fig1_presets; do
    log "Stage 1: pre-training $p at $fig1_batch s per update (Fig. 1) -> $exp_dir/$p/pretrain"
    pretrain "$exp_dir/$p/pretrain" "$p" "$fig1_batch"
  done
fi

if [ $stage -le 2 ] && [ $stop_stage -ge 2 ]; then
  log "Stage 2: Fig. 2 panels over updates and over hours seen -> $results_dir/study_fig2_*"
  mkdir -p "$results_dir"
  runs=(); for b in $batch_sizes; do runs+=("$exp_dir/bs$b/pretrain"); done
  python3 -m ssltk.bin.plot "${runs[@]}" --out "$exp_dir/plots_updates" --x update
  python3 -m ssltk.bin.plot "${runs[@]}" --out "$exp_dir/plots_hours" --x hours
  cp "$exp_dir/plots_updates/figure2.png" "$results_dir/study_fig2_updates.png"
  cp "$exp_dir/plots_hours/figure2.png" "$results_dir/study_fig2_hours.png"
fi

if [ $stage -le 3 ] && [ $stop_stage -ge 3 ]; then
  # Fine-tune each run's last checkpoint and every cycle-end checkpoint that saw as much audio as
  # another run's last one (RQ3), the Fig. 1 presets and, beside the fig1_batch run, the from-scratch baseline.
  python3 local/study_results.py --exp-dir "$exp_dir" --batch-sizes $batch_sizes --updates "$updates" \
    --list-finetunes > "$exp_dir/finetunes.txt"
  while read -r b u ck <&3; do  # bsB UPDATE CHECKPOINT
    scratch=false; [ "$b" = "bs$fig1_batch" ] && [ "$u" = "$updates" ] && scratch=true  # the baseline, once
    log "Stage 3: fine-tuning $b after $u updates, seeds $ft_seeds (from scratch too: $scratch) -> $exp_dir/$b/u$u"
    finetune "$exp_dir/$b/u$u" "$ck" "$preset" $scratch
  done 3< "$exp_dir/finetunes.txt"
  for p in $fig1_presets; do
    log "Stage 3: fine-tuning $p, seeds $ft_seeds -> $exp_dir/$p/u$updates"
    finetune "$exp_dir/$p/u$updates" "$(finished_checkpoint "$exp_dir/$p/pretrain")" "$p" false
  done
fi

if [ $stage -le 4 ] && [ $stop_stage -ge 4 ]; then
  log "Stage 4: inference time per utterance (ssltk.bin.bench infer, side by side) -> $exp_dir/infer.jsonl"
  if [ ! -s "$exp_dir/infer.jsonl" ]; then
    args=(); for p in $preset $fig1_presets; do args+=(--preset "$p"); done
    python3 -m ssltk.bin.bench infer "${args[@]}" --seconds 5 --threads 2 > "$exp_dir/infer.jsonl.tmp"
    mv "$exp_dir/infer.jsonl.tmp" "$exp_dir/infer.jsonl"
  fi
fi

if [ $stage -le 5 ] && [ $stop_stage -ge 5 ]; then
  log "Stage 5: tables and plots -> $results_dir/study.md, $results"
  python3 local/study_results.py --exp-dir "$exp_dir" --batch-sizes $batch_sizes --updates "$updates" \
    --preset "$preset" --fig1-presets $fig1_presets --fig1-batch "$fig1_batch" --results-dir "$results_dir" \
    --labels "$finetune_labels" --command "$(run_command)"
  python3 local/write_results.py --render-only --results-dir "$results_dir" --out "$results"
fi
