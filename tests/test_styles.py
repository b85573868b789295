"""Style bins within each digit (gan_mnist.styles): the tests against SciPy's formulas, and a
generator built by hand that drops one style of one digit, which must be caught."""

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import norm

from gan_mnist import load_mnist, styles


def test_p_values_are_the_two_proportion_z_test():
    counts = np.array([[30, 50, 20], [0, 10, 90]])
    reference = np.array([[300, 400, 300], [100, 100, 800]])
    found = styles.two_proportion_p_values(counts, reference)
    for row in range(2):
        n, m = counts[row].sum(), reference[row].sum()
        for column in range(3):
            a, b = counts[row, column], reference[row, column]
            pooled = (a + b) / (n + m)
            z = (a / n - b / m) / np.sqrt(pooled * (1 - pooled) * (1 / n + 1 / m))
            assert found[row, column] == pytest.approx(2 * norm.sf(abs(z)), rel=1e-9)


def test_jensen_shannon_is_scipys_in_bits():
    p = np.array([[1, 2, 3, 0], [5, 5, 5, 5]])
    q = np.array([[3, 2, 1, 1], [5, 5, 5, 5]])
    found = styles.jensen_shannon(p, q)
    for row in range(2):
        assert found[row] == pytest.approx(jensenshannon(p[row], q[row], base=2) ** 2, abs=1e-12)
    assert found[1] == 0.0
    assert styles.jensen_shannon([[1, 0]], [[0, 1]])[0] == pytest.approx(1.0)


def test_compare_names_the_missing_bin():
    reference = np.tile([100, 100, 100, 100], (10, 1))
    counts = reference.copy()
    counts[7] = [133, 133, 134, 0]  # The fourth style of 7s is never drawn.
    found = styles.compare(counts, reference)
    assert found["ndb"][7] >= 1 and found["ndb"][3] == 0
    assert found["under_drawn_bin"][7] == 3 and found["under_drawn_ratio"][7] == 0.0
    assert found["under_drawn_ratio"][3] == pytest.approx(1.0)
    assert found["jsd"][7] > 0.05 and found["jsd"][3] == 0.0


@pytest.fixture(scope="module")
def real_digits():
    images, _ = load_mnist("train")
    return images[:3000]


def test_real_digits_sit_near_the_floor_and_a_dropped_style_is_caught(real_digits):
    bins = styles.style_bins()
    honest = styles.evaluate_styles(real_digits, floor_subsets=2)
    assert honest["class_counts"] == [int(c) for c in np.asarray(honest["class_counts"])]
    assert sum(honest["class_counts"]) == len(real_digits)
    # Real digits against the test bins: about as even as the floor's real digits.
    assert honest["ndb_total"] <= 3 * honest["floor_ndb_total"] + 5

    # The same digits with every 7 of its commonest style replaced by other 7s.
    readings = styles._classes(real_digits.astype(np.float32)[..., None] / 255)
    sevens = np.flatnonzero(readings == 7)
    assigned = bins[7].assign(real_digits[sevens])
    dropped = int(np.bincount(assigned).argmax())
    kept = sevens[assigned != dropped]
    damaged = real_digits.copy()
    damaged[sevens[assigned == dropped]] = real_digits[
        np.resize(kept, int((assigned == dropped).sum()))]
    found = styles.evaluate_styles(damaged, floor_subsets=2)
    assert found["under_drawn_bin"][7] == dropped
    assert found["under_drawn_ratio"][7] == 0.0
    assert found["ndb"][7] > honest["ndb"][7]
    assert found["jsd"][7] > 3 * max(honest["jsd"][7], found["floor_jsd_mean"][7])
    real, drawn = styles.bin_examples(7, dropped, damaged, count=8)
    assert len(real) == 8 and len(drawn) == 0


def test_bad_arguments_are_clear():
    with pytest.raises(ValueError, match="bins must be at least 2"):
        styles.style_bins(1)
    with pytest.raises(ValueError, match="disjoint subsets"):
        styles.floor(n=30_000, floor_subsets=3)
    with pytest.raises(ValueError, match="bin_index"):
        styles.bin_examples(7, 10, np.zeros((4, 28, 28), np.uint8))
