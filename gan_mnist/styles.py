"""Styles within each digit: are the ways of writing a digit drawn in their real shares?

Per-class FID (``gan_mnist.class_metrics``) says that a class is off; it does not say which way
of writing it is missing, a 7 with a bar through its stem, say. Following Richardson and Weiss
(2018, "On GANs and GMMs": the number of statistically different bins, NDB), the real test
digits of each class are split into ``bins`` style bins by k-means on their pixels
(``gan_mnist.clustering``: PCA, then k-means), and each digit that the evaluator reads as that
class is put in its nearest bin. A class's histogram over its bins is then compared with the
real digits' histogram:

- ``ndb``: the number of bins whose share differs from the real share by a two-sided
  two-proportion z-test at p < 0.05 (pooled variance);
- ``jsd``: the Jensen-Shannon divergence of the two histograms, in bits (0: the same shares, 1:
  no bin in common), :math:`\\tfrac12 \\mathrm{KL}(P \\Vert M) + \\tfrac12 \\mathrm{KL}(Q \\Vert M)`
  with :math:`M = (P + Q)/2`;
- ``under_drawn_bin`` and ``under_drawn_ratio``: the bin whose share is the smallest fraction of
  its real share, and that fraction (0.5: the style is drawn at half its real share).

Real digits are not perfectly even either: the floor is the same numbers for real training
digits (sorted into classes by the evaluator too, like generated ones) against the test bins, in
``floor_subsets`` disjoint subsets of ``n`` digits, as the mean and standard deviation per class.
Labels only sort the reference digits into their bins; nothing here trains on them.
"""

import math

import numpy as np

from gan_mnist import clustering, evaluator
from gan_mnist.data import load_mnist
from gan_mnist.evaluator import NUM_CLASSES

BINS = 10
P_VALUE = 0.05
_BINS = {}


def style_bins(bins=BINS, seed=0):
    """``{digit: Clustering}``: each class's real test digits in ``bins`` k-means bins (cached)."""
    bins = int(bins)
    if bins < 2:
        raise ValueError(f"bins must be at least 2 (the styles of a class), got {bins}.")
    key = (bins, seed)
    if key not in _BINS:
        images, labels = load_mnist("test")
        _BINS[key] = {digit: clustering.cluster_images(images[labels == digit], bins, seed=seed)
                      for digit in range(NUM_CLASSES)}
    return _BINS[key]


def histograms(images, classes, found):
    """Counts ``(10, bins)``: each image in the nearest bin of its class, for the class-bins
    ``found`` (``style_bins``). ``images`` are floats in [0, 1] or uint8 digits."""
    bins = found[0].k
    counts = np.zeros((NUM_CLASSES, bins), np.int64)
    classes = np.asarray(classes)
    for digit in range(NUM_CLASSES):
        chosen = images[classes == digit]
        if len(chosen):
            counts[digit] = np.bincount(found[digit].assign(chosen), minlength=bins)
    return counts


def two_proportion_p_values(counts, reference_counts):
    """Two-sided p-values of the two-proportion z-test of each bin's share, per row."""
    counts = np.asarray(counts, np.float64)
    reference_counts = np.asarray(reference_counts, np.float64)
    n = counts.sum(axis=-1, keepdims=True)
    m = reference_counts.sum(axis=-1, keepdims=True)
    pooled = (counts + reference_counts) / np.maximum(n + m, 1)
    spread = np.sqrt(pooled * (1 - pooled) * (1 / np.maximum(n, 1) + 1 / np.maximum(m, 1)))
    difference = counts / np.maximum(n, 1) - reference_counts / np.maximum(m, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(spread > 0, np.abs(difference) / spread, 0.0)
    return np.vectorize(math.erfc)(z / math.sqrt(2))


def jensen_shannon(counts, reference_counts):
    """The Jensen-Shannon divergence in bits between the histograms of each row."""
    p = np.asarray(counts, np.float64)
    q = np.asarray(reference_counts, np.float64)
    p = p / np.maximum(p.sum(axis=-1, keepdims=True), 1e-12)
    q = q / np.maximum(q.sum(axis=-1, keepdims=True), 1e-12)
    m = (p + q) / 2

    def kl(a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(a > 0, a * np.log2(a / b), 0.0).sum(axis=-1)

    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def compare(counts, reference_counts):
    """Per class: ``ndb``, ``jsd``, ``under_drawn_bin`` and ``under_drawn_ratio`` of the
    histograms ``counts`` against ``reference_counts`` (both ``(10, bins)``). A class with no
    images has NaN divergence and ratio, and every bin counted as different."""
    counts = np.asarray(counts)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    real = reference_counts / np.maximum(reference_counts.sum(axis=1, keepdims=True), 1)
    ratios = np.where(real > 0, shares / np.where(real > 0, real, 1), np.inf)
    empty = counts.sum(axis=1) == 0
    ndb = (two_proportion_p_values(counts, reference_counts) < P_VALUE).sum(axis=1)
    return dict(
        ndb=np.where(empty, counts.shape[1], ndb).tolist(),
        jsd=np.where(empty, np.nan, jensen_shannon(counts, reference_counts)).tolist(),
        under_drawn_bin=ratios.argmin(axis=1).tolist(),
        under_drawn_ratio=np.where(empty, np.nan, ratios.min(axis=1)).tolist(),
    )


def _classes(images, batch_size=1000):
    """The evaluator's reading of each image (floats in [0, 1])."""
    _, logits = evaluator.features_and_logits(images, batch_size)
    return np.asarray(logits).argmax(axis=1)


def floor(n=10_000, bins=BINS, seed=0, floor_subsets=5):
    """Mean and standard deviation per class of ``compare``'s ``ndb`` and ``jsd`` (and the
    ``under_drawn_ratio``) for ``floor_subsets`` disjoint sets of ``n`` real training digits
    against the test bins: what real digits score."""
    images, _ = load_mnist("train")
    if n * floor_subsets > len(images):
        raise ValueError(f"{floor_subsets} disjoint subsets of {n:,} need {n * floor_subsets:,} "
                         f"training digits; there are {len(images):,}. Lower n or floor_subsets.")
    found = style_bins(bins, seed)
    reference = _reference_counts(found)
    order = np.random.default_rng(seed).permutation(len(images))
    scores = []
    for subset in range(floor_subsets):
        chosen = images[np.sort(order[subset * n : (subset + 1) * n])].astype(np.float32) / 255
        scores.append(compare(histograms(chosen, _classes(chosen), found), reference))
    return {f"floor_{key}_{statistic}": getattr(np, statistic)(
        [score[key] for score in scores], axis=0).tolist()
        for key in ("ndb", "jsd", "under_drawn_ratio") for statistic in ("mean", "std")}


def _reference_counts(found):
    """The real test digits' own histograms over their bins."""
    return np.stack([found[digit].counts for digit in range(NUM_CLASSES)])


def evaluate_styles(images, value_range=None, bins=BINS, seed=0, floor_subsets=5):
    """Every style number of ``images`` (a generator's, any range given by ``value_range``),
    with the real digits' floor at the same count.

    Returns lists indexed by digit: ``class_counts``, ``ndb``, ``jsd``, ``under_drawn_bin``,
    ``under_drawn_ratio``, their floors ``floor_ndb_mean``, ``floor_ndb_std``, ``floor_jsd_mean``,
    ``floor_jsd_std``, ``floor_under_drawn_ratio_mean`` and ``..._std``; and ``ndb_total`` and
    ``floor_ndb_total`` (summed over the classes), ``jsd_mean`` and ``floor_jsd_mean_all``.
    """
    images = evaluator.prepare_images(images, value_range)
    found = style_bins(bins, seed)
    classes = _classes(images)
    counts = histograms(images, classes, found)
    result = dict(class_counts=counts.sum(axis=1).tolist(),
                  **compare(counts, _reference_counts(found)))
    result.update(floor(len(images), bins, seed, floor_subsets))
    result["ndb_total"] = int(np.sum(result["ndb"]))
    result["floor_ndb_total"] = float(np.sum(result["floor_ndb_mean"]))
    result["jsd_mean"] = float(np.nanmean(result["jsd"]))
    result["floor_jsd_mean_all"] = float(np.mean(result["floor_jsd_mean"]))
    return result


def bin_examples(digit, bin_index, images, count=16, bins=BINS, seed=0, value_range=None):
    """``(real, drawn)``: up to ``count`` real test digits of ``digit``'s bin ``bin_index`` and
    up to ``count`` of ``images`` that the evaluator reads as ``digit`` and puts in that bin,
    for a grid of what a generator under-draws (floats in [0, 1])."""
    found = style_bins(bins, seed)
    if not 0 <= bin_index < found[digit].k:
        raise ValueError(f"bin_index must lie in 0..{found[digit].k - 1}, got {bin_index}.")
    test_images, labels = load_mnist("test")
    real = test_images[labels == digit][found[digit].assignments == bin_index][:count]
    images = evaluator.prepare_images(images, value_range)
    mine = images[_classes(images) == digit]
    drawn = mine[found[digit].assign(mine) == bin_index][:count] if len(mine) else mine
    return real.astype(np.float32) / 255, np.asarray(drawn, np.float32)
