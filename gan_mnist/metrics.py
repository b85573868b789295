"""Measuring GANs on MNIST: the standard sample-quality metrics, on the evaluator's outputs.

The classic write-ups end by asking how to judge a GAN. This module answers with the metrics
of the literature, computed offline on the features and logits of ``gan_mnist.evaluator`` (a
small MNIST classifier trained in this project) instead of downloaded Inception weights:

- ``frechet_distance``: the Frechet distance between Gaussians fitted to evaluator features of
  generated and real digits (FID, Heusel et al., 2017, "GANs Trained by a Two Time-Scale Update
  Rule Converge to a Local Nash Equilibrium").
- ``kernel_distance``: the kernel distance (KID, Binkowski et al., 2018, "Demystifying MMD
  GANs"): an unbiased squared MMD with a cubic polynomial kernel, averaged over subsets.
- ``classifier_score``: the Inception-score formula (Salimans et al., 2016, "Improved Techniques
  for Training GANs") with the evaluator as classifier; 10 is the maximum.
- ``class_coverage``: the predicted class histogram, its KL divergence from the real one and
  the number of classes seen (mode dropping, as in Srivastava et al., 2017, "VEEGAN").
- ``precision_recall_from_features`` and ``density_coverage_from_features``: the share of
  generated digits among real ones (fidelity) and of real ones among generated ones
  (diversity), from k-nearest-neighbour balls (``gan_mnist.manifolds``).
- ``evaluate``: all of them at once, next to the same numbers for real digits (the "floor").

Images are taken as ``gan_mnist.evaluator.prepare_images`` takes them; ``gan-mnist evaluate``
scores a run or a ``.npy`` file of images from the command line.
"""

import math

import numpy as np

from gan_mnist import evaluator, latent as latent_noise, manifolds
from gan_mnist.backend import keras
from gan_mnist.choices import MAX_SAMPLES, REFERENCES  # noqa: F401 (part of the API)
from gan_mnist.data import load_mnist
from gan_mnist.evaluator import NUM_CLASSES
from gan_mnist.images import parse_range, to_unit
from gan_mnist.manifolds import DENSITY_K, PRECISION_K
from gan_mnist.manifolds import (  # noqa: F401 (part of the API)
    _check_feature_pair, density_coverage_from_features, manifold_metrics_from_features,
    nearest_neighbour_radii, precision_recall_from_features,
)

# A class counts as "seen" when its share of the samples is at least this fraction of its
# share of the real digits: about 1% of the samples on MNIST, far above the evaluator's own
# confusions (0.8% of real digits, spread over nine classes) yet met by a class that is
# present at a tenth of its real frequency.
SEEN_FRACTION = 0.1
# Added to the reference histogram before the KL divergence, so that a reference without
# some class (say a one-digit reference) still gives a finite number.
HISTOGRAM_EPSILON = 1e-6
# The reference images and the floor's train images are drawn with this seed, so every call of
# `evaluate` at the same `n` compares against the same real digits.
REFERENCE_SEED = 0

_REFERENCES = {}
_LABELS = {}


# Frechet distance.


def _symmetric_sqrt(matrix):
    """Square root of a symmetric positive semi-definite matrix by eigen-decomposition."""
    eigenvalues, eigenvectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ eigenvectors.T


def frechet_distance_from_statistics(mean, covariance, reference_mean, reference_covariance):
    """Frechet distance between the Gaussians N(mean, covariance) and N(reference_mean, ...).

    ``d^2 = |m1 - m2|^2 + tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2)``, in float64. Both square roots
    are taken by symmetric eigen-decomposition with tiny negative eigenvalues (rounding)
    clipped to zero, so the result is real and stable even for singular covariances.
    """
    mean, reference_mean = (np.asarray(m, dtype=np.float64) for m in (mean, reference_mean))
    covariance, reference_covariance = (
        np.asarray(c, dtype=np.float64) for c in (covariance, reference_covariance)
    )
    root = _symmetric_sqrt(covariance)
    product = root @ reference_covariance @ root
    product_eigenvalues = np.linalg.eigvalsh((product + product.T) / 2)
    trace_of_root = np.sqrt(np.clip(product_eigenvalues, 0, None)).sum()
    distance = np.sum((mean - reference_mean) ** 2) + np.trace(covariance)
    distance = distance + np.trace(reference_covariance) - 2 * trace_of_root
    return float(max(distance, 0.0))


def frechet_distance_from_features(features, reference_features):
    """Frechet distance between Gaussians fitted to two feature sets ``(samples, dims)``."""
    features, reference_features = _check_feature_pair(features, reference_features)
    return frechet_distance_from_statistics(
        features.mean(axis=0), np.cov(features, rowvar=False),
        reference_features.mean(axis=0), np.cov(reference_features, rowvar=False),
    )


def _feature_sets(images, reference, batch_size):
    """The evaluator features of two image sets."""
    image_sets = (images, reference)
    return [evaluator.features_and_logits(image_set, batch_size)[0] for image_set in image_sets]


def frechet_distance(images, reference, batch_size=1000):
    """FID-style distance between two image sets, on the evaluator's 128 ``features``.

    Lower is better; two samples of real digits score near ``evaluate``'s ``floor_fid``, which
    shrinks as the samples grow.
    """
    return frechet_distance_from_features(*_feature_sets(images, reference, batch_size))


# Kernel distance.


def _polynomial_kernel(x, y):
    """The cubic polynomial kernel of KID: k(x, y) = (x.y / d + 1)^3."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def _unbiased_mmd2(x, y):
    """Unbiased estimate of the squared MMD between samples x and y (diagonals left out)."""
    m, n = len(x), len(y)
    k_xx, k_yy, k_xy = _polynomial_kernel(x, x), _polynomial_kernel(y, y), _polynomial_kernel(x, y)
    return (
        (k_xx.sum() - np.trace(k_xx)) / (m * (m - 1))
        + (k_yy.sum() - np.trace(k_yy)) / (n * (n - 1))
        - 2 * k_xy.sum() / (m * n)
    )


def kernel_distance_from_features(
    features, reference_features, subsets=100, subset_size=1000, seed=0
):
    """KID between two feature sets: ``(kid, kid_std)``.

    Each of ``subsets`` rounds draws ``subset_size`` samples from each set (without
    replacement) and computes the unbiased squared MMD with the cubic polynomial kernel, in
    float64. ``kid`` is the mean over the rounds; ``kid_std`` is their standard deviation,
    the standard error of a KID estimate from ``subset_size`` samples per side (as in
    Binkowski et al. and torch-fidelity; the mean of the rounds is somewhat more precise).
    ``subset_size`` is reduced to half the smaller set when larger, so that the subsets differ.
    Being unbiased, the estimate averages 0 for two samples of one distribution and can be
    slightly negative.
    """
    features, reference_features = _check_feature_pair(features, reference_features)
    for argument, value in (("subsets", subsets), ("subset_size", subset_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{argument} must be a positive integer, got {value!r}.")
    size = min(subset_size, min(len(features), len(reference_features)) // 2)
    if size < 2:
        raise ValueError(
            "KID needs subsets of at least 2 samples drawn from at most half of each set; got "
            f"subset_size={subset_size} with {len(features)} and {len(reference_features)} "
            "samples."
        )
    generator = np.random.default_rng(seed)
    estimates = np.empty(subsets)
    for index in range(subsets):
        x = features[generator.choice(len(features), size, replace=False)]
        y = reference_features[generator.choice(len(reference_features), size, replace=False)]
        estimates[index] = _unbiased_mmd2(x, y)
    return float(estimates.mean()), float(estimates.std())


def kernel_distance(images, reference, subsets=100, subset_size=1000, seed=0, batch_size=1000):
    """KID between two image sets on the evaluator's features: ``(kid, kid_std)``.

    See ``kernel_distance_from_features`` for the estimator and the meaning of ``kid_std``.
    """
    features, reference_features = _feature_sets(images, reference, batch_size)
    return kernel_distance_from_features(features, reference_features, subsets, subset_size, seed)


# Classifier score and class coverage.


def _log_softmax(logits):
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2 or logits.shape[1] != NUM_CLASSES or len(logits) == 0:
        raise ValueError(f"Expected logits shaped (N, {NUM_CLASSES}), got {logits.shape}.")
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def classifier_score_from_logits(logits):
    """exp(E_x KL(p(y|x) || p(y))) from class logits ``(N, 10)``, in float64.

    p(y) is the mean of p(y|x) over the whole sample (a single split). The score is 1 when
    every image gets the same prediction and 10 when predictions are confident and the ten
    classes equally frequent.
    """
    log_conditional = _log_softmax(logits)
    conditional = np.exp(log_conditional)
    log_marginal = np.log(conditional.mean(axis=0))
    divergences = (conditional * (log_conditional - log_marginal)).sum(axis=1)
    return float(np.exp(divergences.mean()))


def classifier_score(images, batch_size=1000):
    """The Inception-score formula with the MNIST evaluator: 1 (one class) to 10 (best)."""
    _, logits = evaluator.features_and_logits(images, batch_size)
    return classifier_score_from_logits(logits)


def _reference_histogram(reference):
    """The real class histogram: test-set labels by default, else labels or a histogram."""
    if reference is None:
        reference = _labels("test")
    reference = np.asarray(reference)
    if np.issubdtype(reference.dtype, np.integer):
        if reference.ndim != 1 or len(reference) == 0:
            raise ValueError(
                f"Reference labels must be a non-empty 1-D array, got shape {reference.shape}."
            )
        if reference.min() < 0 or reference.max() >= NUM_CLASSES:
            raise ValueError(f"Reference labels must lie in 0..{NUM_CLASSES - 1}.")
        return np.bincount(reference, minlength=NUM_CLASSES) / len(reference)
    if np.issubdtype(reference.dtype, np.floating):
        if reference.shape != (NUM_CLASSES,) or reference.min() < 0 or reference.sum() <= 0:
            raise ValueError(
                f"A reference histogram must be {NUM_CLASSES} non-negative floats with a "
                f"positive sum, got {reference!r}."
            )
        return reference.astype(np.float64) / reference.sum()
    raise ValueError(
        "reference must be None, integer labels (N,) or a float histogram of 10 classes, "
        f"got dtype {reference.dtype}."
    )


def class_coverage_from_logits(logits, reference=None):
    """Class coverage of predictions ``(N, 10)``; see ``class_coverage``."""
    predictions = _log_softmax(logits).argmax(axis=1)
    histogram = np.bincount(predictions, minlength=NUM_CLASSES) / len(predictions)
    real = _reference_histogram(reference)
    smoothed = (real + HISTOGRAM_EPSILON) / (1 + NUM_CLASSES * HISTOGRAM_EPSILON)
    present = histogram > 0
    kl = float(np.sum(histogram[present] * np.log(histogram[present] / smoothed[present])))
    seen = int(np.sum((histogram >= SEEN_FRACTION * real) & (real > 0)))
    return dict(histogram=histogram, reference_histogram=real, kl=max(kl, 0.0), classes_seen=seen)


def class_coverage(images, reference=None, batch_size=1000):
    """Which digits a generator draws, from the evaluator's predicted classes.

    Returns a dict: ``histogram`` (the share of images predicted as each class),
    ``reference_histogram`` (the real one: the test-set labels unless ``reference`` gives
    integer labels or a float histogram), ``kl`` and ``classes_seen``.

    ``kl`` is KL(p_generated || p_real). This direction needs no smoothing of the generated
    histogram (a missing class adds 0, real classes all have mass), its maximum for MNIST is
    about log(10) = 2.3 (one class only), and it is the "reverse KL" of mode counting in
    VEEGAN and PacGAN: dropping one of ten equally frequent classes costs log(10/9) = 0.105,
    while sampling noise at N images is about 9 / (2 N). ``classes_seen`` counts the classes
    whose share is at least ``SEEN_FRACTION`` (a tenth) of their real share.
    """
    _, logits = evaluator.features_and_logits(images, batch_size)
    return class_coverage_from_logits(logits, reference)


# Whole evaluation.


def _labels(split):
    if split not in _LABELS:
        _LABELS[split] = load_mnist(split)[1]
    return _LABELS[split]


def _pick(split, n):
    """``n`` digits of a split: all of them when ``n`` is the split's size, else a fixed subset."""
    images, _ = load_mnist(split)
    if n == len(images):
        return images
    chosen = np.random.default_rng(REFERENCE_SEED).choice(len(images), n, replace=False)
    return images[np.sort(chosen)]


def _manifold_scores(features, cached):
    """Precision, recall, density and coverage with the reference's cached radii (NaN: n <= k)."""
    if cached["radii"] is None:
        return dict.fromkeys(("precision", "recall", "density", "coverage"), math.nan)
    return manifolds.manifold_metrics_from_features(features, cached["features"],
                                                    reference_radii=cached["radii"])


def _scores(features, logits, reference, cached, subsets, subset_size, seed):
    """Every metric of one sample's features and logits against a reference split."""
    reference_features = cached["features"]
    kid, kid_std = kernel_distance_from_features(
        features, reference_features, subsets, subset_size, seed=seed
    )
    classes = class_coverage_from_logits(logits, _labels(reference))
    fid = frechet_distance_from_features(features, reference_features)
    score = classifier_score_from_logits(logits)
    return dict(fid=fid, kid=kid, kid_std=kid_std, score=score, class_kl=classes["kl"],
                classes_seen=classes["classes_seen"], **_manifold_scores(features, cached))


def _reference(reference, n, batch_size, subsets, subset_size):
    """Features (and ball radii) of the reference digits and the real-data floor, cached."""
    key = (reference, n, subsets, subset_size)
    if key not in _REFERENCES:
        other = "train" if reference == "test" else "test"
        features, _ = evaluator.features_and_logits(_pick(reference, n), batch_size)
        radii = manifolds.reference_radii(features) if n > max(PRECISION_K, DENSITY_K) else None
        cached = dict(features=features, radii=radii)
        floor_features, floor_logits = evaluator.features_and_logits(_pick(other, n), batch_size)
        floor = _scores(floor_features, floor_logits, reference, cached, subsets, subset_size,
                        REFERENCE_SEED)
        cached["floor"] = {f"floor_{name}": value for name, value in floor.items()}
        _REFERENCES[key] = cached
    return _REFERENCES[key]


def _value_range(generator, value_range):
    """The range of a generator's images: its own ``value_range`` when it has one."""
    own = getattr(generator, "value_range", None)
    given = value_range is not None
    if own is not None and given and parse_range(value_range) != parse_range(own):
        raise ValueError(f"value_range={value_range!r} contradicts the generator's own {own!r}.")
    return own if own is not None else value_range


def sample(generator, n, seed=0, latent=None, batch_size=1000, value_range=None):
    """``n`` images from a generator, as float32 in [0, 1] (the generator's shape kept).

    ``generator`` is an object with ``generate(n, seed=...)`` (the ``GAN`` class, whose
    ``value_range`` gives its images' range), a ``keras.Model`` from latent vectors to images
    (then ``latent`` names its noise, one of ``latent.DISTRIBUTIONS``; the size comes from
    ``generator.input_shape[-1]``), or a callable ``f(n, seed=seed)`` returning images. Without
    a ``value_range`` of the generator's own, ``value_range`` or the values give the range.
    """
    value_range = _value_range(generator, value_range)
    if hasattr(generator, "generate"):
        images = generator.generate(n, seed=seed)
    elif isinstance(generator, keras.Model):
        if latent not in latent_noise.DISTRIBUTIONS:
            raise ValueError(
                f"A plain Keras generator needs its noise distribution: pass latent='uniform' or "
                f"latent='normal' (got {latent!r}); RunConfig.from_preset(preset).latent gives "
                "it for the presets."
            )
        noise = latent_noise.sample_latent(n, generator.input_shape[-1], latent, seed=seed)
        batches = [noise[start : start + batch_size] for start in range(0, n, batch_size)]
        images = np.concatenate([latent_noise.generate(generator, batch) for batch in batches])
    elif callable(generator):
        images = generator(n, seed=seed)
    else:
        raise ValueError(
            f"Cannot draw images from a {type(generator).__name__}; pass images, a keras.Model, "
            "an object with generate(n, seed=...) or a callable f(n, seed=...)."
        )
    return to_unit(images, value_range)


def evaluate(generator_or_images, n=10_000, reference="test", seed=0, batch_size=1000,
             latent=None, value_range=None, subsets=100, subset_size=1000):
    """Every metric for ``n`` generated images, next to the same metrics for real digits.

    ``generator_or_images`` is an image array (its first ``n`` images are used) or anything
    ``sample`` draws from (with ``seed`` and ``latent``); ``value_range`` is the range of an
    array or a plain model's images (a ``GAN`` brings its own). ``reference`` is the MNIST split
    compared against: ``"test"`` (default) or ``"train"``; ``n`` of its digits are used (all of
    the test set at the default n = 10,000). The floor compares ``n`` digits of the other split
    against the same reference, so every number can be read against what real digits score.

    Returns a flat dict of numbers: ``n``, ``fid``, ``kid``, ``kid_std``, ``score``,
    ``class_kl``, ``classes_seen``, ``precision``, ``recall`` (k = 3), ``density``,
    ``coverage`` (k = 5; NaN when n <= 5), ``fid_ratio`` (fid / floor_fid) and the ``floor_``
    of each but n and fid_ratio. Reference features, radii and the floor are cached per process.
    """
    if reference not in REFERENCES:
        raise ValueError(f"Unknown reference {reference!r}; valid references: {REFERENCES}.")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 2 <= n <= MAX_SAMPLES:
        raise ValueError(
            f"n must be an integer from 2 to {MAX_SAMPLES:,} (the size of the MNIST test set, "
            f"which is either the reference or the floor's sample), got {n!r}."
        )
    n = int(n)
    # Keras models are callable too.
    if not (hasattr(generator_or_images, "generate") or callable(generator_or_images)):
        images = np.asarray(generator_or_images)
        if images.ndim >= 1 and len(images) < n:
            raise ValueError(
                f"Got {len(images)} images but n={n}. Fix: pass n={len(images)} (the floor is "
                "then computed at that size too) or more images."
            )
        images = images[:n]
    else:
        images = sample(generator_or_images, n, seed, latent, batch_size, value_range)
        value_range = (0.0, 1.0)
        if len(images) != n:
            raise ValueError(f"The generator returned {len(images)} images, expected {n}.")
    features, logits = evaluator.features_and_logits(images, batch_size, value_range)
    cached = _reference(reference, n, batch_size, subsets, subset_size)
    scores = _scores(features, logits, reference, cached, subsets, subset_size, seed)
    fid_ratio = scores["fid"] / cached["floor"]["floor_fid"]
    return dict(n=n, **scores, fid_ratio=fid_ratio, **cached["floor"])

