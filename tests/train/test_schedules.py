import pytest

from ssltk.train.config import ScheduleConfig
from ssltk.train.schedules import lr_multiplier


def test_polynomial_warmup_then_linear_decay():
    f = lr_multiplier(ScheduleConfig(type="polynomial", warmup_updates=10), total_updates=110)
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(60) == pytest.approx(0.5) and f(110) == 0.0


def test_tri_stage_phases():
    f = lr_multiplier(ScheduleConfig(type="tri_stage", phase_ratio=(0.1, 0.4, 0.5), init_lr_scale=0.01,
                                     final_lr_scale=0.05), total_updates=100)
    assert f(0) == pytest.approx(0.01) and f(10) == 1.0 and f(49) == 1.0
    assert f(100) == pytest.approx(0.05) and 0.05 < f(75) < 1.0


def test_cyclic_triangular_cycles():
    f = lr_multiplier(ScheduleConfig(type="cyclic", cycle_up=25, cycle_down=25, cycle_base_ratio=0.01), 400)
    assert f(0) == pytest.approx(0.01) and f(25) == 1.0 and f(50) == pytest.approx(0.01)
    assert f(12) == pytest.approx(f(38)) and f(75) == 1.0  # symmetric, periodic
