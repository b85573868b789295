"""Precision, recall, density and coverage against a brute-force reference and known answers."""

import numpy as np
import pytest

from gan_mnist import manifolds, metrics


def brute_force(generated, real, k):
    """All four metrics from the full distance matrix, radii by ``np.sort`` (column 0: itself)."""
    cross = np.sqrt(((real[:, None, :] - generated[None, :, :]) ** 2).sum(axis=-1))

    def radii(points):
        within = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=-1))
        return np.sort(within, axis=1)[:, k]

    real_radii, generated_radii = radii(real), radii(generated)
    inside_real_balls = cross <= real_radii[:, None]
    return dict(
        precision=np.mean(inside_real_balls.any(axis=0)),
        recall=np.mean((cross <= generated_radii[None, :]).any(axis=1)),
        density=inside_real_balls.sum() / (k * len(generated)),
        coverage=np.mean(inside_real_balls.any(axis=1)),
    )


def all_four(generated, real, k, chunk_size=manifolds.CHUNK_SIZE):
    return manifolds.manifold_metrics_from_features(generated, real, k, k, chunk_size)


@pytest.mark.parametrize("k", [1, 3, 5, 10])
def test_the_metrics_match_a_brute_force_reference(k):
    generator = np.random.default_rng(k)
    real = generator.standard_normal((120, 6))
    # A narrower, shifted cloud: precision, recall and coverage well inside (0, 1).
    generated = 0.7 * generator.standard_normal((90, 6)) + 0.5
    expected = brute_force(generated, real, k)
    assert all_four(generated, real, k) == pytest.approx(expected, abs=1e-12)
    assert 0.1 < min(expected["precision"], expected["recall"], expected["coverage"])
    assert max(expected["precision"], expected["recall"], expected["coverage"]) < 0.99
    assert metrics.precision_recall_from_features(generated, real, k) == pytest.approx(
        dict(precision=expected["precision"], recall=expected["recall"]), abs=1e-12
    )
    assert metrics.density_coverage_from_features(generated, real, k) == pytest.approx(
        dict(density=expected["density"], coverage=expected["coverage"]), abs=1e-12
    )


def test_radii_are_the_kth_neighbour_leaving_the_point_itself_out():
    points = np.random.default_rng(0).standard_normal((50, 4))
    within = np.sqrt(((points[:, None] - points[None]) ** 2).sum(axis=-1))
    for k in (1, 3, 49):
        expected = np.sort(within, axis=1)[:, k]
        np.testing.assert_allclose(metrics.nearest_neighbour_radii(points, k, 7), expected,
                                   rtol=1e-9)
    # An exact duplicate is a neighbour at distance 0 (to the rounding of |a|^2 + |b|^2 -
    # 2 a.b, about 1e-8 of the norms); the point itself is not.
    doubled = np.concatenate([points, points[:1]])
    radii = manifolds.nearest_neighbour_radii(doubled, k=1)
    assert radii[0] < 1e-7 and radii[-1] < 1e-7 and np.all(radii[1:-1] > 0.1)


def test_points_on_a_line_score_the_hand_computed_values():
    # Real digits 0..9 on a line, generated ones only 0..4: the first half of the real ones.
    real, generated = np.arange(10.0)[:, None], np.arange(5.0)[:, None]
    # k = 1: every radius is 1, so the generated balls reach 0..5 and so do the covered real
    # balls; generated 0 enters the balls of 0 and 1, the others three balls each.
    assert all_four(generated, real, 1) == dict(
        precision=1.0, recall=0.6, density=14 / 5, coverage=0.6
    )
    # k = 2: the end points' radii are 2 (inner ones 1), so generated 4 reaches real 6.
    # Generated 0 enters the balls of 0 and 1, generated 2 also the radius-2 ball of 0 (four),
    # the others three each: 15 / (2 x 5).
    assert all_four(generated, real, 2) == dict(
        precision=1.0, recall=0.7, density=1.5, coverage=0.6
    )


@pytest.mark.parametrize("k", [1, 3, 5])
def test_a_set_against_itself_and_against_its_half(k):
    generator = np.random.default_rng(10 + k)
    points = generator.standard_normal((200, 16))
    # Each ball holds its centre and its k nearest neighbours, the k-th on its edge: each
    # generated point enters k + 1 balls on average, so density is (k + 1) / k, not 1.
    assert all_four(points, points, k) == dict(
        precision=1.0, recall=1.0, density=(k + 1) / k, coverage=1.0
    )
    # Half of the points against all of them: each is a real point, inside its own ball.
    assert manifolds.precision_recall_from_features(points[:100], points, k)["precision"] == 1.0
    # Two far-apart clusters, the generated points the first one only: recall and coverage
    # are its share of the real points. Integer coordinates keep every distance exact, so the
    # k-th neighbours on the edges count the same in both sets' balls.
    cluster = generator.integers(-10**6, 10**6, size=(60, 4)).astype(np.float64)
    real = np.concatenate([cluster, cluster[:40] + 10**7])
    assert all_four(cluster, real, k) == dict(
        precision=1.0, recall=0.6, density=(k + 1) / k, coverage=0.6
    )


def test_disjoint_sets_score_zero():
    generator = np.random.default_rng(20)
    real = generator.standard_normal((100, 8))
    far = generator.standard_normal((80, 8)) + 100.0
    for k in (1, 3, 5):
        assert all_four(far, real, k) == dict(precision=0.0, recall=0.0, density=0.0,
                                              coverage=0.0)


def test_chunks_give_the_same_answers_as_one_block():
    generator = np.random.default_rng(30)
    real = generator.standard_normal((300, 32))
    generated = generator.standard_normal((250, 32)) * 1.2
    whole = all_four(generated, real, 3, chunk_size=10_000)
    for chunk_size in (7, 64, 299):
        assert all_four(generated, real, 3, chunk_size=chunk_size) == whole
    # The products of a block depend on its shape only in the last bit.
    np.testing.assert_allclose(manifolds.nearest_neighbour_radii(real, 5, 7),
                               manifolds.nearest_neighbour_radii(real, 5, 10_000), rtol=1e-13)


def test_bad_arguments_raise_clear_errors():
    points = np.zeros((10, 3))
    for k, message in [(0, "positive integer"), (-1, "positive integer"),
                       (True, "positive integer"), (2.0, "positive integer"),
                       (10, "at least 11 samples")]:
        with pytest.raises(ValueError, match=message):
            manifolds.precision_recall_from_features(points, points, k)
        with pytest.raises(ValueError, match=message):
            manifolds.density_coverage_from_features(points, points, k)
    # Precision and recall need k + 1 points in both sets, density and coverage only in the
    # real one.
    with pytest.raises(ValueError, match="precision_k=3 needs at least 4 samples per set"):
        manifolds.precision_recall_from_features(points[:3], points)
    assert manifolds.density_coverage_from_features(points[:3], points, 5) is not None
    with pytest.raises(ValueError, match="density_k=5 needs at least 6 samples"):
        manifolds.density_coverage_from_features(points, points[:5])
    with pytest.raises(ValueError, match="dimensions"):
        manifolds.manifold_metrics_from_features(points, np.zeros((10, 4)))
    with pytest.raises(ValueError, match="2-D array"):
        manifolds.manifold_metrics_from_features(np.zeros(10), points)
    with pytest.raises(ValueError, match="NaN"):
        manifolds.manifold_metrics_from_features(np.full((10, 3), np.nan), points)
    with pytest.raises(ValueError, match="chunk_size must be a positive integer"):
        manifolds.manifold_metrics_from_features(points, points, chunk_size=0)
    with pytest.raises(ValueError, match="nothing to compute"):
        manifolds.manifold_metrics_from_features(points, points, None, None)
    with pytest.raises(ValueError, match="k=10 needs"):
        manifolds.nearest_neighbour_radii(points, 10)


def test_reference_radii_computed_once_give_the_same_answers():
    generator = np.random.default_rng(5)
    real, generated = generator.normal(size=(60, 4)), generator.normal(0.3, 1.0, size=(50, 4))
    radii = manifolds.reference_radii(real)
    assert sorted(radii) == [manifolds.PRECISION_K, manifolds.DENSITY_K]
    reused = manifolds.manifold_metrics_from_features(generated, real, reference_radii=radii)
    assert reused == manifolds.manifold_metrics_from_features(generated, real)
    with pytest.raises(ValueError, match="reference_radii"):
        manifolds.manifold_metrics_from_features(generated, real[:40], reference_radii=radii)
