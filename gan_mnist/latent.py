"""The latent space: sampling noise vectors, walking between them, and what generators make of it.

Generators map latent vectors ``z`` of ``latent_dim`` numbers to images. The MLP write-ups draw
z ~ U(-1, 1), DCGAN z ~ N(0, 1): ``sample_latent`` draws both, from a NumPy generator of its
own, so sampling never shifts any other random numbers, and ``truncate`` shrinks them towards
their mean. The walks show what a generator learned between two digits.
"""

import inspect
import math

import numpy as np

from gan_mnist.visualize import image_grid

from gan_mnist.choices import LATENTS as DISTRIBUTIONS

# The mean of both distributions, U(-1, 1) and N(0, 1): where truncation pulls the vectors.
MEAN = np.float32(0.0)


def _check_count(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer of at least {minimum}, got {value!r}.")
    return int(value)


def _fraction(name, value, hint=""):
    """``value`` as a float from 0 to 1; ``ValueError`` naming ``name`` otherwise."""
    if (isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating))
            or not 0.0 <= value <= 1.0):
        raise ValueError(f"{name} must be a number from 0 to 1{hint}, got {value!r}.")
    return float(value)


def check_truncation(truncation):
    """``truncation`` as a float in [0, 1]; ``ValueError`` naming the fix otherwise."""
    return _fraction("truncation", truncation, " (1: the noise as drawn, 0: every vector at "
                     "the mean; StyleGAN shows 0.7)")


def truncate(latents, truncation):
    """The truncation trick: latent vectors shrunk towards their mean, float32.

    ``z' = mean + truncation * (z - mean)`` (StyleGAN's psi; Karras et al., 2019), where both
    distributions have mean 0. Smaller values trade variety for typical digits (BigGAN's
    fidelity against variety; Brock et al., 2019), and 0 makes every vector the mean: one digit
    per label. ``truncation=1`` returns the vectors unchanged.
    """
    truncation = check_truncation(truncation)
    latents = np.asarray(latents, dtype=np.float32)
    if truncation == 1.0:
        return latents
    return (MEAN + np.float32(truncation) * (latents - MEAN)).astype(np.float32)


def sample_latent(n, latent_dim, distribution="uniform", seed=None, truncation=1.0):
    """``n`` latent vectors as float32 ``(n, latent_dim)``; the same ``seed`` gives the same ones.

    ``"uniform"`` draws from U(-1, 1), ``"normal"`` from N(0, 1), with
    ``np.random.default_rng(seed)``. ``seed=None`` takes a seed from NumPy's global generator.
    ``truncation`` below 1 shrinks them towards their mean (see ``truncate``).
    """
    n = _check_count("n", n, 1)
    latent_dim = _check_count("latent_dim", latent_dim, 1)
    if distribution not in DISTRIBUTIONS:
        raise ValueError(
            f"Unknown latent distribution {distribution!r}; use one of {DISTRIBUTIONS}."
        )
    truncation = check_truncation(truncation)
    if seed is None:
        seed = int(np.random.randint(0, 2**31 - 1))
    generator = np.random.default_rng(_check_count("seed", seed, 0))
    if distribution == "uniform":
        latents = generator.uniform(-1.0, 1.0, size=(n, latent_dim))
    else:
        latents = generator.standard_normal(size=(n, latent_dim))
    return truncate(latents.astype(np.float32), truncation)


def _latent_vector(vector, name):
    vector = np.asarray(vector, dtype=np.float64)
    if vector.ndim == 2 and vector.shape[0] == 1:
        vector = vector[0]
    if vector.ndim != 1 or not len(vector):
        raise ValueError(
            f"{name} must be one latent vector (latent_dim,), got shape {vector.shape}."
        )
    if not np.all(np.isfinite(vector)):
        raise ValueError(f"{name} holds NaN or infinite values.")
    return vector


def _walk(start, end, fractions, method):
    """The points ``fractions`` (0: ``start``, 1: ``end``) of the way from ``start`` to ``end``."""
    start, end = _latent_vector(start, "start"), _latent_vector(end, "end")
    if start.shape != end.shape:
        raise ValueError(f"start and end differ in size: {start.shape} and {end.shape}.")
    if method not in ("linear", "slerp"):
        raise ValueError(f"Unknown method {method!r}; use 'linear' or 'slerp'.")
    fractions = np.asarray(fractions, dtype=np.float64)[:, np.newaxis]
    norms = np.linalg.norm(start) * np.linalg.norm(end)
    angle = math.acos(np.clip(start @ end / norms, -1.0, 1.0)) if norms > 0 else 0.0
    if method == "linear" or math.sin(angle) < 1e-6:
        latents = (1.0 - fractions) * start + fractions * end
    else:
        latents = (
            np.sin((1.0 - fractions) * angle) * start + np.sin(fractions * angle) * end
        ) / math.sin(angle)
    return latents.astype(np.float32)


def interpolate_latents(start, end, steps=10, method="linear"):
    """``steps`` latent vectors from ``start`` to ``end`` (both included), float32.

    ``"linear"`` mixes the two vectors; it suits uniform latents (the MLP write-ups sample
    z ~ U(-1, 1)). ``"slerp"`` follows the great circle between them (White, 2016, "Sampling
    generative networks"), keeping normal latents at typical lengths instead of cutting through
    the low-density middle; nearly parallel vectors fall back to linear.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise ValueError(f"steps must be an integer of at least 2, got {steps!r}.")
    return _walk(start, end, np.linspace(0.0, 1.0, steps), method)


def _walk_ends(starts, ends):
    """``starts`` and ``ends`` as float64 ``(walks, latent_dim)``, checked to match."""
    starts, ends = np.asarray(starts, dtype=np.float64), np.asarray(ends, dtype=np.float64)
    starts, ends = np.atleast_2d(starts), np.atleast_2d(ends)
    if starts.ndim != 2 or starts.shape != ends.shape:
        raise ValueError(
            "starts and ends must both be (walks, latent_dim), "
            f"got {starts.shape} and {ends.shape}."
        )
    return starts, ends


def walk_position(starts, ends, position, method="linear"):
    """The latent vectors ``position`` (0: ``starts``, 1: ``ends``) of the way along the walks
    of ``interpolate_latents`` from each row of ``starts`` to the same row of ``ends``.

    Float32 ``(walks, latent_dim)``; position 0 gives ``starts`` and 1 gives ``ends`` exactly.
    """
    starts, ends = _walk_ends(starts, ends)
    position = _fraction("position", position, " (0: starts, 1: ends)")
    return np.concatenate([_walk(start, end, [position], method)
                           for start, end in zip(starts, ends)])


def generate(generator, latents):
    """Images from ``generator`` for ``latents`` as a NumPy array.

    ``generator`` is a Keras model or any callable mapping ``(N, latent_dim)`` to images;
    callables that accept ``training`` (Keras models do) get ``training=False`` so batch
    normalisation uses its moving statistics.
    """
    latents = np.asarray(latents, dtype=np.float32)
    try:
        parameters = inspect.signature(generator).parameters.values()
    except (TypeError, ValueError):
        parameters = ()
    takes_training = any(
        parameter.name == "training" or parameter.kind is inspect.Parameter.VAR_KEYWORD
        for parameter in parameters
    )
    images = np.asarray(
        generator(latents, training=False) if takes_training else generator(latents)
    )
    if images.shape[:1] != latents.shape[:1]:
        raise ValueError(
            f"The generator returned shape {images.shape} for {len(latents)} latent vectors; "
            "it must return one image per vector."
        )
    return images


def interpolate(generator, start, end, steps=10, method="linear"):
    """The generator's images along the latent path from ``start`` to ``end``.

    Shows what the generator learned between two digits. See ``interpolate_latents`` for
    ``method``; the result is what ``generator`` returns, for example ``(steps, 28, 28, 1)``.
    """
    return generate(generator, interpolate_latents(start, end, steps, method))


def latent_walk_grid(
    generator, starts, ends, steps=10, method="linear", value_range=None, title=None, size=0.7
):
    """A figure with one row per latent walk, from ``starts[i]`` (left) to ``ends[i]`` (right).

    ``starts`` and ``ends`` are ``(walks, latent_dim)`` (or one vector each). All walks go through
    the generator in one batch.
    """
    starts, ends = _walk_ends(starts, ends)
    latents = np.concatenate(
        [interpolate_latents(start, end, steps, method) for start, end in zip(starts, ends)]
    )
    images = generate(generator, latents)
    return image_grid(
        images, rows=len(starts), cols=steps, title=title, value_range=value_range, size=size
    )
