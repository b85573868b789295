"""The benchmarks' own logic: quality_at_budget's learning-rate decay counted by the clock, and
the slant and width by which benchmarks/infogan.py reads what a continuous code controls."""

import sys
import time
from pathlib import Path

import numpy as np
import pytest

from gan_mnist import RunConfig, build_gan, data

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import quality_at_budget  # noqa: E402


def test_the_rates_hold_then_fall_linearly_to_zero_at_the_end_of_the_budget():
    scale = quality_at_budget.rate_scale
    assert scale(10.0, 100.0, None) == 1.0
    assert [scale(seconds, 100.0, 0.6) for seconds in (0, 60, 70, 90, 100, 120)] == (
        pytest.approx([1.0, 1.0, 0.75, 0.25, 0.0, 0.0]))
    assert scale(50.0, 100.0, 0.0) == pytest.approx(0.5)


def test_a_budget_with_decay_ends_near_a_zero_rate_and_one_without_keeps_its_rate(monkeypatch):
    monkeypatch.setattr(quality_at_budget, "FIRST_CHUNK_STEPS", 20)  # Many chunks in 4 s.
    images = data.load_mnist("test")[0][:512]
    config = RunConfig.from_preset("leaky", latent_dim=8, generator_widths=(8,),
                                   discriminator_widths=(8,), batch_size=16, jit_compile=False)
    for decay_from in (None, 0.5):
        gan = build_gan(config)
        start = time.perf_counter()
        steps, _, _ = quality_at_budget.train_for(gan, config, images, None, 4.0, start,
                                                  decay_from=decay_from)
        rates = [float(optimizer.learning_rate) for optimizer in (gan.d_optimizer,
                                                                   gan.g_optimizer)]
        if decay_from is None:
            assert rates == pytest.approx([config.d_learning_rate, config.g_learning_rate])
        else:
            assert steps > 0 and max(rates) < 0.3 * config.d_learning_rate
    with pytest.raises(ValueError, match="--decay-from must be a fraction"):
        quality_at_budget.run(1.0, "mlp", decay_from=1.0)
