import math

import torch

from ssltk.models.s3l import S3LOutput
from ssltk.objectives.teacher_student import TeacherStudentObjective


def test_loss_on_a_known_input():
    # 3 frames; prediction 0 matches target 0 (cos 1) and is orthogonal to targets 1, 2 (cos 0).
    target = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    pred = torch.tensor([[2.0, 0.0], [0.0, 3.0], [1.0, 1.0]])
    out = S3LOutput(pred=pred, target=target, mask=torch.ones(1, 3, dtype=torch.bool), feature_pen=torch.tensor(0.0))
    neg = torch.tensor([[1, 2], [0, 2], [0, 1]])
    res = TeacherStudentObjective(temperature=0.5)(out, neg)
    c = 1 / math.sqrt(2)
    row0 = -math.log(math.exp(2) / (math.exp(2) + 2))  # cos 1, 0, 0
    row1 = -math.log(math.exp(2) / (math.exp(2) + 1 + math.exp(-2)))  # cos 1, 0, -1
    row2 = -math.log(math.exp(-2 * c) / (math.exp(-2 * c) + math.exp(2 * c) + math.exp(2 * c)))  # cos -c, c, c
    assert abs(res.loss.item() - (row0 + row1 + row2) / 3) < 1e-5
    assert res.sample_size == 3
    assert abs(res.metrics["accuracy"] - 2 / 3) < 1e-6
    assert abs(res.metrics["positive_cos"] - (1 + 1 - c) / 3) < 1e-5


def test_a_negative_equal_to_the_positive_is_ignored():
    target = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    out = S3LOutput(pred=target.clone(), target=target, mask=torch.ones(1, 3, dtype=torch.bool),
                    feature_pen=torch.tensor(0.0))
    res = TeacherStudentObjective(0.5)(out, torch.tensor([[1, 2], [0, 2], [0, 1]]))
    row = -math.log(math.exp(2) / (math.exp(2) + 1))  # rows 0, 1: the identical distractor gets -inf
    row2 = -math.log(math.exp(2) / (math.exp(2) + 2))
    assert abs(res.loss.item() - (2 * row + row2) / 3) < 1e-5
