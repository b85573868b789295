"""How fast a generative model draws digits: ``sampling_speed``, timed like ``timeit``.

A GAN draws a digit in one pass of its generator; a diffusion model needs one pass of its
network per sampling step. ``sampling_speed(draw, n)`` measures what that costs on this machine:
it times ``draw`` making ``n`` images, a few times over, after a warm-up call that is not timed
(the first call of a Keras model or ``tf.function`` traces its graph, which later calls reuse),
and reports the best time, as ``timeit`` does: the others are the same work slowed down by
whatever else ran on the machine.
"""

import math
import numbers
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class SamplingSpeed:
    """The result of ``sampling_speed``.

    ``digits_per_second`` is ``n / seconds``; ``seconds`` is the best (shortest) of ``times``,
    the seconds each repeat took to draw ``n`` images in batches of ``batch_size``.
    """

    digits_per_second: float
    seconds: float
    n: int
    batch_size: int
    times: tuple

    def __str__(self):
        return (f"{self.digits_per_second:,.0f} digits/s ({self.n:,} digits in "
                f"{self.seconds:.3g} s, batches of {self.batch_size:,}, best of "
                f"{len(self.times)})")


def _check_integer(name, value, minimum):
    """``value`` as an int; ``ValueError`` unless it is an integer of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer of at least {minimum}, got {value!r}.")
    return int(value)


def _count(images):
    shape = getattr(images, "shape", None)
    if shape is not None and len(shape):
        return shape[0]
    try:
        return len(images)
    except TypeError:
        return None


def _batches(n, batch_size):
    return [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])


def sampling_speed(draw, n=1000, batch_size=None, repeats=3, warmup=True):
    """Time ``draw``: how many digits per second it makes. Returns a ``SamplingSpeed``.

    ``draw(count)`` must return ``count`` finished images (a NumPy array or anything with a
    length). Each of ``repeats`` repeats draws ``n`` images in calls of ``batch_size`` (all
    ``n`` in one call by default; a smaller last call makes up the rest), and the best repeat
    counts. With ``warmup``, ``draw`` is first called once with each batch size used, untimed,
    so that tracing graphs is not counted. ``ValueError`` for a bad argument, or when ``draw``
    returns the wrong number of images.
    """
    if not callable(draw):
        raise ValueError(f"draw must be a callable draw(n) returning n images, got {draw!r}.")
    n = _check_integer("n", n, 1)
    batch_size = n if batch_size is None else _check_integer("batch_size", batch_size, 1)
    batch_size = min(batch_size, n)
    repeats = _check_integer("repeats", repeats, 1)
    batches = _batches(n, batch_size)

    def call(count):
        got = _count(draw(count))
        if got != count:
            raise ValueError(
                f"draw({count}) returned {'no sized result' if got is None else got} images; it "
                f"must return {count}, one per digit asked for."
            )

    if warmup:
        for count in sorted(set(batches), reverse=True):
            call(count)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for count in batches:
            call(count)
        times.append(time.perf_counter() - start)
    best = min(times)
    rate = n / best if best > 0 else math.inf
    return SamplingSpeed(digits_per_second=rate, seconds=best, n=n, batch_size=batch_size,
                         times=tuple(times))
