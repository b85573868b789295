"""InfoGAN (``gan_mnist.infogan``), its information term (``losses.info_loss``) and the score of
its categorical code (``clustering.matching_error``), against references worked out by hand or
in NumPy.
"""

import numpy as np
import pytest

import gan_mnist
from gan_mnist import checkpoints, clustering, infogan, losses
from gan_mnist.backend import keras

SMALL = (8, 16, 32)  # Widths small enough for a test; the paper's are (64, 128, 1024).


@pytest.fixture(scope="module")
def digits():
    images, _ = gan_mnist.load_mnist("test")
    return images[:256]


def _gan(seed=0):
    gan_mnist.set_seed(seed)
    return infogan.build(widths=SMALL, seed=seed, steps_per_execution=2)


# ---------------------------------------------------------------------------------------------
# The information term.

def _info_reference(logits, codes, means, values):
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_q = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    cross_entropy = -log_q[np.arange(len(codes)), codes]
    return np.mean(cross_entropy + 0.5 * np.sum((values - means) ** 2, axis=1))


def test_info_loss_is_the_cross_entropy_plus_half_the_squared_error():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(7, 10)).astype(np.float32) * 3
    codes = rng.integers(0, 10, 7)
    means, values = rng.normal(size=(2, 7, 2)).astype(np.float32)
    expected = _info_reference(logits, codes, means, values)
    found = losses.info_loss(logits, codes, means, values)
    assert float(found) == pytest.approx(expected, rel=1e-5)
    assert float(losses.info_loss(logits, codes, means, values, weight=0.5)) == pytest.approx(
        expected / 2, rel=1e-5)


def test_info_loss_of_codes_read_back_exactly_is_near_zero_and_of_a_uniform_guess_log_k():
    codes = np.arange(10)
    certain = np.where(np.eye(10, dtype=bool), 50.0, -50.0).astype(np.float32)
    values = np.linspace(-1, 1, 20, dtype=np.float32).reshape(10, 2)
    assert float(losses.info_loss(certain, codes, values, values)) < 1e-6
    # Q that knows nothing pays log 10 for the category: the whole bound, I(c; x) >= 0.
    guess = np.zeros((10, 10), np.float32)
    empty = np.zeros((10, 0), np.float32)
    assert float(losses.info_loss(guess, codes, empty, empty)) == pytest.approx(np.log(10))


@pytest.mark.parametrize("weight", [-1.0, True, "1", None, float("nan"), float("inf")])
def test_info_loss_refuses_a_bad_weight(weight):
    with pytest.raises(ValueError, match="non-negative number"):
        losses.info_loss([[0.0, 0.0]], [0], [[0.0]], [[0.0]], weight)


# ---------------------------------------------------------------------------------------------
# The matching score.

def test_matching_error_is_zero_for_groups_that_are_the_labels_renamed():
    labels = np.repeat(np.arange(10), 5)
    renamed = (labels * 3 + 1) % 10
    error, matching = clustering.matching_error(renamed, labels)
    assert error == 0.0
    assert np.array_equal(matching[renamed], labels)


def test_matching_error_matches_one_to_one_where_purity_lets_two_groups_claim_one_label():
    # Groups 0 and 1 both hold mostly 4s; group 2 holds 9s and a few 4s. Purity gives both of
    # the first groups the 4s (errors 1 + 2 + 1 of 14); one to one, group 1 must take the 9s.
    ids = np.array([0] * 5 + [1] * 5 + [2] * 4)
    labels = np.array([4, 4, 4, 4, 9] + [4, 4, 4, 9, 9] + [9, 9, 9, 4])
    error, matching = clustering.matching_error(ids, labels)
    # The best one-to-one matching: group 0 -> 4 (4 right), group 2 -> 9 (3 right), and group 1
    # a label none of these images has; 7 of 14 right.
    assert matching[0] == 4 and matching[2] == 9 and matching[1] not in (4, 9)
    assert error == pytest.approx(1 - 7 / 14)
    table = clustering.contingency(ids, labels)
    assert table.sum() == 14 and table[1, 9] == 2


def test_the_table_keeps_rows_of_empty_groups_when_asked():
    table = clustering.contingency(np.array([0, 0, 2]), np.array([1, 1, 0]), groups=4, classes=3)
    assert table.tolist() == [[0, 2, 0], [0, 0, 0], [1, 0, 0], [0, 0, 0]]
    with pytest.raises(ValueError, match="below 2"):
        clustering.contingency(np.array([0, 2]), np.array([0, 0]), groups=2)


def test_matching_error_counts_the_images_of_unmatched_groups_as_errors():
    ids = np.array([0, 0, 1, 1, 2, 2])
    labels = np.array([0, 0, 1, 1, 1, 1])
    error, matching = clustering.matching_error(ids, labels)
    assert error == pytest.approx(2 / 6)
    assert sorted(matching.tolist()) == [-1, 0, 1]


@pytest.mark.parametrize("ids, labels", [([0, 1], [0]), ([], []), ([0, -1], [0, 1]),
                                         ([0.5, 1], [0, 1])])
def test_matching_error_refuses_mismatched_or_bad_ids(ids, labels):
    with pytest.raises(ValueError):
        clustering.matching_error(np.array(ids), np.array(labels))


# ---------------------------------------------------------------------------------------------
# The model.

def test_the_paper_networks_have_its_shapes():
    generator = infogan.generator()
    discriminator = infogan.discriminator()
    assert generator.input_shape == (None, 74)
    assert generator.output_shape == (None, 28, 28, 1)
    assert [shape[1:] for shape in discriminator.output_shape] == [(1,), (10,), (2,)]


def test_the_paper_code_s_slope_and_initial_weights():
    keras.utils.set_random_seed(0)
    paper = infogan.discriminator(widths=SMALL, **infogan.PAPER_CODE)
    slopes = [layer.negative_slope for layer in paper.layers
              if isinstance(layer, keras.layers.LeakyReLU)]
    assert len(slopes) == 4 and slopes == pytest.approx([0.01] * 4)
    kernels = np.concatenate([layer.kernel.numpy().ravel() for layer in paper.layers
                              if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))])
    assert np.std(kernels) == pytest.approx(0.02, rel=0.1) and abs(np.mean(kernels)) < 0.002
    scales = np.concatenate([layer.gamma.numpy() for layer in paper.layers
                             if isinstance(layer, keras.layers.BatchNormalization)])
    assert 0.9 < scales.min() and scales.max() < 1.1 and np.std(scales) > 0.005
    # The defaults: the paper's slope, Keras' initial weights (unit scales).
    default = infogan.discriminator(widths=SMALL)
    assert [layer.negative_slope for layer in default.layers
            if isinstance(layer, keras.layers.LeakyReLU)] == pytest.approx([infogan.LEAK] * 4)
    assert all(np.all(layer.gamma.numpy() == 1) for layer in default.layers
               if isinstance(layer, keras.layers.BatchNormalization))
    generator = infogan.generator(widths=SMALL, init_std=0.02)
    deconv = [layer for layer in generator.layers
              if isinstance(layer, keras.layers.Conv2DTranspose)][0]
    assert np.std(deconv.kernel.numpy()) == pytest.approx(0.02, rel=0.1)


def test_build_passes_the_paper_code_s_settings_on():
    keras.utils.set_random_seed(0)
    gan = infogan.build(widths=SMALL, **infogan.PAPER_CODE)
    assert [layer.negative_slope for layer in gan.discriminator.layers
            if isinstance(layer, keras.layers.LeakyReLU)] == pytest.approx([0.01] * 4)
    first = [layer for layer in gan.discriminator.layers
             if isinstance(layer, keras.layers.Conv2D)][0].kernel.numpy()
    assert np.abs(first).max() <= 2 * 0.02 + 1e-7  # Truncated at two standard deviations.
    scales = np.concatenate([layer.gamma.numpy() for layer in gan.generator.layers
                             if isinstance(layer, keras.layers.BatchNormalization)])
    assert np.std(scales) > 0.005 and abs(np.mean(scales) - 1) < 0.01


@pytest.mark.parametrize("options, message", [
    (dict(leak=1.0), "leak must be a slope"), (dict(leak=-0.1), "leak must be a slope"),
    (dict(leak="0.1"), "leak must be a slope"), (dict(init_std=0), "init_std must be"),
    (dict(init_std=True), "init_std must be"), (dict(init_std="0.02"), "init_std must be"),
    (dict(init_std=float("inf")), "init_std must be"),
])
def test_bad_slopes_and_initial_scales_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        infogan.build(widths=SMALL, **options)


def test_a_few_steps_train_every_network_and_record_the_information_term(digits):
    gan = _gan()
    before = [w.copy() for w in gan.generator.get_weights()], gan.discriminator.get_weights()
    gan.fit(digits, batch_size=16, steps_per_epoch=4, epochs=1, verbose=0)
    assert set(gan.step_history) == {"step", "d_loss", "g_loss", "info_loss", "d_real", "d_fake"}
    assert gan.step_history["step"] == [1, 2, 3, 4]
    assert all(np.isfinite(gan.step_history["info_loss"]))
    # At the start Q guesses: the information term is near log 10 (plus the continuous part).
    assert gan.step_history["info_loss"][0] > 0.5 * np.log(10)
    for old, network in zip(before, (gan.generator, gan.discriminator)):
        assert any(not np.array_equal(a, b) for a, b in zip(old, network.get_weights()))


def test_training_resumes_exactly_from_a_checkpoint(digits, tmp_path):
    straight = _gan()
    straight.fit(digits, batch_size=16, steps_per_epoch=6, epochs=1, verbose=0)
    first = _gan()
    first.fit(digits, batch_size=16, steps_per_epoch=4, epochs=1, verbose=0)
    path = checkpoints.make_checkpoint(first).save(str(tmp_path / "ckpt"))
    resumed = _gan(seed=0)
    checkpoints.make_checkpoint(resumed).restore(path).assert_consumed()
    resumed.fit(digits, batch_size=16, steps_per_epoch=2, epochs=1, verbose=0)
    for name in infogan.InfoGAN.RECORDS:
        assert resumed.step_history[name] == straight.step_history[name][4:]
    assert all(np.array_equal(a, b) for a, b in zip(resumed.generator.get_weights(),
                                                    straight.generator.get_weights()))


def test_it_learns_without_labels_and_refuses_them(digits):
    with pytest.raises(ValueError, match="without labels"):
        _gan().fit(digits, np.zeros(len(digits), np.int64), batch_size=16, steps_per_epoch=1)


def test_generate_draws_the_codes_asked_for_the_same_seed_the_same_digits():
    gan = _gan()
    digits = gan.generate(6, seed=3, categories=2, continuous=[0.5, -0.5])
    assert digits.shape == (6, 28, 28, 1) and 0 <= digits.min() and digits.max() <= 1
    assert np.array_equal(digits, gan.generate(6, seed=3, categories=2, continuous=[0.5, -0.5]))
    assert not np.array_equal(digits, gan.generate(6, seed=3, categories=5,
                                                   continuous=[0.5, -0.5]))
    noise, ids, values = gan.sample_codes(6, seed=3, categories=[0, 1, 2, 3, 4, 5])
    assert ids.tolist() == [0, 1, 2, 3, 4, 5] and values.shape == (6, 2)
    assert np.abs(values).max() <= 1 and noise.shape == (6, 62)


def test_encode_reads_a_code_and_means_for_every_digit_leaving_the_moving_averages(digits):
    gan = _gan()
    gan.fit(digits, batch_size=16, steps_per_epoch=2, epochs=1, verbose=0)
    before = [w.copy() for w in gan.discriminator.get_weights()]
    ids, means = gan.encode(digits[:70], batch_size=40)  # Two batches of 35.
    assert ids.shape == (70,) and means.shape == (70, 2)
    assert ((0 <= ids) & (ids < 10)).all()
    assert all(np.array_equal(a, b) for a, b in zip(before, gan.discriminator.get_weights()))
    # Batch statistics and the moving averages give different readings of the same digits.
    _, moving = gan.encode(digits[:70], batch_statistics=False)
    assert not np.allclose(means, moving)
    # A batch too small for its own statistics is refused, not read as noise.
    with pytest.raises(ValueError, match="batch_statistics=False"):
        gan.encode(digits[:10])
    assert gan.encode(digits[:10], batch_statistics=False)[0].shape == (10,)


@pytest.mark.parametrize("arguments, message", [
    (dict(categories=10), "categories must be integers from 0 to 9"),
    (dict(categories=-1), "categories must be integers from 0 to 9"),
    (dict(categories=1.5), "categories must be integers"),
])
def test_bad_codes_are_refused(arguments, message):
    with pytest.raises(ValueError, match=message):
        _gan().generate(3, seed=0, **arguments)


def test_networks_of_other_sizes_or_a_bad_weight_are_refused():
    generator, discriminator = infogan.generator(widths=SMALL), infogan.discriminator(widths=SMALL)
    with pytest.raises(ValueError, match="must take 75 inputs"):
        infogan.InfoGAN(generator, discriminator, noise_dim=63)
    with pytest.raises(ValueError, match=r"\(12,\)"):
        infogan.InfoGAN(infogan.generator(categories=12, widths=SMALL), discriminator,
                        categories=12)
    with pytest.raises(ValueError, match="non-negative"):
        infogan.InfoGAN(generator, discriminator, info_weight=-1)
    with pytest.raises(ValueError, match="three sizes"):
        infogan.generator(widths=(8, 16))
    with pytest.raises(ValueError, match="continuous must be an integer of at least 1"):
        infogan.discriminator(continuous=0)
    with pytest.raises(ValueError, match="must be a keras.optimizers.Optimizer"):
        infogan.InfoGAN(generator, discriminator).compile("adam", "adam ")
    used = _gan()  # Its optimizers are built for its own networks' weights.
    with pytest.raises(ValueError, match="already used for other weights"):
        infogan.InfoGAN(generator, discriminator).compile(used.d_optimizer,
                                                          keras.optimizers.Adam())
    with pytest.raises(ValueError, match="same object"):
        optimizer = keras.optimizers.Adam()
        infogan.InfoGAN(generator, discriminator).compile(optimizer, optimizer)


class _Strokes:
    """A stand-in generator with known controls: its first continuous code leans a vertical
    stroke (0.3 columns per row per unit), its second widens it; each noise vector has a lean
    and a width of its own, the same at every value of the codes.
    """

    categories, continuous = 2, 2

    def generate(self, n, seed, category, continuous):
        digits = np.zeros((n, 28, 28), np.float32)
        for index, (lean, wide) in enumerate(np.asarray(continuous)):
            width = 1 + index % 3 + int(round(wide + 2))
            for row in range(4, 24):
                left = 12 + int(round((0.3 * lean + 0.2 * (index % 2)) * (14 - row)))
                digits[index, row, left : left + width] = 1.0
        return digits


def test_code_correlations_find_the_code_that_leans_and_the_one_that_widens():
    found = infogan.code_correlations(_Strokes(), seed=0, vectors=6)
    assert found["c2"]["slant"] > 0.95 and found["c3"]["width"] > 0.8
    # A code that does not change a property leaves it uncorrelated (each noise vector's own
    # lean and width are the same at every value).
    assert abs(found["c2"]["width"]) < 0.1 and abs(found["c3"]["slant"]) < 0.1
    with pytest.raises(ValueError, match="vectors"):
        infogan.code_correlations(_Strokes(), vectors=1)
