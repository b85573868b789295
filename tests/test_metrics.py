"""The metrics against NumPy references, and whole evaluations of real and fake digits."""

import math

import keras
import numpy as np
import pytest

from gan_mnist import metrics
from gan_mnist.data import load_mnist

# Small settings keep every `evaluate` call to a second or two.
N = 2000
KID = dict(subsets=20, subset_size=500)


@pytest.fixture(scope="module")
def test_split():
    return load_mnist("test")


@pytest.fixture(scope="module")
def unseen_train_images():
    """Random train digits outside the fixed subset that `evaluate` uses for its floor at n=N.

    Random, because the MNIST files are not shuffled: the last 10,000 training digits, for
    one, are twice as far from the test set as a random 10,000.
    """
    images, _ = load_mnist("train")
    floor = np.random.default_rng(metrics.REFERENCE_SEED).choice(len(images), N, replace=False)
    unused = np.setdiff1d(np.arange(len(images)), floor)
    return images[np.random.default_rng(9).choice(unused, N, replace=False)]


def random_covariance(generator, dims):
    factor = generator.standard_normal((dims, dims))
    return factor @ factor.T / dims + 0.1 * np.eye(dims)


def test_evaluate_rejects_bad_arguments(test_split):
    with pytest.raises(ValueError, match="n=500"):
        metrics.evaluate(test_split[0][:500], n=1000)
    with pytest.raises(ValueError, match="reference"):
        metrics.evaluate(test_split[0][:100], n=100, reference="validation")
    with pytest.raises(ValueError, match="from 2 to 10,000"):
        metrics.evaluate(lambda n, seed: test_split[0][:n], n=20_000)
    with pytest.raises(ValueError, match="span"):
        metrics.evaluate(np.full((100, 28, 28), 3.0, np.float32), n=100)


def test_neighbour_balls_need_more_samples_than_neighbours(test_split):
    # Density's k = 5 nearest neighbours need 6 digits per set; below that the four are NaN.
    few = metrics.evaluate(test_split[0][:5], n=5, subsets=2)
    for name in ("precision", "recall", "density", "coverage"):
        assert math.isnan(few[name]) and math.isnan(few[f"floor_{name}"])
    assert math.isfinite(few["fid"])
    enough = metrics.evaluate(test_split[0][:6], n=6, subsets=2)
    assert 0 <= enough["floor_precision"] <= 1 and enough["density"] >= 0


# Frechet distance.


def test_frechet_distance_matches_the_closed_form_for_diagonal_covariances():
    generator = np.random.default_rng(1)
    mean_a, mean_b = generator.standard_normal(16), generator.standard_normal(16)
    variances_a, variances_b = generator.uniform(0.1, 3, 16), generator.uniform(0.1, 3, 16)
    expected = np.sum((mean_a - mean_b) ** 2) + np.sum(
        (np.sqrt(variances_a) - np.sqrt(variances_b)) ** 2
    )
    actual = metrics.frechet_distance_from_statistics(
        mean_a, np.diag(variances_a), mean_b, np.diag(variances_b)
    )
    assert actual == pytest.approx(expected, rel=1e-10)


def test_frechet_distance_matches_a_numpy_reference_on_gaussian_samples():
    generator = np.random.default_rng(2)
    dims = 12
    samples_a = generator.multivariate_normal(
        generator.standard_normal(dims), random_covariance(generator, dims), size=500
    )
    samples_b = generator.multivariate_normal(
        generator.standard_normal(dims), random_covariance(generator, dims), size=400
    )
    mean_a, mean_b = samples_a.mean(0), samples_b.mean(0)
    cov_a, cov_b = np.cov(samples_a, rowvar=False), np.cov(samples_b, rowvar=False)
    # tr((A B)^1/2) is the sum of the square roots of the (real, positive) eigenvalues of A B.
    trace_of_root = np.sum(np.sqrt(np.linalg.eigvals(cov_a @ cov_b).real))
    expected = np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a + cov_b) - 2 * trace_of_root
    actual = metrics.frechet_distance_from_features(samples_a, samples_b)
    assert actual == pytest.approx(expected, rel=1e-8)
    assert metrics.frechet_distance_from_features(samples_b, samples_a) == pytest.approx(
        actual, rel=1e-8
    )


def test_frechet_distance_is_zero_for_identical_sets_and_finite_when_singular():
    features = np.random.default_rng(3).standard_normal((50, 128))
    # Fifty samples in 128 dimensions: both covariances are singular.
    assert metrics.frechet_distance_from_features(features, features) == pytest.approx(0, abs=1e-6)
    shifted = metrics.frechet_distance_from_features(features, features + 1.0)
    assert shifted == pytest.approx(128.0, rel=1e-6)


# Kernel distance.


def test_unbiased_mmd_matches_a_loop_reference():
    generator = np.random.default_rng(4)
    x, y = generator.standard_normal((6, 3)), generator.standard_normal((5, 3)) + 0.5

    def kernel(a, b):
        return (np.dot(a, b) / 3 + 1) ** 3

    within_x = sum(kernel(x[i], x[j]) for i in range(6) for j in range(6) if i != j) / 30
    within_y = sum(kernel(y[i], y[j]) for i in range(5) for j in range(5) if i != j) / 20
    between = sum(kernel(a, b) for a in x for b in y) / 30
    assert metrics._unbiased_mmd2(x, y) == pytest.approx(within_x + within_y - 2 * between)


def test_kernel_distance_is_near_zero_for_one_distribution_and_positive_for_two():
    generator = np.random.default_rng(5)
    a, b = generator.standard_normal((2, 2000, 32))
    kid, kid_std = metrics.kernel_distance_from_features(a, b, subsets=50, subset_size=500)
    assert abs(kid) < 3 * kid_std / math.sqrt(10) + 1e-4
    shifted, shifted_std = metrics.kernel_distance_from_features(
        a, b + 0.3, subsets=50, subset_size=500
    )
    assert shifted > 10 * shifted_std
    assert shifted > 20 * abs(kid)


def test_kernel_distance_is_unbiased_across_many_small_samples():
    # The biased estimator (diagonals kept) would average about 2 k(x, x) / m > 0.1 here.
    generator = np.random.default_rng(6)
    estimates = [
        metrics._unbiased_mmd2(*generator.standard_normal((2, 20, 8))) for _ in range(400)
    ]
    assert abs(np.mean(estimates)) < 3 * np.std(estimates) / math.sqrt(400)


# Classifier score and coverage.


def test_classifier_score_matches_a_direct_reference():
    logits = np.random.default_rng(7).standard_normal((300, 10)) * 3
    probabilities = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    marginal = probabilities.mean(0)
    expected = np.exp(np.mean(np.sum(probabilities * np.log(probabilities / marginal), 1)))
    assert metrics.classifier_score_from_logits(logits) == pytest.approx(expected, rel=1e-10)


def test_classifier_score_is_ten_for_confident_balanced_and_one_for_single_class():
    confident = np.tile(np.eye(10) * 50, (30, 1))
    assert metrics.classifier_score_from_logits(confident) == pytest.approx(10, rel=1e-6)
    one_class = np.tile(confident[3], (300, 1))
    assert metrics.classifier_score_from_logits(one_class) == pytest.approx(1)


def test_class_coverage_histogram_kl_and_classes_seen():
    real = np.full(10, 0.1)
    # 60% class 0, 35% class 1, 5% class 2 (at least a tenth of its real 10% share: seen).
    counts = {0: 60, 1: 35, 2: 5}
    logits = np.eye(10)[np.repeat(list(counts), list(counts.values()))] * 20
    coverage = metrics.class_coverage_from_logits(logits, real)
    shares = np.array([0.6, 0.35, 0.05])
    np.testing.assert_allclose(coverage["histogram"][:3], shares)
    assert coverage["kl"] == pytest.approx(np.sum(shares * np.log(shares / 0.1)), rel=1e-4)
    assert coverage["classes_seen"] == 3
    # 0.5% of the samples is below a tenth of the 10% real share: not seen.
    rare = np.eye(10)[np.repeat([0, 9], [995, 5])] * 20
    assert metrics.class_coverage_from_logits(rare, real)["classes_seen"] == 1
    labels = np.repeat(np.arange(10), 10)
    balanced = metrics.class_coverage_from_logits(np.eye(10)[labels] * 20, labels)
    assert balanced["kl"] == pytest.approx(0, abs=1e-5) and balanced["classes_seen"] == 10


# Whole evaluations.


def test_real_digits_score_near_the_floor_and_far_from_noise(unseen_train_images):
    real = metrics.evaluate(unseen_train_images, n=N, **KID)
    assert set(real) >= {"fid", "kid", "kid_std", "score", "class_kl", "classes_seen"}
    assert set(real) >= {"floor_fid", "floor_kid", "floor_score"}
    assert 0.5 < real["fid"] / real["floor_fid"] < 2.0
    assert abs(real["kid"]) < 3 * real["kid_std"]
    assert real["score"] > 9.0 and real["score"] == pytest.approx(real["floor_score"], rel=0.05)
    assert real["classes_seen"] == 10 and real["class_kl"] < 0.02
    # Real digits sit among the reference's and cover them about as well as the floor does.
    for name in ("precision", "recall", "coverage"):
        assert 0.8 < real[f"floor_{name}"] < 1.0
        assert real[name] == pytest.approx(real[f"floor_{name}"], abs=0.03)
    assert 0.85 < real["floor_density"] < 1.15
    assert real["density"] == pytest.approx(real["floor_density"], abs=0.05)

    noise = np.random.default_rng(8).uniform(0, 1, (N, 28, 28)).astype(np.float32)
    fake = metrics.evaluate(noise, n=N, **KID)
    assert fake["fid"] > 50 * real["fid"]
    assert fake["kid"] > 100 * max(real["kid"], real["kid_std"])
    assert fake["floor_fid"] == real["floor_fid"]
    assert fake["floor_precision"] == real["floor_precision"]
    # No noise image lies among the digits, and no digit among the noise.
    for name in ("precision", "recall", "density", "coverage"):
        assert fake[name] == 0.0


def test_a_one_class_generator_sees_one_class_and_scores_near_one(test_split):
    images, labels = test_split
    ones = images[labels == 1]

    def one_digit_generator(n, seed=None):
        return np.resize(ones, (n, 28, 28))

    result = metrics.evaluate(one_digit_generator, n=N, **KID)
    assert result["classes_seen"] == 1
    assert result["score"] < 1.1
    share_of_ones = np.mean(labels == 1)
    assert result["class_kl"] == pytest.approx(-math.log(share_of_ones), rel=0.05)
    assert result["fid"] > 10 * result["floor_fid"]
    # Real-looking ones, but only ones: high precision, recall and coverage near their share.
    assert result["precision"] > 0.9
    assert share_of_ones < result["recall"] < 0.2 and share_of_ones < result["coverage"] < 0.2


def test_keras_generators_need_their_latent_and_are_reproducible():
    keras.utils.set_random_seed(0)
    latent = keras.Input(shape=(8,))
    pixels = keras.layers.Dense(784, activation="tanh")(latent)
    generator = keras.Model(latent, keras.layers.Reshape((28, 28, 1))(pixels))
    with pytest.raises(ValueError, match="latent="):
        metrics.evaluate(generator, n=200)
    first = metrics.evaluate(generator, n=200, latent="normal", seed=3, **KID)
    again = metrics.evaluate(generator, n=200, latent="normal", seed=3, **KID)
    assert first == again
    other = metrics.evaluate(generator, n=200, latent="uniform", seed=3, **KID)
    assert other["fid"] != first["fid"]


def test_a_gan_brings_its_own_value_range(test_split):
    # Non-negative floats would be read as [0, 1]; the generator says they are in [-1, 1].
    digits = test_split[0][:200].astype(np.float32) / 255

    class SymmetricGenerator:
        value_range = (-1.0, 1.0)

        def generate(self, n, seed=None):
            return digits[:n]

    generator = SymmetricGenerator()
    np.testing.assert_array_equal(metrics.sample(generator, 200), (digits + 1) / 2)
    scores = metrics.evaluate(generator, n=200, **KID)
    assert scores == metrics.evaluate((digits + 1) / 2, n=200, value_range=(0, 1), **KID)
    assert scores == metrics.evaluate(generator, n=200, value_range=(-1, 1), **KID)
    with pytest.raises(ValueError, match="contradicts"):
        metrics.sample(generator, 10, value_range=(0, 1))
