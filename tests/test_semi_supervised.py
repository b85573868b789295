"""The semi-supervised GAN (``gan_mnist.semi_supervised``), feature matching
(``losses.feature_matching``) and weight normalisation (``layers.WeightNormDense``), against
their formulas.
"""

import numpy as np
import pytest

import gan_mnist
from gan_mnist import checkpoints, losses
from gan_mnist import semi_supervised as ss
from gan_mnist.backend import keras, tf
from gan_mnist.layers import WeightNormDense

SMALL = dict(d_widths=(16, 8), g_widths=(16,), noise_dim=8)


@pytest.fixture(scope="module")
def digits():
    images, labels = gan_mnist.load_mnist("test")
    return images[:300], labels[:300]


def _gan(digits, seed=0, **changes):
    images, labels = digits
    gan_mnist.set_seed(seed)
    settings = dict(SMALL, seed=seed, steps_per_execution=2, initialize_on=images[:64])
    settings.update(changes)
    return ss.build(images[:20], labels[:20], **settings)


# ---------------------------------------------------------------------------------------------
# The K + 1 classes on K logits.

def test_the_real_fake_logit_is_the_log_of_the_real_classes_odds_against_the_fixed_zero():
    logits = np.array([[0.0, 0.0], [2.0, -1.0], [-30.0, -30.0]], np.float32)
    # K + 1 classes with the last logit 0: P(real) = sum_k e^l_k / (sum_k e^l_k + 1).
    z = np.exp(logits).sum(axis=1)
    probability_real = z / (z + 1)
    logit = ss.real_fake_logit(logits).numpy()
    assert np.allclose(1 / (1 + np.exp(-logit)), probability_real, atol=1e-6)
    assert logit[0] == pytest.approx(np.log(2))


def test_the_losses_are_the_papers_formulas():
    rng = np.random.default_rng(1)
    labelled, real, fake = rng.normal(size=(3, 6, 10)).astype(np.float32) * 2
    labels = rng.integers(0, 10, 6)
    log_softmax = labelled - np.log(np.exp(labelled).sum(axis=1, keepdims=True))
    assert float(ss.supervised_loss(labelled, labels)) == pytest.approx(
        -log_softmax[np.arange(6), labels].mean(), rel=1e-5)

    def d(logits):
        z = np.exp(logits).sum(axis=1)
        return z / (z + 1)

    expected = -np.log(d(real)).mean() - np.log(1 - d(fake)).mean()
    assert float(ss.unsupervised_loss(real, fake)) == pytest.approx(expected, rel=1e-5)


def test_feature_matching_is_the_squared_distance_of_the_mean_features():
    real = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)  # Means 2, 3.
    fake = np.array([[0.0, 0.0], [0.0, 2.0], [0.0, 4.0]], np.float32)  # Means 0, 2.
    assert float(losses.feature_matching(real, fake)) == pytest.approx((4 + 1) / 2)
    assert float(losses.feature_matching(real, real[::-1])) == 0.0


# ---------------------------------------------------------------------------------------------
# Weight normalisation.

def test_weight_norm_dense_is_g_times_the_unit_direction_and_initialises_from_a_batch():
    layer = WeightNormDense(3)
    x = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
    layer.build((None, 4))
    v = keras.ops.convert_to_numpy(layer.direction)
    layer.scale.assign([2.0, 1.0, 0.5])
    expected = x @ (v / np.linalg.norm(v, axis=0)) * [2.0, 1.0, 0.5]
    assert np.allclose(keras.ops.convert_to_numpy(layer(x)), expected, atol=1e-5)
    layer.initialize(x)
    out = keras.ops.convert_to_numpy(layer(x))
    assert np.allclose(out.mean(axis=0), 0, atol=1e-5) and np.allclose(out.std(axis=0), 1, atol=1e-3)
    frozen = WeightNormDense(3, train_scale=False)
    frozen.build((None, 4))
    assert [w.name for w in frozen.trainable_weights] == ["direction", "bias"]
    with pytest.raises(ValueError, match="units must be a positive integer"):
        WeightNormDense(0)


def test_the_papers_networks_have_its_shapes():
    discriminator = ss.discriminator()
    assert [shape[1:] for shape in discriminator.output_shape] == [(10,), (250,)]
    assert [layer.units for layer in discriminator.layers
            if isinstance(layer, WeightNormDense)] == [1000, 500, 250, 250, 250, 10]
    assert ss.generator().output_shape == (None, 28, 28, 1)


# ---------------------------------------------------------------------------------------------
# Training.

def test_a_few_steps_train_both_networks_and_only_the_labelled_digits_give_labels(digits):
    gan = _gan(digits)
    before = gan.generator.get_weights(), gan.discriminator.get_weights()
    gan.fit(digits[0], batch_size=10, steps_per_epoch=4, epochs=1, verbose=0)
    assert gan.step_history["step"] == [1, 2, 3, 4]
    for name in ss.SemiSupervisedGAN.RECORDS:
        assert np.all(np.isfinite(gan.step_history[name]))
    for old, network in zip(before, (gan.generator, gan.discriminator)):
        assert any(not np.array_equal(a, b) for a, b in zip(old, network.get_weights()))
    with pytest.raises(ValueError, match="unlabelled images only"):
        gan.fit(digits[0], digits[1], batch_size=10, steps_per_epoch=1)


def test_every_labelled_batch_holds_each_labelled_digit_equally_often(digits):
    gan = _gan(digits)  # 20 labelled digits.
    for batch_size, times in ((20, 1), (40, 2), (60, 3)):
        images, labels = gan.labelled_batch(tf.constant([1, 2], tf.int64), batch_size)
        # Each labelled digit appears `times` times: the images, summed per digit, say so.
        found = np.sort(images.numpy().reshape(batch_size, -1).sum(axis=1))
        expected = np.sort(np.repeat(gan.labelled_images.numpy().reshape(20, -1).sum(axis=1),
                                     times))
        np.testing.assert_allclose(found, expected, rtol=1e-6)
        assert np.bincount(labels.numpy(), minlength=10).tolist() == (
            (np.bincount(digits[1][:20], minlength=10) * times).tolist())
    first, _ = gan.labelled_batch(tf.constant([1, 2], tf.int64), 20)
    other, _ = gan.labelled_batch(tf.constant([1, 3], tf.int64), 20)
    assert not np.array_equal(first.numpy(), other.numpy())  # Another step, another order.


def test_training_resumes_exactly_from_a_checkpoint(digits, tmp_path):
    straight = _gan(digits)
    straight.fit(digits[0], batch_size=10, steps_per_epoch=6, epochs=1, verbose=0)
    first = _gan(digits)
    first.fit(digits[0], batch_size=10, steps_per_epoch=4, epochs=1, verbose=0)
    path = checkpoints.make_checkpoint(first).save(str(tmp_path / "ckpt"))
    resumed = _gan(digits)
    checkpoints.make_checkpoint(resumed).restore(path).assert_consumed()
    resumed.fit(digits[0], batch_size=10, steps_per_epoch=2, epochs=1, verbose=0)
    for name in ss.SemiSupervisedGAN.RECORDS:
        assert resumed.step_history[name] == straight.step_history[name][4:]
    # The weight average that classifies is restored too, not rebuilt from D.
    for average, expected in zip(resumed.ema_discriminator.get_weights(),
                                 straight.ema_discriminator.get_weights()):
        np.testing.assert_array_equal(average, expected)
    np.testing.assert_array_equal(resumed.classify(digits[0][:50]),
                                  straight.classify(digits[0][:50]))


def test_classify_labels_every_digit_with_the_average_or_the_raw_discriminator(digits):
    gan = _gan(digits, ema_decay=0.5)
    start = [w.copy() for w in gan.discriminator.get_weights()]
    gan.fit(digits[0], batch_size=10, steps_per_epoch=1, epochs=1, verbose=0)
    # After one step the average is halfway between the first weights and the trained ones.
    for average, first, trained in zip(gan.ema_discriminator.get_weights(), start,
                                       gan.discriminator.get_weights()):
        np.testing.assert_allclose(average, 0.5 * first + 0.5 * trained, rtol=1e-5, atol=1e-7)
    pixels = digits[0][:30].astype(np.float32)[..., None] / 255
    for network, raw in ((gan.ema_discriminator, False), (gan.discriminator, True)):
        expected = np.argmax(network(pixels, training=False)[0].numpy(), axis=1)
        np.testing.assert_array_equal(gan.classify(digits[0][:30], raw=raw), expected)


def test_with_no_unsupervised_weight_only_the_labelled_digits_train_the_discriminator(digits):
    gan = _gan(digits, unsupervised_weight=0.0)
    generator = [w.copy() for w in gan.generator.get_weights()]
    discriminator = [w.copy() for w in gan.discriminator.get_weights()]
    gan.fit(digits[0], batch_size=10, steps_per_epoch=3, epochs=1, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(generator, gan.generator.get_weights()))
    assert any(not np.array_equal(a, b)
               for a, b in zip(discriminator, gan.discriminator.get_weights()))
    assert gan.step_history["d_loss"] == gan.step_history["supervised_loss"]
    assert np.isnan(gan.step_history["g_loss"]).all()


def test_the_labelled_subset_takes_as_many_of_each_digit_and_depends_on_the_seed_alone():
    labels = np.repeat(np.arange(10), 30)
    chosen = ss.labelled_subset(labels, 3, seed=4)
    assert np.bincount(labels[chosen]).tolist() == [3] * 10
    assert np.array_equal(chosen, ss.labelled_subset(labels, 3, seed=4))
    assert not np.array_equal(chosen, ss.labelled_subset(labels, 3, seed=5))


@pytest.mark.parametrize("changes, message", [
    (dict(unsupervised_weight=-1.0), "unsupervised_weight"),
    (dict(ema_decay=1.5), "ema_decay"),
])
def test_bad_settings_are_refused(digits, changes, message):
    with pytest.raises(ValueError, match=message):
        _gan(digits, **changes)


def test_networks_of_other_shapes_and_too_many_labels_per_digit_are_refused(digits):
    images, labels = digits
    generator, discriminator = ss.generator(8, (16,)), ss.discriminator((16, 8))
    single = keras.Model(discriminator.input, discriminator.output[0])
    with pytest.raises(ValueError, match=r"\[class_logits, features\]"):
        ss.SemiSupervisedGAN(generator, single, images[:20], labels[:20])
    flat = keras.Model(generator.input, keras.layers.Flatten()(generator.output))
    with pytest.raises(ValueError, match="28x28x1"):
        ss.SemiSupervisedGAN(flat, discriminator, images[:20], labels[:20])
    with pytest.raises(ValueError, match="sequence of hidden-layer sizes"):
        ss.discriminator(100)
    with pytest.raises(ValueError, match="fewer than the 100 asked for"):
        ss.labelled_subset(np.repeat(np.arange(10), 30), 100, seed=0)


def test_labels_that_do_not_fit_the_labelled_images_are_refused(digits):
    images, labels = digits
    generator, discriminator = ss.generator(8, (16,)), ss.discriminator((16, 8))
    for bad in (labels[:5], labels[:20] + 10, labels[:20].astype(float)):
        with pytest.raises(ValueError, match="one integer label from 0 to 9"):
            ss.SemiSupervisedGAN(generator, discriminator, images[:20], bad)
