"""Precision, recall, density and coverage: fidelity and diversity as separate numbers.

FID and KID fold how real the generated digits look and how much of the real variety they
cover into one distance. These metrics keep the two apart by drawing a ball around every
feature vector that reaches its k-th nearest neighbour in its own set, and counting which
points of the other set fall inside:

- ``precision_recall_from_features``: improved precision and recall (Kynkäänniemi et al.,
  2019, "Improved Precision and Recall Metric for Assessing Generative Models").
- ``density_coverage_from_features``: density and coverage (Naeem et al., 2020, "Reliable
  Fidelity and Diversity Metrics for Generative Models"), which draw balls around the real
  points only, so that a few generated outliers cannot inflate them.
- ``manifold_metrics_from_features``: all four in one pass over the distances.
- ``nearest_neighbour_radii``: the ball radii, each point's distance to its k-th nearest
  neighbour in its own set (the point itself left out); ``reference_radii`` keeps a
  reference's, squared, for many comparisons.

Distances are Euclidean, computed ``CHUNK_SIZE`` rows at a time in float64, so that 10,000
against 10,000 features of 128 dimensions take about 40 MB beyond the features (float32 is a
third faster but moves a few points across the edges of balls). A point at exactly a radius
counts as inside. ``gan_mnist.metrics`` re-exports these functions and reports all four
numbers in ``evaluate``, on the evaluator's features.
"""

import numpy as np

# Rows of distances computed at once: a block of 256 x 10,000 float64 is 20 MB. Blocks of 128
# to 1,000 rows all take about 3 s for 10,000 against 10,000 features on 2 cores.
CHUNK_SIZE = 256
# The neighbour counts the papers recommend: Kynkäänniemi et al. use k = 3 and Naeem et al.
# k = 5.
PRECISION_K = 3
DENSITY_K = 5


def _check_feature_pair(features, reference_features):
    """Both feature sets as float64 ``(samples, dims)`` with the same number of dimensions."""
    checked = []
    for argument, values in (("features", features), ("reference_features", reference_features)):
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2 or len(values) < 2:
            raise ValueError(
                f"{argument} must be a 2-D array (samples, features) with at least 2 samples, "
                f"got shape {values.shape}."
            )
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{argument} holds NaN or infinite values.")
        checked.append(values)
    features, reference_features = checked
    if features.shape[1] != reference_features.shape[1]:
        raise ValueError(
            f"The feature sets have {features.shape[1]} and {reference_features.shape[1]} "
            "dimensions; they must match."
        )
    return features, reference_features


def _check_count(argument, value, *sets):
    """``value`` as a positive integer, smaller than the number of rows of each of ``sets``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{argument} must be a positive integer, got {value!r}.")
    smallest = min((len(rows) for rows in sets), default=value + 1)
    if value >= smallest:
        raise ValueError(
            f"{argument}={value} needs at least {value + 1} samples per set (the k-th nearest "
            f"neighbour leaves the point itself out), got {smallest}."
        )
    return int(value)


def _squared_distance_blocks(rows, columns, chunk_size):
    """``(start, block)`` pairs with ``block[i, j] = |rows[start + i] - columns[j]|^2``.

    ``|a - b|^2 = |a|^2 + |b|^2 - 2 a.b`` in float64 on ``chunk_size`` rows at a time, with
    the small negative values of rounding clipped to 0.
    """
    rows, columns = np.asarray(rows, np.float64), np.asarray(columns, np.float64)
    column_norms = np.einsum("ij,ij->i", columns, columns)
    for start in range(0, len(rows), chunk_size):
        chunk = rows[start : start + chunk_size]
        # Scaling by -2 is exact, and in-place sums need no second block.
        block = (-2.0 * chunk) @ columns.T
        block += np.einsum("ij,ij->i", chunk, chunk)[:, None]
        block += column_norms
        yield start, np.maximum(block, 0.0, out=block)


def _squared_radii(features, ks, chunk_size):
    """``{k: squared distance from each row to its k-th nearest other row}`` for each k."""
    radii = {k: np.empty(len(features)) for k in ks}
    for start, block in _squared_distance_blocks(features, features, chunk_size):
        # Each row's distance to itself is left out; an exact duplicate still counts.
        rows = np.arange(len(block))
        block[rows, start + rows] = np.inf
        block.partition([k - 1 for k in ks], axis=1)
        for k in ks:
            radii[k][start : start + len(block)] = block[:, k - 1]
    return radii


def nearest_neighbour_radii(features, k=PRECISION_K, chunk_size=CHUNK_SIZE):
    """Each row's Euclidean distance to its k-th nearest neighbour among the other rows."""
    features, _ = _check_feature_pair(features, features)
    k = _check_count("k", k, features)
    chunk_size = _check_count("chunk_size", chunk_size)
    return np.sqrt(_squared_radii(features, (k,), chunk_size)[k])


def _ball_scores(features, reference_features, reference_radii, precision_k, density_k,
                 chunk_size):
    """The metrics from the reference's squared radii ``{k: ...}`` and one pass over distances.

    The reference gives the rows of every pass, so a set compared with itself meets the very
    distances its radii came from, and its k-th neighbours count as inside their balls.
    """
    scores = {}
    if precision_k:
        radii = _squared_radii(features, (precision_k,), chunk_size)[precision_k]
        in_reference_ball = np.zeros(len(features), dtype=bool)
        in_generated_ball = np.zeros(len(reference_features), dtype=bool)
    if density_k:
        balls_entered, covered = 0, np.zeros(len(reference_features), dtype=bool)
    for start, block in _squared_distance_blocks(reference_features, features, chunk_size):
        rows = slice(start, start + len(block))
        if precision_k:
            in_reference_ball |= np.any(block <= reference_radii[precision_k][rows, None], 0)
            in_generated_ball[rows] = np.any(block <= radii, axis=1)
        if density_k:
            inside = block <= reference_radii[density_k][rows, None]
            balls_entered += int(np.count_nonzero(inside))
            covered[rows] = np.any(inside, axis=1)
    if precision_k:
        scores.update(precision=float(in_reference_ball.mean()),
                      recall=float(in_generated_ball.mean()))
    if density_k:
        scores.update(density=balls_entered / (density_k * len(features)),
                      coverage=float(covered.mean()))
    return scores


def reference_radii(reference_features, ks=(PRECISION_K, DENSITY_K), chunk_size=CHUNK_SIZE):
    """``{k: squared radii}`` of the reference's balls for each k, as
    ``manifold_metrics_from_features(reference_radii=...)`` takes them: for a reference that
    many samples are compared against, computed once.
    """
    reference_features, _ = _check_feature_pair(reference_features, reference_features)
    ks = sorted({_check_count("k", k, reference_features) for k in ks})
    return _squared_radii(reference_features, ks, _check_count("chunk_size", chunk_size))


def manifold_metrics_from_features(features, reference_features, precision_k=PRECISION_K,
                                   density_k=DENSITY_K, chunk_size=CHUNK_SIZE,
                                   reference_radii=None):
    """Precision, recall, density and coverage of ``features`` against ``reference_features``.

    Returns a dict with ``precision`` and ``recall`` (with ``precision_k`` neighbours) and
    ``density`` and ``coverage`` (with ``density_k``); see the two functions below. Each
    distance between the sets is computed once; ``None`` for a k leaves its pair out.
    ``reference_radii`` (from ``reference_radii``) saves computing the reference's balls again.
    """
    features, reference_features = _check_feature_pair(features, reference_features)
    if precision_k is None and density_k is None:
        raise ValueError("precision_k and density_k are both None: there is nothing to compute.")
    if precision_k is not None:
        precision_k = _check_count("precision_k", precision_k, features, reference_features)
    if density_k is not None:
        density_k = _check_count("density_k", density_k, reference_features)
    chunk_size = _check_count("chunk_size", chunk_size)
    ks = sorted({k for k in (precision_k, density_k) if k is not None})
    if reference_radii is None:
        reference_radii = _squared_radii(reference_features, ks, chunk_size)
    elif any(len(reference_radii.get(k, ())) != len(reference_features) for k in ks):
        raise ValueError(f"reference_radii must hold the radii of these reference features for "
                         f"k in {ks}: make them with reference_radii(reference_features).")
    return _ball_scores(features, reference_features, reference_radii, precision_k, density_k,
                        chunk_size)


def precision_recall_from_features(features, reference_features, k=PRECISION_K,
                                   chunk_size=CHUNK_SIZE):
    """Improved precision and recall of generated ``features`` against real ones, as a dict.

    With ``r_k(p)`` the distance from p to its k-th nearest neighbour in its own set,
    ``precision = (1/M) sum_j 1[exists i: ||y_j - x_i|| <= r_k(x_i)]``, the share of the M
    generated points inside some real ball (fidelity), and
    ``recall = (1/N) sum_i 1[exists j: ||x_i - y_j|| <= r_k(y_j)]``, the share of the N real
    points inside some generated ball (diversity). Both
    run from 0 to 1: a set against itself scores 1 and 1, two samples of one distribution
    alike and below 1. One generated outlier among near-copies gets a wide ball that can hold
    many real points, so read a recall with the coverage, which draws real balls only.
    """
    return manifold_metrics_from_features(features, reference_features, precision_k=k,
                                          density_k=None, chunk_size=chunk_size)


def density_coverage_from_features(features, reference_features, k=DENSITY_K,
                                   chunk_size=CHUNK_SIZE):
    """Density and coverage of generated ``features`` against real ones, as a dict.

    With balls B(x_i, r_k(x_i)) around the N real points only,
    density = (1/(kM)) sum_j sum_i 1[y_j in B(x_i, r_k(x_i))] counts how many real balls the M
    generated points enter (about 1 for two samples of one distribution, above 1 where they
    crowd dense real regions, unbounded; a set against itself scores (k + 1) / k, as each
    ball holds its centre and k neighbours), and coverage = (1/N) sum_i 1[exists j: y_j in
    B(x_i, r_k(x_i))] is the share of real balls that hold a generated point (0 to 1).
    """
    return manifold_metrics_from_features(features, reference_features, precision_k=None,
                                          density_k=k, chunk_size=chunk_size)
