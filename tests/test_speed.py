"""sampling_speed times a draw(n) function: warm-up untimed, best repeat, batches, bad input."""

import time

import numpy as np
import pytest

from gan_mnist.speed import SamplingSpeed, sampling_speed


class SlowDraw:
    """draw(n): blank images after sleeping ``per_digit`` seconds a digit; the first call also
    sleeps ``first_call`` seconds, like a graph being traced."""

    def __init__(self, per_digit=1e-4, first_call=0.0):
        self.per_digit, self.first_call = per_digit, first_call
        self.calls = []

    def __call__(self, n):
        time.sleep(self.per_digit * n + (self.first_call if not self.calls else 0.0))
        self.calls.append(n)
        return np.zeros((n, 28, 28, 1), np.float32)


def test_speed_is_digits_over_the_best_time():
    draw = SlowDraw(per_digit=1e-4)
    speed = sampling_speed(draw, n=200, repeats=3)
    assert isinstance(speed, SamplingSpeed)
    assert speed.n == 200 and speed.batch_size == 200 and len(speed.times) == 3
    assert speed.seconds == min(speed.times)
    assert speed.digits_per_second == pytest.approx(200 / speed.seconds)
    assert speed.seconds >= 0.02  # 200 digits at 0.1 ms each
    assert draw.calls == [200] * 4  # one warm-up call, then one call per repeat
    assert "digits/s" in str(speed)


def test_the_warm_up_is_not_timed():
    draw = SlowDraw(per_digit=1e-5, first_call=0.5)
    speed = sampling_speed(draw, n=100, repeats=2)
    assert max(speed.times) < 0.25
    cold = sampling_speed(SlowDraw(per_digit=1e-5, first_call=0.5), n=100, repeats=2,
                          warmup=False)
    assert max(cold.times) >= 0.5


def test_batches_cover_n_and_each_batch_size_is_warmed_up():
    draw = SlowDraw(per_digit=0.0)
    speed = sampling_speed(draw, n=250, batch_size=100, repeats=2)
    assert speed.n == 250 and speed.batch_size == 100
    # Warm-up: one call per batch size (100, then the last 50); then 100 + 100 + 50 per repeat.
    assert draw.calls == [100, 50] + [100, 100, 50] * 2
    assert sampling_speed(SlowDraw(0.0), n=30, batch_size=100, repeats=1).batch_size == 30


def test_a_draw_that_returns_the_wrong_count_is_refused():
    with pytest.raises(ValueError, match=r"draw\(10\) returned 9 images"):
        sampling_speed(lambda n: np.zeros((n - 1, 28, 28)), n=10)
    with pytest.raises(ValueError, match="no sized result"):
        sampling_speed(lambda n: None, n=10)
    assert sampling_speed(lambda n: [0] * n, n=5, repeats=1).n == 5  # any sized result will do


@pytest.mark.parametrize("arguments, message", [
    (dict(n=0), "n must be an integer of at least 1"),
    (dict(n=2.5), "n must be an integer"),
    (dict(n=True), "n must be an integer"),
    (dict(batch_size=0), "batch_size must be"),
    (dict(repeats=0), "repeats must be"),
])
def test_bad_arguments_raise(arguments, message):
    with pytest.raises(ValueError, match=message):
        sampling_speed(SlowDraw(0.0), **arguments)


def test_draw_must_be_callable():
    with pytest.raises(ValueError, match="callable"):
        sampling_speed(np.zeros((10, 28, 28)), n=10)
    assert sampling_speed(SlowDraw(0.0), n=np.int64(4), repeats=1).n == 4
