"""Class-aware metrics against hand-checked references, real digits and a collapsed class."""

import json
import math

import numpy as np
import pytest

from gan_mnist import class_metrics, evaluator, manifolds, metrics
from gan_mnist.data import load_mnist

# About 200 digits per class keeps every `evaluate_classes` call to a second or two.
N = 2000


@pytest.fixture(scope="module")
def test_split():
    return load_mnist("test")


@pytest.fixture(scope="module")
def train_split():
    return load_mnist("train")


@pytest.fixture(scope="module")
def unseen_train_digits(train_split):
    """Random train digits and labels outside the floor samples of `metrics` and this module.

    The per-class floor draws each class's digits in a seeded order; leaving out the first
    N of every class keeps these digits out of it at any count up to N.
    """
    images, labels = train_split
    used = set(np.random.default_rng(metrics.REFERENCE_SEED).choice(len(images), N, False))
    for digit in range(10):
        order = np.flatnonzero(labels == digit)
        order = np.random.default_rng([metrics.REFERENCE_SEED, digit]).permutation(order)
        used.update(order[:N])
    unused = np.setdiff1d(np.arange(len(images)), list(used))
    chosen = np.random.default_rng(9).choice(unused, N, replace=False)
    return images[chosen], labels[chosen]


@pytest.fixture(scope="module")
def unseen_scores(unseen_train_digits):
    """``evaluate_classes`` of the unseen digits with their true labels, and their features."""
    images, labels = unseen_train_digits
    features, _ = evaluator.features_and_logits(images)
    return class_metrics.evaluate_classes(images, n=N, labels=labels), features


@pytest.fixture(scope="module")
def reference():
    """Features and labels of the reference digits at n=N."""
    return class_metrics._reference("test", N, 1000)


def test_labels_are_checked():
    logits = np.eye(10)[np.arange(20) % 10]
    for bad, message in [
        (np.arange(20) % 10 * 1.0, "integer digits"),
        (np.full(20, 10), "must lie in 0..9"),
        (np.full(20, -1), "from -1 to -1"),
        (np.zeros(19, int), r"shape \(20,\)"),
        (np.zeros((20, 1), int), r"shape \(20,\)"),
        (np.zeros(20, bool), "integer digits"),
        (logits.astype(int), r"shape \(20,\)"),
    ]:
        with pytest.raises(ValueError, match=message):
            class_metrics.label_accuracy(logits, bad)
    with pytest.raises(ValueError, match=r"\(N, 10\)"):
        class_metrics.label_accuracy(np.zeros((20, 5)), np.zeros(20, int))
    with pytest.raises(ValueError, match="classes must lie"):
        class_metrics.per_class_fid(np.zeros((3, 2)), [0, 1, 12], np.zeros((3, 2)), [0, 1, 2])


def test_evaluate_classes_rejects_bad_arguments(test_split):
    images, labels = test_split[0][:100], test_split[1][:100]
    with pytest.raises(ValueError, match="n=100"):
        class_metrics.evaluate_classes(images, n=200, labels=labels)
    with pytest.raises(ValueError, match=r"labels must have shape \(100,\)"):
        class_metrics.evaluate_classes(images, n=50, labels=labels[:50])
    with pytest.raises(ValueError, match="not a generator"):
        class_metrics.evaluate_classes(lambda n, seed: images[:n], n=100, labels=labels)
    with pytest.raises(ValueError, match="from 2 to 10,000"):
        class_metrics.evaluate_classes(images, n=1)
    with pytest.raises(ValueError, match="reference"):
        class_metrics.evaluate_classes(images, n=100, reference="validation")
    with pytest.raises(ValueError, match="non-negative integers"):
        class_metrics.class_fid_floor(np.full(10, 10.0), n=100)


# Hand-checked references.


def test_per_class_fid_splits_by_class_like_a_hand_computed_reference():
    # Class 0: own mean (1, 0), variances (2, 0); reference mean (1, 2), variances (0, 2).
    # FID = |(0, -2)|^2 + (2 + 0) + (0 + 2) - 2 tr(0) = 8. Class 1: the reference is its rows
    # moved by (3, 4), so FID = 3^2 + 4^2 = 25. Class 2 has one image and class 4 one
    # reference digit: NaN, as are the classes with neither.
    rows = {
        0: ([[0, 0], [2, 0]], [[1, 1], [1, 3]]),
        1: ([[0, 0], [1, 2], [3, 1]], [[3, 4], [4, 6], [6, 5]]),
        2: ([[5, 5]], [[0, 0], [1, 1]]),
        4: ([[0, 0], [1, 0]], [[0, 0]]),
    }
    features, classes, reference, labels = [], [], [], []
    for digit, (own, real) in rows.items():
        features += own
        classes += [digit] * len(own)
        reference += real
        labels += [digit] * len(real)
    # Interleave the rows, so that only the labels keep the classes apart.
    order = np.random.default_rng(0).permutation(len(features))
    features, classes = np.array(features, float)[order], np.array(classes)[order]
    distances = class_metrics.per_class_fid(features, classes, np.array(reference, float), labels)
    assert set(distances) == set(range(10))
    assert distances[0] == pytest.approx(8.0)
    assert distances[1] == pytest.approx(25.0)
    assert [d for d in range(10) if math.isnan(distances[d])] == [2, 3, 4, 5, 6, 7, 8, 9]


def test_per_class_precision_and_recall_are_those_of_each_class_alone():
    generator = np.random.default_rng(1)
    features, reference = generator.standard_normal((60, 3)), generator.standard_normal((50, 3))
    # Class 0 has 30 images, class 1 has 27 and class 2 three: too few for k = 3 neighbours.
    classes = np.repeat([0, 1, 2], [30, 27, 3])
    labels = np.repeat([0, 1, 2, 3], [20, 20, 5, 5])
    # Class 1's images are shifted away from its digits: lower precision and recall.
    features[classes == 1] += 1.0
    scores = class_metrics.per_class_precision_recall(features, classes, reference, labels)
    for digit in (0, 1):
        assert scores[digit] == manifolds.precision_recall_from_features(
            features[classes == digit], reference[labels == digit]
        )
    assert scores[1]["recall"] < scores[0]["recall"]
    for digit in range(2, 10):
        assert math.isnan(scores[digit]["precision"]) and math.isnan(scores[digit]["recall"])
    # With k = 2, class 2's three images are enough.
    fewer = class_metrics.per_class_precision_recall(features, classes, reference, labels, k=2)
    assert 0 <= fewer[2]["precision"] <= 1 and math.isnan(fewer[3]["recall"])
    with pytest.raises(ValueError, match="k must be a positive integer"):
        class_metrics.per_class_precision_recall(features, classes, reference, labels, k=0)


def test_the_worst_class_is_the_largest_ratio_to_its_own_floor():
    nan = math.nan
    class_fid = dict(enumerate([8.0, 25.0, nan, 3.0, nan, nan, nan, nan, nan, 40.0]))
    floor = dict(enumerate([1.0, 10.0, nan, 6.0, nan, nan, nan, nan, nan, 20.0]))
    assert class_metrics._worst_class(class_fid, floor) == dict(
        worst_class=0, worst_class_fid=8.0, worst_class_ratio=8.0, worst_real_class_fid=20.0
    )
    with pytest.raises(ValueError, match="more images"):
        class_metrics._worst_class(dict.fromkeys(range(10), nan), dict.fromkeys(range(10), nan))
    recall = np.array([0.9, nan, 0.4, 0.8, nan, nan, nan, nan, nan, 0.95])
    assert class_metrics._worst_recall(recall) == dict(worst_recall_class=2,
                                                       worst_class_recall=0.4)
    nothing = class_metrics._worst_recall(np.full(10, nan))
    assert nothing["worst_recall_class"] is None and math.isnan(nothing["worst_class_recall"])


def test_the_reference_is_the_draw_of_metrics_evaluate(test_split, reference):
    features, labels = reference
    chosen = class_metrics._draw("test", N)
    np.testing.assert_array_equal(test_split[0][chosen], metrics._pick("test", N))
    np.testing.assert_array_equal(labels, test_split[1][chosen])
    np.testing.assert_array_equal(class_metrics._draw("test", 10_000), np.arange(10_000))
    assert features.shape == (N, 128)


def test_the_floor_draws_nested_digits_of_each_class_from_the_other_split(
    train_split, reference
):
    images, labels = train_split
    order = np.flatnonzero(labels == 3)
    order = np.random.default_rng([metrics.REFERENCE_SEED, 3]).permutation(order)
    expected, _ = evaluator.features_and_logits(images[order[:8]])
    few = class_metrics._floor_features("train", {3: 5}, 1000)
    more = class_metrics._floor_features("train", {3: 8, 5: 3}, 1000)
    np.testing.assert_allclose(few[3], expected[:5], atol=1e-4)
    np.testing.assert_allclose(more[3], expected, atol=1e-4)
    assert set(more) == {3, 5} and len(more[5]) == 3
    # The floor of a test reference: those train digits against the reference's threes.
    features, reference_labels = reference
    floor = class_metrics.class_fid_floor([0, 1, 0, 8, 0, 0, 0, 0, 0, 0], n=N)
    assert floor[3] == pytest.approx(
        metrics.frechet_distance_from_features(expected, features[reference_labels == 3]),
        rel=1e-4,
    )
    assert [d for d in range(10) if math.isnan(floor[d])] == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    floor = class_metrics.class_precision_recall_floor([0, 1, 0, 8, 0, 0, 0, 0, 0, 0], n=N)
    expected = manifolds.precision_recall_from_features(expected, features[reference_labels == 3])
    assert floor[3] == pytest.approx(expected, abs=1e-9)
    assert [d for d in range(10) if math.isnan(floor[d]["recall"])] == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    # Capped at the class's size: the test split holds 892 fives.
    assert len(class_metrics._floor_features("test", {5: 5000}, 1000)[5]) == 892


# Real digits.


def test_label_accuracy_of_test_digits_is_the_evaluator_test_accuracy(test_split):
    images, labels = test_split
    _, logits = evaluator.features_and_logits(images)
    record = json.loads(evaluator.EVALUATOR_RECORD_PATH.read_text())
    assert class_metrics.label_accuracy(logits, labels) == record["test_accuracy"]
    shuffled = np.random.default_rng(1).permutation(labels)
    chance = np.sum((np.bincount(labels) / len(labels)) ** 2)  # 0.1004 for the test set.
    assert class_metrics.label_accuracy(logits, shuffled) == pytest.approx(chance, abs=0.01)
    # Images give the same answer as their logits.
    assert class_metrics.label_accuracy(images[:300], labels[:300]) == pytest.approx(
        class_metrics.label_accuracy(logits[:300], labels[:300])
    )


def test_the_floor_spread_scores_disjoint_sets_the_first_of_them_the_floor(
    train_split, reference
):
    images, labels = train_split
    features, reference_labels = reference
    counts = [0, 1, 0, 8, 0, 0, 0, 0, 0, 0]
    spread = class_metrics.class_fid_floor_spread(counts, subsets=3, n=N)
    assert [len(spread[digit]) for digit in range(10)] == [0, 0, 0, 3, 0, 0, 0, 0, 0, 0]
    assert spread[3][0] == pytest.approx(class_metrics.class_fid_floor(counts, n=N)[3])
    # Set 2 is the ninth to sixteenth threes of the floor's order: disjoint from sets 0 and 1.
    order = np.flatnonzero(labels == 3)
    order = np.random.default_rng([metrics.REFERENCE_SEED, 3]).permutation(order)
    third, _ = evaluator.features_and_logits(images[order[16:24]])
    assert spread[3][2] == pytest.approx(
        metrics.frechet_distance_from_features(third, features[reference_labels == 3]), rel=1e-4
    )
    assert len(set(spread[3])) == 3
    # As many sets as a class has digits for: the training split holds 5,421 fives.
    counts = [0, 0, 0, 0, 0, 2000, 0, 0, 0, 0]
    assert len(class_metrics.class_fid_floor_spread(counts, subsets=5, n=N)[5]) == 2
    for subsets in (0, 1.5, True):
        with pytest.raises(ValueError, match="subsets must be a positive integer"):
            class_metrics.class_fid_floor_spread(counts, subsets=subsets, n=N)
    with pytest.raises(ValueError, match="class_counts"):
        class_metrics.class_fid_floor_spread([1] * 9, n=N)


def test_real_digits_score_their_class_floor_and_far_from_other_classes(
    unseen_train_digits, unseen_scores, reference
):
    images, labels = unseen_train_digits
    scores, features = unseen_scores
    assert scores["label_accuracy"] > 0.98
    assert scores["class_counts"] == np.bincount(labels, minlength=10).tolist()
    ratios = np.array(scores["class_fid"]) / np.array(scores["class_fid_floor"])
    # About 200 digits per class in 128 dimensions: each floor is itself a noisy estimate.
    assert np.all((0.5 < ratios) & (ratios < 2.5)), ratios
    assert scores["worst_class_ratio"] == pytest.approx(ratios.max())
    assert scores["worst_real_class_fid"] == pytest.approx(max(scores["class_fid_floor"]))
    # Precision and recall near their floors, which are themselves estimates from ~200 digits.
    for name in ("class_precision", "class_recall"):
        measured, floor = np.array(scores[name]), np.array(scores[name + "_floor"])
        assert np.all((0.8 < floor) & (floor < 1.0)), floor
        assert np.all(np.abs(measured - floor) < 0.12), (measured, floor)
    assert scores["worst_class_recall"] == min(scores["class_recall"]) > 0.8

    # The digits of class c - 1 against the reference's class c: another distribution.
    wrong = class_metrics.per_class_fid(features, (labels + 1) % 10, *reference)
    assert min(wrong.values()) > 50 * max(scores["class_fid_floor"])

    # Without labels, the classes are the evaluator's predicted ones, drawn from a generator.
    predicted = class_metrics.evaluate_classes(lambda n, seed: images[:n], n=N)
    assert "label_accuracy" not in predicted
    assert np.abs(np.subtract(predicted["class_counts"], scores["class_counts"])).sum() < 20
    ratios = np.array(predicted["class_fid"]) / np.array(predicted["class_fid_floor"])
    assert np.all((0.5 < ratios) & (ratios < 2.5)), ratios


def test_a_collapsed_class_is_the_worst_while_the_overall_fid_barely_moves(
    unseen_train_digits, unseen_scores, reference
):
    # Every 7 becomes a copy of the most typical 7 (nearest its class's mean feature): mode
    # collapse onto a likely digit, the case that moves the overall statistics least.
    images, labels = unseen_train_digits
    clean, features = unseen_scores
    sevens = np.flatnonzero(labels == 7)
    distances = np.sum((features[sevens] - features[sevens].mean(axis=0)) ** 2, axis=1)
    collapsed = images.copy()
    collapsed[sevens] = images[sevens[np.argmin(distances)]]
    scores = class_metrics.evaluate_classes(collapsed, n=N, labels=labels)
    assert scores["worst_class"] == 7 and scores["worst_class_ratio"] > 10
    assert scores["label_accuracy"] == pytest.approx(clean["label_accuracy"], abs=0.01)
    # One real-looking seven, drawn again and again: precise, but no variety at all.
    assert scores["class_precision"][7] > 0.9
    assert scores["worst_recall_class"] == 7 and scores["worst_class_recall"] < 0.05
    others = [digit for digit in range(10) if digit != 7]
    np.testing.assert_allclose(np.array(scores["class_fid"])[others],
                               np.array(clean["class_fid"])[others], rtol=1e-3)

    reference_features, _ = reference
    collapsed_features = features.copy()
    collapsed_features[sevens] = features[sevens[np.argmin(distances)]]
    overall = [metrics.frechet_distance_from_features(values, reference_features)
               for values in (features, collapsed_features)]
    # The overall FID less than doubles; the class's own FID grows twenty times as much.
    assert overall[1] < 2 * overall[0]
    assert scores["worst_class_fid"] - clean["class_fid"][7] > 20 * (overall[1] - overall[0])

    # An unconditional generator with the same failure: the predicted classes show it too.
    predicted = class_metrics.evaluate_classes(lambda n, seed: collapsed[:n], n=N)
    assert predicted["worst_class"] == 7 and predicted["worst_class_ratio"] > 10
    # Still the lowest recall, if less low: an image of another digit read as a seven has the
    # copies as its third neighbour, so its wide ball holds many real sevens.
    assert predicted["worst_recall_class"] == 7 and predicted["worst_class_recall"] < 0.6
