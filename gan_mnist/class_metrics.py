"""Class-aware metrics: is every digit drawn well, and is it the digit that was asked for?

``gan_mnist.metrics`` scores a sample as a whole: a generator that draws nine digits well and
the tenth always the same way moves the overall FID far less than that digit's own. These
metrics split the sample by class, on the evaluator's features and logits:

- ``label_accuracy``: the share of images that the evaluator classifies as their requested
  label, for a class-conditional generator (the accuracy of a pretrained classifier on the
  samples, as in Odena et al., 2017, "Conditional Image Synthesis with Auxiliary Classifier
  GANs").
- ``per_class_fid``: the Frechet distance between each class's images and the real digits of
  that class (the mean over classes is the intra-FID of Miyato and Koyama, 2018, "cGANs with
  Projection Discriminator").
- ``class_fid_floor``: the same distances for real digits at the same per-class counts, and
  ``class_fid_floor_spread``: those for several disjoint sets of real digits, the floor's noise.
- ``per_class_precision_recall`` and ``class_precision_recall_floor``: improved precision and
  recall (``gan_mnist.manifolds``) of each class against the real digits of that class: are a
  class's images real-looking, and do they cover its real variety?
- ``unsure_share``: the share of images the evaluator gives no class a probability of at least
  0.9: the in-between shapes that are no clear digit.
- ``evaluate_classes``: all of them at once, the worst class against its own floor and the
  class of lowest recall; ``evaluate_images`` and ``evaluate_gan``: those and ``metrics.evaluate``
  in one dict.

The classes are the labels a conditional generator was given, else the evaluator's predicted
classes; the reference and floor digits are grouped by their true labels.
"""

import copy
import math

import numpy as np

from gan_mnist import conditioning, evaluator, manifolds, metrics
from gan_mnist.choices import MAX_SAMPLES, REFERENCES
from gan_mnist.data import load_mnist
from gan_mnist.evaluator import NUM_CLASSES

# The evaluator is unsure of an image when no class gets at least this probability.
SURE = 0.9
_REFERENCES = {}
_FLOORS = {}


def _check_labels(labels, count, argument="labels"):
    """``labels`` as int64 digits 0..9 shaped ``(count,)``; ``ValueError`` naming the problem."""
    labels = np.asarray(labels)
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"{argument} must be integer digits 0..{NUM_CLASSES - 1}, got dtype {labels.dtype}. "
            "Fix: pass the digits themselves, e.g. labels.astype(int) for whole floats or "
            "one_hot.argmax(axis=1) for one-hot rows."
        )
    if labels.shape != (count,):
        raise ValueError(
            f"{argument} must have shape ({count},), one digit per image, got shape "
            f"{labels.shape}."
        )
    if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise ValueError(
            f"{argument} must lie in 0..{NUM_CLASSES - 1}, got values from {labels.min()} "
            f"to {labels.max()}."
        )
    return labels.astype(np.int64)


def _check_sample_size(n, reference):
    """``n`` as an int and ``reference`` checked, as ``metrics.evaluate`` takes them."""
    if reference not in REFERENCES:
        raise ValueError(f"Unknown reference {reference!r}; valid references: {REFERENCES}.")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 2 <= n <= MAX_SAMPLES:
        raise ValueError(f"n must be an integer from 2 to {MAX_SAMPLES:,}, got {n!r}.")
    return int(n)


# Label accuracy, per-class FID, precision and recall.


def label_accuracy(logits_or_images, labels, batch_size=1000, value_range=None):
    """The share of images the evaluator classifies as their label: 1 at best, 0.1 by chance.

    ``logits_or_images`` is the evaluator's logits ``(N, 10)`` or images as
    ``evaluator.prepare_images`` takes them (in ``value_range``); ``labels`` are the requested
    digits, integers 0..9 shaped ``(N,)``. Real test digits with their true labels score the
    evaluator's test accuracy (0.9943, in ``evaluator.json``).
    """
    values = np.asarray(logits_or_images)
    if values.ndim == 2:
        if values.shape[1] != NUM_CLASSES or len(values) == 0:
            raise ValueError(
                f"Expected logits shaped (N, {NUM_CLASSES}) or images shaped (N, 28, 28), "
                f"got shape {values.shape}."
            )
        logits = values
    else:
        _, logits = evaluator.features_and_logits(values, batch_size, value_range)
    labels = _check_labels(labels, len(logits))
    return float(np.mean(np.argmax(logits, axis=1) == labels))


def unsure_share(logits):
    """The share of images whose most probable class has a probability below ``SURE``."""
    logits = np.asarray(logits, dtype=np.float64)
    # The softmax of the largest logit: 1 / sum(exp(logits - max)).
    top = 1.0 / np.exp(logits - logits.max(axis=1, keepdims=True)).sum(axis=1)
    return float(np.mean(top < SURE))


def _by_class(score, fewest, missing, features, classes, reference_features, reference_labels):
    """``{digit: score(own rows, reference rows)}``; ``missing`` for fewer than ``fewest``."""
    features, reference_features = metrics._check_feature_pair(features, reference_features)
    classes = _check_labels(classes, len(features), "classes")
    reference_labels = _check_labels(reference_labels, len(reference_features), "reference_labels")
    scores = {}
    for digit in range(NUM_CLASSES):
        own, real = features[classes == digit], reference_features[reference_labels == digit]
        enough = min(len(own), len(real)) >= fewest
        scores[digit] = score(own, real) if enough else copy.copy(missing)
    return scores


def per_class_fid(features, classes, reference_features, reference_labels):
    """``{digit: fid}``: the FID between each class's features and the reference's of that class.

    ``classes`` gives each row of ``features`` its digit and ``reference_labels`` each row of
    ``reference_features`` its own (integers 0..9). Each distance is
    ``metrics.frechet_distance_from_features`` on the rows of one class. A class with fewer
    than 2 images, or fewer than 2 reference digits, gets NaN: a covariance needs two samples.
    Like FID, the distance is biased upward at small counts: read it against
    ``class_fid_floor`` at the same counts.
    """
    return _by_class(metrics.frechet_distance_from_features, 2, math.nan, features, classes,
                     reference_features, reference_labels)


def per_class_precision_recall(features, classes, reference_features, reference_labels,
                               k=manifolds.PRECISION_K):
    """``{digit: dict(precision=..., recall=...)}`` of each class against the reference's.

    The arguments are those of ``per_class_fid``; each pair is
    ``manifolds.precision_recall_from_features`` on the rows of one class, with ``k``
    neighbours. A class with at most ``k`` images, or reference digits, gets NaN for both.
    """
    k = manifolds._check_count("k", k)

    def precision_recall(own, real):
        return manifolds.precision_recall_from_features(own, real, k)

    missing = dict(precision=math.nan, recall=math.nan)
    return _by_class(precision_recall, k + 1, missing, features, classes, reference_features,
                     reference_labels)


# The reference and the per-class floor.


def _draw(split, n):
    """The indices of ``metrics``' fixed draw of ``n`` digits of a split (sorted)."""
    size = len(metrics._labels(split))
    if n == size:
        return np.arange(size)
    return np.sort(np.random.default_rng(metrics.REFERENCE_SEED).choice(size, n, replace=False))


def _reference(reference, n, batch_size):
    """Features and labels of the ``n`` reference digits ``metrics.evaluate`` uses (cached)."""
    key = (reference, n)
    if key not in _REFERENCES:
        images, labels = load_mnist(reference)
        chosen = _draw(reference, n)
        features, _ = evaluator.features_and_logits(images[chosen], batch_size)
        _REFERENCES[key] = (features, labels[chosen])
    return _REFERENCES[key]


def _floor_features(split, counts, batch_size):
    """``{digit: features}`` of the first ``count`` floor digits of each ``{digit: count}``.

    A class's floor order is all its digits in the split, shuffled with the seed
    ``(metrics.REFERENCE_SEED, digit)``, so a larger count only adds digits; counts are capped
    at the class's size. Features are cached per process; missing ones take one evaluator pass.
    """
    labels = metrics._labels(split)
    orders, tails = {}, {}
    for digit, count in counts.items():
        order = np.flatnonzero(labels == digit)
        order = np.random.default_rng([metrics.REFERENCE_SEED, digit]).permutation(order)
        orders[digit] = order[:count]
        tails[digit] = orders[digit][len(_FLOORS.get((split, digit), ())) :]
    missing = [digit for digit in tails if len(tails[digit])]
    if missing:
        images = load_mnist(split)[0][np.concatenate([tails[digit] for digit in missing])]
        new, _ = evaluator.features_and_logits(images, batch_size)
        ends = np.cumsum([len(tails[digit]) for digit in missing])
        for digit, part in zip(missing, np.split(new, ends[:-1])):
            known = _FLOORS.get((split, digit))
            _FLOORS[split, digit] = part if known is None else np.concatenate([known, part])
    return {digit: _FLOORS[split, digit][: len(order)] for digit, order in orders.items()}


def _check_class_counts(class_counts):
    counts = np.asarray(class_counts)
    if (counts.shape != (NUM_CLASSES,) or not np.issubdtype(counts.dtype, np.integer)
            or counts.min() < 0):
        raise ValueError(
            f"class_counts must be {NUM_CLASSES} non-negative integers (the images of each "
            f"digit), got {class_counts!r}."
        )
    return counts


def _check_positive_integer(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def _class_floor(score, missing, class_counts, n, reference, batch_size):
    """``score`` (a per-class metric) of real digits at the given counts; ``missing`` elsewhere."""
    n = _check_sample_size(n, reference)
    counts = _check_class_counts(class_counts)
    other = "train" if reference == "test" else "test"
    wanted = {digit: int(count) for digit, count in enumerate(counts) if count >= 2}
    reference_features, reference_labels = _reference(reference, n, batch_size)
    floors = {digit: copy.copy(missing) for digit in range(NUM_CLASSES)}
    for digit, real in _floor_features(other, wanted, batch_size).items():
        classes = np.full(len(real), digit)
        floors[digit] = score(real, classes, reference_features, reference_labels)[digit]
    return floors


def class_fid_floor(class_counts, n=10_000, reference="test", batch_size=1000):
    """``{digit: fid}`` of real digits at the given per-class counts: ``per_class_fid``'s floor.

    For each class c, ``class_counts[c]`` real digits of class c from the other split (a fixed
    draw, seeded by ``metrics.REFERENCE_SEED`` and c, capped at the class's size there: 892 to
    1,135 digits in the test split, 5,421 to 6,742 in train) against the class-c digits of the
    ``n`` reference digits that ``metrics.evaluate`` compares against. NaN where a count, or
    the class's reference digits, are fewer than 2. Features are cached per process, so a
    repeated call costs only the distances.
    """
    return _class_floor(per_class_fid, math.nan, class_counts, n, reference, batch_size)


def class_fid_floor_spread(class_counts, subsets=5, n=10_000, reference="test",
                           batch_size=1000):
    """``{digit: [fid, ...]}``: ``class_fid_floor`` for ``subsets`` disjoint sets of real digits.

    A class's floor comes from about 1,000 real digits, so it has noise of its own, and a ratio
    to it inherits that noise. Set ``s`` is the class's floor digits ``s * count`` to
    ``(s + 1) * count`` (set 0 is ``class_fid_floor``'s own), from the other split; a class
    gets as many sets as it has digits for (at most ``subsets``), none where its count is below
    2. Read a generator's class FID against the sets' spread, not against one of them.
    """
    subsets = _check_positive_integer("subsets", subsets)
    n = _check_sample_size(n, reference)
    counts = _check_class_counts(class_counts)
    other = "train" if reference == "test" else "test"
    sizes = np.bincount(metrics._labels(other), minlength=NUM_CLASSES)
    wanted = {digit: int(count) * min(subsets, sizes[digit] // int(count))
              for digit, count in enumerate(counts) if count >= 2}
    reference_features, reference_labels = _reference(reference, n, batch_size)
    spread = {digit: [] for digit in range(NUM_CLASSES)}
    for digit, real in _floor_features(other, wanted, batch_size).items():
        count = int(counts[digit])
        for start in range(0, len(real), count):
            classes = np.full(count, digit)
            spread[digit].append(per_class_fid(real[start:start + count], classes,
                                               reference_features, reference_labels)[digit])
    return spread


def class_precision_recall_floor(class_counts, n=10_000, reference="test", batch_size=1000):
    """``per_class_precision_recall`` of the real digits of ``class_fid_floor``: its floor."""
    missing = dict(precision=math.nan, recall=math.nan)
    return _class_floor(per_class_precision_recall, missing, class_counts, n, reference,
                        batch_size)


# Whole evaluation.


def _worst_class(class_fid, floor):
    """The class with the largest FID relative to its own floor, and the largest floor."""
    fid = np.array([class_fid[digit] for digit in range(NUM_CLASSES)], dtype=np.float64)
    real = np.array([floor[digit] for digit in range(NUM_CLASSES)], dtype=np.float64)
    ratios = fid / real
    if np.all(np.isnan(ratios)):
        raise ValueError(
            "No class has 2 images and 2 reference digits, so no per-class FID is defined. "
            "Fix: score more images (a few hundred per class)."
        )
    worst = int(np.nanargmax(ratios))
    return dict(worst_class=worst, worst_class_fid=float(fid[worst]),
                worst_class_ratio=float(ratios[worst]),
                worst_real_class_fid=float(np.nanmax(real)))


def _worst_recall(recall):
    """The class of lowest recall and its recall (``None`` and NaN when no class has one)."""
    if np.all(np.isnan(recall)):
        return dict(worst_recall_class=None, worst_class_recall=math.nan)
    worst = int(np.nanargmin(recall))
    return dict(worst_recall_class=worst, worst_class_recall=float(recall[worst]))


def evaluate_classes(generator_or_images, n=10_000, reference="test", seed=0, labels=None,
                     batch_size=1000, latent=None, value_range=None):
    """Per-class FID of ``n`` images against the real digits of each class, with its floor.

    ``generator_or_images``, ``n``, ``reference``, ``seed``, ``latent`` and ``value_range`` are
    those of ``metrics.evaluate``. ``labels`` are the digits a class-conditional generator was
    asked for, one per image of an image array (the first ``n`` of both are used), e.g.
    ``evaluate_classes(images, n, labels=wanted)`` for images drawn for the digits ``wanted``.
    Without labels (an unconditional generator), this is per-class FID over the evaluator's
    predicted classes, and there is no label accuracy.

    Returns a flat dict: ``n``; ``label_accuracy`` (with labels only); lists indexed by digit:
    ``class_counts``, ``class_fid``, ``class_fid_floor`` (``class_fid_floor`` at those
    counts), ``class_precision``, ``class_recall`` (k = 3) and their floors
    ``class_precision_floor``, ``class_recall_floor``; ``worst_class`` (the class with the
    largest FID relative to its own floor), ``worst_class_fid``, ``worst_class_ratio`` (its FID
    / its floor) and ``worst_real_class_fid`` (the largest floor); ``worst_recall_class`` (the
    class of lowest recall: the least of its real variety drawn) and ``worst_class_recall``;
    ``unsure_share``. NaN marks a class with fewer than 2 images (4 for precision and recall),
    which the worst classes skip; a digit never drawn is mode dropping, which ``evaluate``'s
    ``classes_seen`` counts.
    """
    n = _check_sample_size(n, reference)
    # Keras models are callable too.
    if hasattr(generator_or_images, "generate") or callable(generator_or_images):
        if labels is not None:
            raise ValueError(
                "labels go with an image array, not a generator. Fix: draw the images for "
                "the labels yourself and pass both: evaluate_classes(images, n, labels=labels)."
            )
        images = metrics.sample(generator_or_images, n, seed, latent, batch_size, value_range)
        value_range = (0.0, 1.0)
        if len(images) != n:
            raise ValueError(f"The generator returned {len(images)} images, expected {n}.")
    else:
        images = np.asarray(generator_or_images)
        given = len(images) if images.ndim else 0
        if given < n:
            raise ValueError(
                f"Got {given} images (shape {images.shape}) but n={n}. Fix: pass n={given} or "
                "more images."
            )
        if labels is not None:
            labels = _check_labels(labels, given)[:n]
        images = images[:n]
    features, logits = evaluator.features_and_logits(images, batch_size, value_range)
    classes = labels if labels is not None else np.argmax(logits, axis=1)
    counts = np.bincount(classes, minlength=NUM_CLASSES)
    real = _reference(reference, n, batch_size)
    class_fid = per_class_fid(features, classes, *real)
    floor = class_fid_floor(counts, n, reference, batch_size)
    manifold = per_class_precision_recall(features, classes, *real)
    manifold_floor = class_precision_recall_floor(counts, n, reference, batch_size)
    scores = dict(n=n, unsure_share=unsure_share(logits))
    if labels is not None:
        scores["label_accuracy"] = label_accuracy(logits, labels)
    scores.update(
        class_counts=counts.tolist(),
        class_fid=[class_fid[digit] for digit in range(NUM_CLASSES)],
        class_fid_floor=[floor[digit] for digit in range(NUM_CLASSES)],
        class_precision=[manifold[digit]["precision"] for digit in range(NUM_CLASSES)],
        class_recall=[manifold[digit]["recall"] for digit in range(NUM_CLASSES)],
        class_precision_floor=[manifold_floor[digit]["precision"] for digit in range(NUM_CLASSES)],
        class_recall_floor=[manifold_floor[digit]["recall"] for digit in range(NUM_CLASSES)],
        **_worst_class(class_fid, floor),
    )
    scores.update(_worst_recall(np.array(scores["class_recall"])))
    return scores


def evaluate_images(images, n=10_000, reference="test", seed=0, labels=None, value_range=None):
    """Every metric of ``metrics.evaluate`` and of ``evaluate_classes`` for ``images`` (and the
    ``labels`` they were drawn for, if any), in one dict: both reports see the same digits.
    """
    scores = metrics.evaluate(images, n=n, reference=reference, seed=seed,
                              value_range=value_range)
    scores.update(evaluate_classes(images, n=n, reference=reference, seed=seed, labels=labels,
                                   value_range=value_range))
    return scores


def evaluate_gan(gan, n=10_000, reference="test", seed=0, raw=False):
    """Every metric of ``metrics.evaluate`` and of ``evaluate_classes`` for a ``GAN``, in one dict.

    A conditional GAN is asked for ``n`` digits in class order (``n / 10`` of each), which also
    gives its label accuracy; an unconditional one is scored by the evaluator's predicted
    classes. The images are drawn once, so both reports see the same digits. ``raw`` scores the
    generator's own weights instead of their average (``GAN.generate``'s ``raw``).
    """
    labels = conditioning.digits_in_rows(n) if gan.conditional else None
    images = gan.generate(n, seed=seed, labels=labels, raw=raw)
    return evaluate_images(images, n=n, reference=reference, seed=seed, labels=labels,
                           value_range=gan.value_range)
