"""Tests of gan_mnist.losses against NumPy references written from the formulas."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_mnist import losses
from gan_mnist.seeding import set_seed

# Moderate logits, where the textbook formulas with sigmoid and log are accurate in float64.
REAL_LOGITS = np.array([[2.0], [-0.5], [0.3], [4.0], [-3.0], [1.2]])
FAKE_LOGITS = np.array([[-1.0], [0.7], [-2.5], [0.0], [3.5], [-0.2]])
EXTREME_LOGITS = np.array([[-1e4], [-1000.0], [-100.0], [0.0], [100.0], [1000.0], [1e4]])


def sigmoid(logits):
    return 1.0 / (1.0 + np.exp(-logits))


def reference(name, real, fake, label_smoothing=0.0):
    """(L_D, L_G) from the formulas of the issue, with D = sigmoid(l), in float64 NumPy."""
    d_real, d_fake = sigmoid(real), sigmoid(fake)
    target = 1.0 - label_smoothing
    cross_entropy_d = -np.mean(target * np.log(d_real) + (1 - target) * np.log(1 - d_real))
    cross_entropy_d -= np.mean(np.log(1 - d_fake))
    if name == "minimax":
        return cross_entropy_d, np.mean(np.log(1 - d_fake))
    if name == "non_saturating":
        return cross_entropy_d, -np.mean(np.log(d_fake))
    if name == "least_squares":
        return (
            0.5 * np.mean((real - 1) ** 2) + 0.5 * np.mean(fake**2),
            0.5 * np.mean((fake - 1) ** 2),
        )
    if name == "wasserstein":
        return np.mean(fake) - np.mean(real), -np.mean(fake)
    if name == "hinge":
        return (
            np.mean(np.maximum(0, 1 - real)) + np.mean(np.maximum(0, 1 + fake)),
            -np.mean(fake),
        )
    raise AssertionError(name)


CASES = [(name, {}) for name in losses.NAMES] + [
    ("minimax", {"label_smoothing": 0.1}),
    ("non_saturating", {"label_smoothing": 0.1}),
    ("non_saturating", {"label_smoothing": 0.3}),
]


@pytest.mark.parametrize("name, options", CASES)
def test_losses_match_numpy_reference(name, options):
    loss = losses.get(name, **options)
    expected_d, expected_g = reference(name, REAL_LOGITS, FAKE_LOGITS, **options)
    d_loss = loss.discriminator_loss(REAL_LOGITS.astype("float32"), FAKE_LOGITS.astype("float32"))
    g_loss = loss.generator_loss(FAKE_LOGITS.astype("float32"))
    assert d_loss.shape == () and g_loss.shape == ()
    assert d_loss.dtype == tf.float32
    np.testing.assert_allclose(d_loss.numpy(), expected_d, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g_loss.numpy(), expected_g, rtol=1e-5, atol=1e-6)


def test_label_smoothing_is_one_sided():
    plain = losses.get("non_saturating")
    smoothed = losses.get("non_saturating", label_smoothing=0.1)
    # Fake targets and the generator loss do not change.
    zeros = np.zeros((3, 1), "float32")
    assert smoothed.generator_loss(FAKE_LOGITS) == plain.generator_loss(FAKE_LOGITS)
    # With real logits at 0, only the fake half (softplus(l_f)) tells the two apart ...
    assert np.isclose(
        smoothed.discriminator_loss(zeros, FAKE_LOGITS),
        plain.discriminator_loss(zeros, FAKE_LOGITS),
    )
    # ... and a discriminator that is certain of real images pays for it when smoothing.
    certain = np.full((3, 1), 10.0, "float32")
    gap = smoothed.discriminator_loss(certain, zeros) - plain.discriminator_loss(certain, zeros)
    assert gap > 0.5


@pytest.mark.parametrize("name, options", CASES)
def test_losses_and_gradients_are_finite_at_extreme_logits(name, options):
    loss = losses.get(name, **options)
    logits = tf.constant(EXTREME_LOGITS, tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(logits)
        d_loss = loss.discriminator_loss(logits, logits[::-1])
        g_loss = loss.generator_loss(logits)
    for value in (d_loss, g_loss, tape.gradient(d_loss, logits), tape.gradient(g_loss, logits)):
        assert np.all(np.isfinite(value.numpy()))


@pytest.mark.parametrize("name", ["minimax", "non_saturating"])
def test_logistic_losses_have_exact_values_at_extreme_logits(name):
    loss = losses.get(name)
    confident = loss.discriminator_loss([[100.0]], [[-100.0]])
    wrong = loss.discriminator_loss([[-100.0]], [[100.0]])
    # -log sigmoid(100) is about 4e-44; -log sigmoid(-100) is about 100.
    np.testing.assert_allclose(confident.numpy(), 0.0, atol=1e-6)
    np.testing.assert_allclose(wrong.numpy(), 200.0, rtol=1e-6)
    # Minimax: log(1 - sigmoid(l)) is about 0 at l = -100 and -100 at l = 100.
    # Non-saturating: -log sigmoid(l) is about 100 at l = -100 and 0 at l = 100.
    expected = {"minimax": (0.0, -100.0), "non_saturating": (100.0, 0.0)}[name]
    actual = [loss.generator_loss([[logit]]).numpy() for logit in (-100.0, 100.0)]
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-6)


def per_sample_generator_gradient(name, fake_logits):
    """d L_G / d l_i times the batch size: each sample's own gradient under the mean."""
    logits = tf.constant(fake_logits, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(logits)
        loss = losses.get(name).generator_loss(logits)
    return tape.gradient(loss, logits).numpy() * logits.shape[0]


def test_minimax_generator_saturates_where_non_saturating_does_not():
    # Early in training the discriminator rejects fakes with confidence: logits around -10.
    fake_logits = np.array([[-10.0], [-9.5], [-10.5], [-11.0]])
    minimax = per_sample_generator_gradient("minimax", fake_logits)
    non_saturating = per_sample_generator_gradient("non_saturating", fake_logits)
    assert np.all(np.abs(minimax) < 1e-3)
    np.testing.assert_allclose(non_saturating, -1.0, atol=1e-3)
    # Independent references: d/dl log(1 - sigmoid(l)) = -sigmoid(l) and
    # d/dl -log sigmoid(l) = -sigmoid(-l).
    np.testing.assert_allclose(minimax, -sigmoid(fake_logits), rtol=1e-4)
    np.testing.assert_allclose(non_saturating, -sigmoid(-fake_logits), rtol=1e-5)


def test_losses_give_the_same_values_inside_tf_function():
    for name in losses.NAMES:
        loss = losses.get(name)
        compiled = tf.function(lambda real, fake, loss=loss: loss.discriminator_loss(real, fake))
        real = tf.constant(REAL_LOGITS, tf.float32)
        fake = tf.constant(FAKE_LOGITS, tf.float32)
        np.testing.assert_allclose(
            compiled(real, fake).numpy(), loss.discriminator_loss(real, fake).numpy(), rtol=1e-6
        )


def test_get_names_options_and_passthrough():
    assert losses.NAMES == ("minimax", "non_saturating", "least_squares", "wasserstein", "hinge")
    for name in losses.NAMES:
        loss = losses.get(name)
        assert loss.name == name
        assert losses.get(loss) is loss
        # A zero label smoothing is accepted by every loss, so one call fits all settings.
        assert losses.get(name, label_smoothing=0.0).label_smoothing == 0.0
    assert losses.get("minimax", label_smoothing=0.1).label_smoothing == pytest.approx(0.1)


@pytest.mark.parametrize(
    "arguments, options, message",
    [
        (("wgan",), {}, "Valid names: minimax, non_saturating"),
        ((None,), {}, "Valid names"),
        (("hinge",), {"label_smoothing": 0.1}, "does not support label_smoothing"),
        (("least_squares",), {"label_smoothing": 0.1}, "does not support label_smoothing"),
        (("wasserstein",), {"label_smoothing": 0.2}, "does not support label_smoothing"),
        (("minimax",), {"label_smoothing": 1.0}, r"\[0, 1\)"),
        (("minimax",), {"label_smoothing": -0.1}, r"\[0, 1\)"),
        (("non_saturating",), {"label_smoothing": "0.1"}, "must be a number"),
        (("non_saturating",), {"smoothing": 0.1}, "Valid options: label_smoothing"),
    ],
)
def test_get_rejects_bad_arguments(arguments, options, message):
    with pytest.raises(ValueError, match=message):
        losses.get(*arguments, **options)


def test_get_rejects_options_for_a_loss_object():
    with pytest.raises(ValueError, match="existing loss object"):
        losses.get(losses.get("hinge"), label_smoothing=0.1)


def linear_discriminator(weight_norm, bias=0.5):
    """A linear critic on 28x28x1 images whose weight vector has the given L2 norm."""
    model = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(1)]
    )
    direction = np.random.default_rng(0).normal(size=(784, 1))
    kernel = weight_norm * direction / np.linalg.norm(direction)
    model.layers[-1].set_weights([kernel.astype("float32"), np.array([bias], "float32")])
    return model


def image_batch(seed, size=8):
    return tf.constant(np.random.default_rng(seed).normal(size=(size, 28, 28, 1)), tf.float32)


def test_gradient_penalty_is_zero_for_a_unit_norm_linear_critic():
    penalty = losses.gradient_penalty(linear_discriminator(1.0), image_batch(1), image_batch(2))
    np.testing.assert_allclose(penalty.numpy(), 0.0, atol=1e-6)


def test_gradient_penalty_of_a_linear_critic_is_weight_times_norm_gap_squared():
    # The input gradient of a linear map is its weight vector, whatever the interpolation.
    critic = linear_discriminator(3.0)
    penalty = losses.gradient_penalty(critic, image_batch(1), image_batch(2), weight=2.5)
    np.testing.assert_allclose(penalty.numpy(), 2.5 * (3.0 - 1.0) ** 2, rtol=1e-5)


def quadratic_critic(images, training=False):
    """D(x) = ||x||^2 / 2, whose input gradient is x itself."""
    return 0.5 * tf.reduce_sum(tf.square(images), axis=[1, 2, 3])[:, None]


def test_gradient_penalty_uses_per_sample_gradient_norms():
    # With real == fake the interpolate is the image itself, so the norms are known exactly.
    norms = np.array([0.0, 0.5, 1.0, 2.0, 4.0])
    images = np.zeros((5, 28, 28, 1), "float32")
    images[:, 3, 4, 0] = norms
    penalty = losses.gradient_penalty(quadratic_critic, images, images, weight=10.0)
    np.testing.assert_allclose(penalty.numpy(), 10.0 * np.mean((norms - 1.0) ** 2), rtol=1e-5)


def test_gradient_penalty_draws_one_uniform_epsilon_per_sample():
    # Every real image has norm 2 spread over all pixels and fake is 0: the gradient norm is
    # 2 * eps, so the mean of (2 eps - 1)^2 over eps ~ U[0, 1] is 1/3 (standard error 0.005
    # with 4096 samples). One eps per pixel would give about 0.02 instead, and one eps for the
    # whole batch a random value.
    set_seed(3)
    size = 4096
    real = np.full((size, 28, 28, 1), 2.0 / 28.0, "float32")
    penalty = losses.gradient_penalty(quadratic_critic, real, np.zeros_like(real), weight=1.0)
    np.testing.assert_allclose(penalty.numpy(), 1.0 / 3.0, atol=0.03)


def test_gradient_penalty_is_repeatable_under_set_seed():
    critic = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(4, "tanh"),
         keras.layers.Dense(1)]
    )
    values = []
    for _ in range(2):
        set_seed(11)
        values.append(losses.gradient_penalty(critic, image_batch(1), image_batch(2)).numpy())
    assert values[0] == values[1]


def test_gradient_penalty_has_finite_gradients_when_the_input_gradient_is_zero():
    critic = linear_discriminator(0.0)
    with tf.GradientTape() as tape:
        penalty = losses.gradient_penalty(critic, image_batch(1), image_batch(2))
    # The bias does not move the input gradient, so only the kernel gets a gradient.
    kernel_gradient = tape.gradient(penalty, critic.layers[-1].kernel)
    np.testing.assert_allclose(penalty.numpy(), 10.0, rtol=1e-5)
    assert np.all(np.isfinite(kernel_gradient.numpy()))


def test_gradient_penalty_trains_the_critic_inside_tf_function():
    critic = linear_discriminator(3.0)

    @tf.function
    def penalty_and_gradients(real, fake):
        with tf.GradientTape() as tape:
            penalty = losses.gradient_penalty(critic, real, fake)
        return penalty, tape.gradient(penalty, critic.trainable_variables[0])

    penalty, kernel_gradient = penalty_and_gradients(image_batch(1), image_batch(2))
    # d/dw 10 (||w|| - 1)^2 = 20 (||w|| - 1) w / ||w||: it points along w, with norm 40.
    np.testing.assert_allclose(penalty.numpy(), 40.0, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(kernel_gradient.numpy()), 40.0, rtol=1e-4)


@pytest.mark.parametrize(
    "weight, real_shape, fake_shape, message",
    [
        (-1.0, (2, 28, 28, 1), (2, 28, 28, 1), "non-negative"),
        ("10", (2, 28, 28, 1), (2, 28, 28, 1), "non-negative"),
        (10.0, (2, 28, 28, 1), (3, 28, 28, 1), "same shape"),
        (10.0, (2, 28, 28, 1), (2, 784), "same shape"),
    ],
)
def test_gradient_penalty_rejects_bad_arguments(weight, real_shape, fake_shape, message):
    with pytest.raises(ValueError, match=message):
        losses.gradient_penalty(
            quadratic_critic, np.zeros(real_shape, "float32"), np.zeros(fake_shape, "float32"),
            weight=weight,
        )


def test_gradient_penalty_uses_given_interpolation_weights():
    # A critic D(x) = sum(x^2) has input gradient 2x; with epsilon given, x_hat is known exactly.
    def critic(images, training=False):
        return tf.reduce_sum(tf.square(images), axis=[1, 2, 3])[:, None]

    real = tf.ones((2, 28, 28, 1))
    fake = tf.zeros((2, 28, 28, 1))
    epsilon = tf.constant([0.25, 0.5])
    norms = 2.0 * epsilon.numpy() * 28.0  # ||2 * eps * ones(784)|| = 2 * eps * 28.
    expected = 10.0 * np.mean((norms - 1.0) ** 2)
    penalty = losses.gradient_penalty(critic, real, fake, weight=10.0, epsilon=epsilon)
    np.testing.assert_allclose(float(penalty), expected, rtol=1e-5)


def mode_seeking_reference(images, noise, weight, epsilon=1e-5):
    """MSGAN's term as its paper's code computes it, for the two halves of a batch."""
    half = len(images) // 2
    image_distance = np.mean(np.abs(images[:half] - images[half:2 * half]))
    noise_distance = np.mean(np.abs(noise[:half] - noise[half:2 * half]))
    return weight / (image_distance / noise_distance + epsilon)


@pytest.mark.parametrize("size", [8, 9])
def test_mode_seeking_matches_numpy_reference(size):
    generator = np.random.default_rng(size)
    images = generator.uniform(-1, 1, (size, 28, 28, 1)).astype(np.float32)
    noise = generator.normal(size=(size, 16)).astype(np.float32)
    term = losses.mode_seeking(images, noise, weight=2.0)
    np.testing.assert_allclose(term.numpy(), mode_seeking_reference(images, noise, 2.0),
                               rtol=1e-5)


def test_mode_seeking_punishes_two_noises_that_give_one_image():
    generator = np.random.default_rng(0)
    noise = generator.normal(size=(8, 16)).astype(np.float32)
    varied = generator.uniform(-1, 1, (8, 28, 28, 1)).astype(np.float32)
    collapsed = np.concatenate([varied[:4], varied[:4]])  # Each pair: one image twice.
    assert losses.mode_seeking(collapsed, noise).numpy() == pytest.approx(1e5)
    assert losses.mode_seeking(varied, noise).numpy() < 3.0
    # Its gradient pushes the two images of a pair apart.
    images = tf.Variable(varied)
    with tf.GradientTape() as tape:
        term = losses.mode_seeking(images, noise)
    step = -tape.gradient(term, images).numpy()
    assert np.all(np.sign(step[:4]) == np.sign(varied[:4] - varied[4:]))


@pytest.mark.parametrize("weight", [-1.0, True, "1"])
def test_mode_seeking_rejects_bad_weights(weight):
    with pytest.raises(ValueError, match="weight must be a non-negative number"):
        losses.mode_seeking(np.zeros((4, 2)), np.ones((4, 2)), weight)
