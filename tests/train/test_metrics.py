"""metrics.jsonl: written per logged update, truncated to the checkpoint on resume, robust to torn lines."""
import json

from ssltk.train.metrics import MetricsWriter, read_metrics


def test_a_torn_last_line_does_not_block_resume_or_plots(tmp_path, caplog):
    w = MetricsWriter(tmp_path)
    for u in (10, 20, 30):
        w.write(u, {"loss": 1.0 / u})
    w.close()
    path = tmp_path / "metrics.jsonl"
    with open(path, "a") as f:
        f.write('{"update": 40, "split": "train", "lo')  # power lost mid-write
    assert [r["update"] for r in read_metrics(tmp_path)] == [10, 20, 30]
    assert "metrics.jsonl:4: dropping a line" in caplog.text
    w = MetricsWriter(tmp_path, resume_update=20)  # resume from the checkpoint of update 20
    w.write(30, {"loss": 0.5})
    w.close()
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(r["update"], r["loss"]) for r in rows] == [(10, 0.1), (20, 0.05), (30, 0.5)]
