"""DDP on CPU with gloo: 2 ranks x 1 micro-batch == 1 process accumulating 2 micro-batches."""
import os
import socket
import subprocess
import sys

import torch
import torch.multiprocessing as mp

from ssltk.models.checkpoint import load_checkpoint
from ssltk.models.wav2vec2 import build_pretraining_model
from ssltk.testing import pretrain_overrides, synthetic_batch
from ssltk.train.checkpoint import latest_checkpoint
from ssltk.train.config import load_pretrain_config
from ssltk.train.distributed import World, init_world, shutdown
from ssltk.train.loop import param_groups, train_update
from ssltk.train.pretrain import PretrainTask

OVERRIDES = ["preset=w2v2-test", "model.context.layerdrop=0", "train.seed=7"]


def micro_batches():
    a = synthetic_batch([16000, 12000], seed=1)
    b = synthetic_batch([14000, 9000, 15000], seed=2)
    return [{"audio": w, "audio_lens": n} for w, n in (a, b)]


def one_update(model, world, batches):
    cfg = load_pretrain_config(None, OVERRIDES)
    opt = torch.optim.AdamW(param_groups(model, 0.01), lr=1e-3)
    res = train_update(model, PretrainTask(cfg), batches, opt, None, cfg, world, update=0)
    return res


def _rank_main(rank, port, out):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE="2",
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    world = init_world("cpu")
    cfg = load_pretrain_config(None, OVERRIDES)
    torch.manual_seed(0)
    model = build_pretraining_model(cfg.model)
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    res = one_update(ddp, world, [micro_batches()[rank]])
    if rank == 0:
        torch.save({"state": model.state_dict(), "sample_size": res.sample_size}, out)
    shutdown(world)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_gloo_ranks_equal_one_process_with_accumulation(tmp_path):
    out = tmp_path / "ddp.pt"
    mp.spawn(_rank_main, args=(free_port(), str(out)), nprocs=2, join=True)
    ddp = torch.load(out, weights_only=True)

    torch.set_num_threads(1)
    cfg = load_pretrain_config(None, OVERRIDES)
    torch.manual_seed(0)
    model = build_pretraining_model(cfg.model)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    res = one_update(model, World(), micro_batches())
    assert res.ok and res.sample_size == ddp["sample_size"]
    changed = 0
    for k, v in model.state_dict().items():
        torch.testing.assert_close(ddp["state"][k], v, atol=2e-6, rtol=1e-5, msg=k)
        changed += not torch.equal(before[k], v)
    assert changed > 10, "the update changed the parameters"


def test_torchrun_two_ranks_end_to_end(tmp_path, corpus):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "ssltk.bin.pretrain", "--exp-dir", str(tmp_path),
           *pretrain_overrides(corpus, **{"train.max_updates": 4, "train.checkpoint_every": 2,
                                          "train.device": "cpu", "train.num_threads": 1})]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ckpt = load_checkpoint(latest_checkpoint(tmp_path))
    assert ckpt["update"] == 4 and len(ckpt["data_positions"]) == 2
    assert "x 2 ranks" in (tmp_path / "log" / "pretrain.log").read_text()
