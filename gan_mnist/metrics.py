"""Measuring GANs on MNIST: an evaluator network and the standard sample-quality metrics.

The classic write-ups end by asking how to judge a GAN. This module answers with the metrics
of the literature, computed offline with a small MNIST classifier (the "evaluator") trained in
this project instead of downloaded Inception weights:

- ``frechet_distance``: the Frechet distance between Gaussians fitted to evaluator features of
  generated and real digits (FID, Heusel et al., 2017, "GANs Trained by a Two Time-Scale Update
  Rule Converge to a Local Nash Equilibrium").
- ``kernel_distance``: the kernel distance (KID, Binkowski et al., 2018, "Demystifying MMD
  GANs"): an unbiased squared MMD with a cubic polynomial kernel, averaged over subsets.
- ``classifier_score``: the Inception-score formula (Salimans et al., 2016, "Improved Techniques
  for Training GANs") with the evaluator as classifier; 10 is the maximum.
- ``class_coverage``: the predicted class histogram, its KL divergence from the real one and
  the number of classes seen (mode dropping, as in Srivastava et al., 2017, "VEEGAN").
- ``evaluate``: all of them at once, next to the same numbers for real digits (the "floor").

The evaluator's weights ship inside the package (``evaluator.keras``, with its test accuracy
in ``evaluator.json``). Retrain them with ``python -m gan_mnist.metrics train-evaluator``.
"""

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path

import keras
import numpy as np

from gan_mnist import config, files
from gan_mnist.data import load_mnist, sha256
from gan_mnist.seeding import set_seed

EVALUATOR_PATH = config.PACKAGE_DIR / "evaluator.keras"
EVALUATOR_RECORD_PATH = config.PACKAGE_DIR / "evaluator.json"
FEATURES_LAYER = "features"
IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
MIN_ACCURACY = 0.992

# Training settings of the shipped evaluator (see `train_evaluator`).
EVALUATOR_SETTINGS = dict(
    seed=0,
    epochs=5,
    batch_size=128,
    learning_rate=0.001,
    translation=0.08,
)

# A class counts as "seen" when its share of the samples is at least this fraction of its
# share of the real digits: about 1% of the samples on MNIST, far above the evaluator's own
# confusions (0.8% of real digits, spread over nine classes) yet met by a class that is
# present at a tenth of its real frequency.
SEEN_FRACTION = 0.1
# Added to the reference histogram before the KL divergence, so that a reference without
# some class (say a one-digit reference) still gives a finite number.
HISTOGRAM_EPSILON = 1e-6
# Floats may stray this far outside their range (rounding in a tanh or sigmoid) and are clipped.
RANGE_TOLERANCE = 1e-3
# The reference images and the floor's train images are drawn with this seed, so every call of
# `evaluate` at the same `n` compares against the same real digits.
REFERENCE_SEED = 0
LATENT_DISTRIBUTIONS = ("uniform", "normal")
REFERENCES = ("test", "train")
MAX_SAMPLES = 10_000

_EVALUATORS = {}
_FEATURE_MODELS = {}
_REFERENCES = {}
_LABELS = {}


# Images.


def to_unit_range(images, value_range=None):
    """Images as float32 ``(N, 28, 28, 1)`` in [0, 1].

    Accepts uint8 (0..255) or floats in [0, 1] or [-1, 1], shaped ``(N, 28, 28)`` or
    ``(N, 28, 28, 1)``. The range of floats is read from the values (any negative value means
    [-1, 1]) unless ``value_range`` is given as ``(0, 1)`` or ``(-1, 1)``.
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4 or images.shape[1:] != IMAGE_SHAPE or len(images) == 0:
        raise ValueError(
            f"Expected a non-empty batch of images shaped (N, 28, 28) or (N, 28, 28, 1), got "
            f"shape {images.shape}. Fix: reshape single images with images[None] and flat "
            "vectors with images.reshape(-1, 28, 28)."
        )
    if images.dtype == np.uint8:
        if value_range is not None:
            raise ValueError("value_range applies to float images; uint8 images are 0..255.")
        return images.astype(np.float32) / np.float32(255.0)
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(
            f"Expected uint8 or float images, got dtype {images.dtype}. Fix: convert 0..255 "
            "integers with images.astype(np.uint8)."
        )
    images = images.astype(np.float32)
    if not np.all(np.isfinite(images)):
        raise ValueError("The images hold NaN or infinite values; the generator has diverged.")
    low, high = float(images.min()), float(images.max())
    if value_range is None:
        value_range = (-1.0, 1.0) if low < 0 else (0.0, 1.0)
    value_range = tuple(float(v) for v in value_range)
    if value_range not in ((0.0, 1.0), (-1.0, 1.0)):
        raise ValueError(f"value_range must be (0, 1) or (-1, 1), got {value_range}.")
    if low < value_range[0] - RANGE_TOLERANCE or high > value_range[1] + RANGE_TOLERANCE:
        raise ValueError(
            f"Float images must lie in [0, 1] or [-1, 1]; these span [{low:.4g}, {high:.4g}]. "
            "Fix: pass 0..255 pixels as uint8, or rescale the images."
        )
    images = np.clip(images, *value_range)
    if value_range[0] < 0:
        images = (images + np.float32(1.0)) * np.float32(0.5)
    return images


# The evaluator.


def build_evaluator(name="evaluator"):
    """The evaluator network: images ``(N, 28, 28, 1)`` in [0, 1] to 10 class logits.

    Two blocks of two 3x3 convolutions (32, then 64 filters, each with batch norm and ReLU)
    and 2x2 max pooling, then the 128-unit ReLU layer named ``"features"`` whose activations
    the distances compare, dropout and a 10-unit logit layer; about 200,000 parameters.
    """
    images = keras.Input(shape=IMAGE_SHAPE, name="image")
    x = images
    for block, filters in enumerate((32, 64), start=1):
        for index in (1, 2):
            layer = f"conv_{block}_{index}"
            x = keras.layers.Conv2D(filters, 3, use_bias=False, name=layer)(x)
            x = keras.layers.BatchNormalization(name=f"{layer}_batch_norm")(x)
            x = keras.layers.ReLU(name=f"{layer}_relu")(x)
        x = keras.layers.MaxPooling2D(name=f"pool_{block}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dropout(0.25, name="flatten_dropout")(x)
    x = keras.layers.Dense(128, activation="relu", name=FEATURES_LAYER)(x)
    x = keras.layers.Dropout(0.5, name="features_dropout")(x)
    logits = keras.layers.Dense(NUM_CLASSES, name="logits")(x)
    return keras.Model(images, logits, name=name)


def load_evaluator(path=None):
    """The shipped evaluator (cached per process): images in [0, 1] to 10 logits.

    Loaded with Keras' safe mode. Raises ``FileNotFoundError`` when the weights are missing;
    they are never retrained silently.
    """
    path = Path(path) if path is not None else EVALUATOR_PATH
    key = str(path.resolve())
    if key not in _EVALUATORS:
        if not path.is_file():
            raise FileNotFoundError(
                f"The evaluator weights {path} are missing. Fix: train them (a few minutes on "
                "a CPU) with `python -m gan_mnist.metrics train-evaluator`, or restore the "
                "file from the repository."
            )
        _EVALUATORS[key] = keras.saving.load_model(path, compile=False, safe_mode=True)
    return _EVALUATORS[key]


def _feature_model(evaluator):
    """A model giving the evaluator's features and logits in one pass (cached per evaluator)."""
    if id(evaluator) not in _FEATURE_MODELS:
        features = evaluator.get_layer(FEATURES_LAYER).output
        _FEATURE_MODELS[id(evaluator)] = (
            evaluator,
            keras.Model(evaluator.input, [features, evaluator.output]),
        )
    return _FEATURE_MODELS[id(evaluator)][1]


def features_and_logits(images, batch_size=1000, value_range=None, evaluator=None):
    """Evaluator features ``(N, 128)`` and logits ``(N, 10)`` of images, as float32 arrays.

    Images are converted with ``to_unit_range`` and run through the evaluator in batches.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    images = to_unit_range(images, value_range)
    model = _feature_model(evaluator if evaluator is not None else load_evaluator())
    features, logits = [], []
    for start in range(0, len(images), batch_size):
        batch_features, batch_logits = model.predict_on_batch(images[start : start + batch_size])
        features.append(batch_features)
        logits.append(batch_logits)
    return np.concatenate(features), np.concatenate(logits)


# Frechet distance.


def _check_features(features, argument):
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise ValueError(
            f"{argument} must be a 2-D array (samples, features) with at least 2 samples, "
            f"got shape {features.shape}."
        )
    if not np.all(np.isfinite(features)):
        raise ValueError(f"{argument} holds NaN or infinite values.")
    return features


def _check_feature_pair(features, reference_features):
    """Both feature sets as float64 ``(samples, dims)`` with the same number of dimensions."""
    features = _check_features(features, "features")
    reference_features = _check_features(reference_features, "reference_features")
    if features.shape[1] != reference_features.shape[1]:
        raise ValueError(
            f"The feature sets have {features.shape[1]} and {reference_features.shape[1]} "
            "dimensions; they must match."
        )
    return features, reference_features


def _symmetric_sqrt(matrix):
    """Square root of a symmetric positive semi-definite matrix by eigen-decomposition."""
    eigenvalues, eigenvectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ eigenvectors.T


def frechet_distance_from_statistics(mean, covariance, reference_mean, reference_covariance):
    """Frechet distance between the Gaussians N(mean, covariance) and N(reference_...).

    d^2 = |m1 - m2|^2 + tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2), in float64. Both square roots
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
    distance = (
        np.sum((mean - reference_mean) ** 2)
        + np.trace(covariance)
        + np.trace(reference_covariance)
        - 2 * trace_of_root
    )
    return float(max(distance, 0.0))


def frechet_distance_from_features(features, reference_features):
    """Frechet distance between Gaussians fitted to two feature sets ``(samples, dims)``."""
    features, reference_features = _check_feature_pair(features, reference_features)
    return frechet_distance_from_statistics(
        features.mean(axis=0),
        np.cov(features, rowvar=False),
        reference_features.mean(axis=0),
        np.cov(reference_features, rowvar=False),
    )


def frechet_distance(images, reference, batch_size=1000):
    """FID-style distance between two image sets, on the evaluator's 128 ``features``.

    Both arguments take images as ``to_unit_range`` does. Lower is better; two samples of real
    digits score near ``evaluate``'s ``floor_fid``, which shrinks as the samples grow.
    """
    features, _ = features_and_logits(images, batch_size)
    reference_features, _ = features_and_logits(reference, batch_size)
    return frechet_distance_from_features(features, reference_features)


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
            f"KID needs subsets of at least 2 samples drawn from at most half of each set; got "
            f"subset_size={subset_size} with {len(features)} and {len(reference_features)} samples."
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
    features, _ = features_and_logits(images, batch_size)
    reference_features, _ = features_and_logits(reference, batch_size)
    return kernel_distance_from_features(
        features, reference_features, subsets=subsets, subset_size=subset_size, seed=seed
    )


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
    _, logits = features_and_logits(images, batch_size)
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
    _, logits = features_and_logits(images, batch_size)
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


def _reference(reference, n, batch_size, subsets, subset_size):
    """Features of the reference digits and the real-data floor, cached per process."""
    key = (reference, n, subsets, subset_size)
    if key not in _REFERENCES:
        other = "train" if reference == "test" else "test"
        reference_features, _ = features_and_logits(_pick(reference, n), batch_size)
        floor_features, floor_logits = features_and_logits(_pick(other, n), batch_size)
        floor_kid, floor_kid_std = kernel_distance_from_features(
            floor_features, reference_features, subsets, subset_size, seed=REFERENCE_SEED
        )
        coverage = class_coverage_from_logits(floor_logits, _labels(reference))
        _REFERENCES[key] = dict(
            features=reference_features,
            floor=dict(
                floor_fid=frechet_distance_from_features(floor_features, reference_features),
                floor_kid=floor_kid,
                floor_kid_std=floor_kid_std,
                floor_score=classifier_score_from_logits(floor_logits),
                floor_class_kl=coverage["kl"],
                floor_classes_seen=coverage["classes_seen"],
            ),
        )
    return _REFERENCES[key]


def sample(generator, n, seed=0, latent=None, batch_size=1000):
    """``n`` images from a generator, in the generator's own range.

    ``generator`` is an object with ``generate(n, seed=...)`` (the ``GAN`` class of
    ``gan_mnist.training``), a ``keras.Model`` from latent vectors to images (then ``latent``
    names its noise: ``"uniform"`` in [-1, 1] or standard ``"normal"``; the size comes from
    ``generator.input_shape[-1]``), or a callable ``f(n, seed=seed)`` returning images.
    """
    if hasattr(generator, "generate"):
        return np.asarray(generator.generate(n, seed=seed))
    if isinstance(generator, keras.Model):
        if latent not in LATENT_DISTRIBUTIONS:
            raise ValueError(
                f"A plain Keras generator needs its noise distribution: pass latent='uniform' or "
                f"latent='normal' (got {latent!r}); models.preset_settings(preset)['latent'] "
                "gives it for the presets."
            )
        latent_dim = generator.input_shape[-1]
        noise_generator = np.random.default_rng(seed)
        if latent == "uniform":
            noise = noise_generator.uniform(-1.0, 1.0, (n, latent_dim))
        else:
            noise = noise_generator.standard_normal((n, latent_dim))
        noise = noise.astype(np.float32)
        return np.concatenate(
            [
                np.asarray(generator(noise[start : start + batch_size], training=False))
                for start in range(0, n, batch_size)
            ]
        )
    if callable(generator):
        return np.asarray(generator(n, seed=seed))
    raise ValueError(
        f"Cannot draw images from a {type(generator).__name__}; pass images, a keras.Model, "
        "an object with generate(n, seed=...) or a callable f(n, seed=...)."
    )


def evaluate(
    generator_or_images,
    n=10_000,
    reference="test",
    seed=0,
    batch_size=1000,
    latent=None,
    value_range=None,
    subsets=100,
    subset_size=1000,
):
    """Every metric for ``n`` generated images, next to the same metrics for real digits.

    ``generator_or_images`` is an image array (its first ``n`` images are used) or anything
    ``sample`` draws from (with ``seed`` and ``latent``). ``reference`` is the MNIST split
    compared against: ``"test"`` (default) or ``"train"``; ``n`` of its digits are used (all of
    the test set at the default n = 10,000). The floor compares ``n`` digits of the other split
    against the same reference, so every number can be read against what real digits score.

    Returns a flat dict of numbers: ``n``, ``fid``, ``kid``, ``kid_std``, ``score``,
    ``class_kl``, ``classes_seen``, ``fid_ratio`` (fid / floor_fid) and ``floor_fid``,
    ``floor_kid``, ``floor_kid_std``, ``floor_score``, ``floor_class_kl``,
    ``floor_classes_seen``. Reference features and the floor are cached per process.
    """
    if reference not in REFERENCES:
        raise ValueError(f"Unknown reference {reference!r}; valid references: {REFERENCES}.")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 2 <= n <= MAX_SAMPLES:
        raise ValueError(
            f"n must be an integer from 2 to {MAX_SAMPLES:,} (the size of the MNIST test set, "
            f"which is either the reference or the floor's sample), got {n!r}."
        )
    n = int(n)
    is_generator = (
        hasattr(generator_or_images, "generate")
        or isinstance(generator_or_images, keras.Model)
        or callable(generator_or_images)
    )
    if not is_generator:
        images = np.asarray(generator_or_images)
        if images.ndim >= 1 and len(images) < n:
            raise ValueError(
                f"Got {len(images)} images but n={n}. Fix: pass n={len(images)} (the floor is "
                "then computed at that size too) or more images."
            )
        images = images[:n]
    else:
        images = sample(generator_or_images, n, seed=seed, latent=latent, batch_size=batch_size)
        if len(images) != n:
            raise ValueError(f"The generator returned {len(images)} images, expected {n}.")
    features, logits = features_and_logits(images, batch_size, value_range)
    cached = _reference(reference, n, batch_size, subsets, subset_size)
    fid = frechet_distance_from_features(features, cached["features"])
    kid, kid_std = kernel_distance_from_features(
        features, cached["features"], subsets, subset_size, seed=seed
    )
    coverage = class_coverage_from_logits(logits, _labels(reference))
    return dict(
        n=n,
        fid=fid,
        kid=kid,
        kid_std=kid_std,
        score=classifier_score_from_logits(logits),
        class_kl=coverage["kl"],
        classes_seen=coverage["classes_seen"],
        fid_ratio=fid / cached["floor"]["floor_fid"],
        **cached["floor"],
    )


# Training the evaluator.




def train_evaluator(
    path=None,
    seed=EVALUATOR_SETTINGS["seed"],
    epochs=EVALUATOR_SETTINGS["epochs"],
    batch_size=EVALUATOR_SETTINGS["batch_size"],
    min_accuracy=MIN_ACCURACY,
    verbose=2,
):
    """Train the evaluator from a seed, check its test accuracy, save it and its record.

    Adam with a cosine-decayed learning rate on the 60,000 training digits, with random
    shifts of up to 8% (2 pixels) as augmentation; the test set is used only once, for the
    final accuracy. Writes ``path`` (default: the shipped
    ``evaluator.keras``) and a JSON record beside it, each through a temporary file. Raises
    ``RuntimeError`` and writes nothing when the accuracy is below ``min_accuracy``.
    Returns the record.
    """
    path = Path(path) if path is not None else EVALUATOR_PATH
    if path.suffix != ".keras":
        raise ValueError(f"The evaluator path must end in .keras, got {path}.")
    set_seed(seed)
    train_images, train_labels = load_mnist("train")
    test_images, test_labels = load_mnist("test")

    evaluator = build_evaluator()
    # The augmentation layer wraps the evaluator only while training; it is not saved.
    trainer = keras.Sequential(
        [
            keras.Input(shape=IMAGE_SHAPE),
            keras.layers.RandomTranslation(
                EVALUATOR_SETTINGS["translation"],
                EVALUATOR_SETTINGS["translation"],
                fill_mode="constant",
                seed=seed,
            ),
            evaluator,
        ],
        name="evaluator_trainer",
    )
    steps = epochs * math.ceil(len(train_images) / batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(EVALUATOR_SETTINGS["learning_rate"], steps)
    trainer.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    trainer.fit(
        to_unit_range(train_images),
        train_labels.astype(np.int32),
        batch_size=batch_size,
        epochs=epochs,
        shuffle=True,
        verbose=verbose,
    )
    seconds = time.perf_counter() - start

    _, logits = features_and_logits(test_images, evaluator=evaluator)
    accuracy = float(np.mean(logits.argmax(axis=1) == test_labels))
    if accuracy < min_accuracy:
        raise RuntimeError(
            f"The evaluator reached {accuracy:.4f} test accuracy, below the required "
            f"{min_accuracy}; nothing was written."
        )
    # A fresh, uncompiled copy is saved so the file holds no optimizer state.
    shipped = build_evaluator()
    shipped.set_weights(evaluator.get_weights())
    files.write_atomically(path, lambda temporary: shipped.save(temporary))
    record = dict(
        test_accuracy=accuracy,
        test_errors=int(np.sum(logits.argmax(axis=1) != test_labels)),
        sha256=sha256(path),
        parameters=int(shipped.count_params()),
        features_layer=FEATURES_LAYER,
        settings=dict(EVALUATOR_SETTINGS, seed=seed, epochs=epochs, batch_size=batch_size),
        training_seconds=round(seconds, 1),
        command="python -m gan_mnist.metrics train-evaluator",
        versions=dict(
            python=platform.python_version(),
            tensorflow=_tensorflow_version(),
            keras=keras.__version__,
            numpy=np.__version__,
        ),
    )
    record_path = path.with_suffix(".json")
    text = json.dumps(record, indent=2) + "\n"
    files.write_atomically(record_path, lambda temporary: Path(temporary).write_text(text))
    _EVALUATORS.pop(str(path.resolve()), None)
    return record


def _tensorflow_version():
    import tensorflow as tf

    return tf.__version__


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m gan_mnist.metrics", description="Train the evaluator or score samples."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train-evaluator", help="train and save the MNIST evaluator")
    train.add_argument("--seed", type=int, default=EVALUATOR_SETTINGS["seed"])
    train.add_argument("--epochs", type=int, default=EVALUATOR_SETTINGS["epochs"])
    train.add_argument("--batch-size", type=int, default=EVALUATOR_SETTINGS["batch_size"])
    train.add_argument("--output", default=None, help="a .keras path (default: the shipped file)")
    score = commands.add_parser("evaluate", help="score images saved as .npy (one JSON line)")
    score.add_argument("samples", help="a .npy file of images, uint8 or float")
    score.add_argument("--n", type=int, default=None, help="images to use (default: all)")
    score.add_argument("--reference", default="test", choices=REFERENCES)
    return parser


def main(argv=None):
    arguments = build_parser().parse_args(argv)
    try:
        if arguments.command == "train-evaluator":
            record = train_evaluator(
                arguments.output, arguments.seed, arguments.epochs, arguments.batch_size
            )
            print(json.dumps(record))
        else:
            images = np.load(arguments.samples, allow_pickle=False)
            n = arguments.n if arguments.n is not None else len(images)
            print(json.dumps(evaluate(images, n=n, reference=arguments.reference)))
        return 0
    except (OSError, ValueError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
