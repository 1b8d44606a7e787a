# How jobs run, in one place (Kaldi/ESPnet style). Local by default.
# On a slurm cluster, e.g.:
#   train_cmd="srun --gres=gpu:1 --cpus-per-task=8 --mem=32G --time=48:00:00"
#   decode_cmd="srun --cpus-per-task=4 --mem=8G"
# For several GPUs per training job use torchrun inside the job, see ssltk/train/distributed.py.
train_cmd=""
decode_cmd=""
