"""The other families (``gan_mnist.diffusion``, ``gan_mnist.vae``, ``gan_mnist.families``) and
the clock they train on, checked against the formulas they implement.
"""

import math

import numpy as np
import pytest

import gan_mnist
from gan_mnist import clustering, diffusion, families, vae
from gan_mnist.backend import keras, tf
from gan_mnist.callbacks import TimeBudget


@pytest.fixture(scope="module")
def digits():
    images, _ = gan_mnist.load_mnist("test")
    return images[:512]


def _trained(family, digits, steps=6, seed=0, **changes):
    gan_mnist.set_seed(seed)
    found = None
    if changes.get("clusters"):
        found = clustering.cluster_images(digits, changes["clusters"], seed=0)
    model = families.build(families.settings(family, steps_per_execution=3, seed=seed,
                                             **changes), clustering=found)
    model.fit(digits, epochs=1, steps_per_epoch=steps, verbose=0)
    return model


# ---------------------------------------------------------------------------------------------
# The formulas.

def test_the_cosine_schedule_follows_nichol_and_dhariwal():
    alpha_bars = diffusion.cosine_schedule(1000)
    f = lambda t: math.cos((t / 1000 + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
    for t in (1, 10, 500, 900):  # Below the 0.999 cap on beta, alpha-bar is f(t) / f(0).
        assert alpha_bars[t - 1] == pytest.approx(f(t) / f(0), rel=1e-4)
    assert np.all(np.diff(alpha_bars) < 0) and 0 < alpha_bars[-1] < 1e-4
    betas = 1 - alpha_bars[1:] / alpha_bars[:-1]
    assert betas.max() <= 0.999 + 1e-6


def test_min_snr_weights_cap_the_clean_digit_loss_at_gamma():
    alpha_bar = np.array([0.999, 0.9, 0.5, 0.1, 0.001], np.float32)
    snr = alpha_bar / (1 - alpha_bar)
    epsilon = diffusion.loss_weights(alpha_bar, "epsilon", 5.0).numpy()
    velocity = diffusion.loss_weights(alpha_bar, "v", 5.0).numpy()
    np.testing.assert_allclose(epsilon, np.minimum(snr, 5) / snr, rtol=1e-5)
    np.testing.assert_allclose(velocity, np.minimum(snr, 5) / (snr + 1), rtol=1e-5)
    # Weighted, each loss is min(SNR, 5) times the clean digit's squared error.
    np.testing.assert_allclose(epsilon * snr, np.minimum(snr, 5), rtol=1e-4)
    np.testing.assert_allclose(velocity * (snr + 1), np.minimum(snr, 5), rtol=1e-4)
    np.testing.assert_array_equal(diffusion.loss_weights(alpha_bar, "v").numpy(), 1.0)


def test_the_vae_terms_match_their_formulas():
    rng = np.random.default_rng(0)
    mean = rng.normal(size=(4, 3)).astype(np.float32)
    log_variance = rng.normal(size=(4, 3)).astype(np.float32)
    # KL between diagonal Gaussians, by the general formula with sigma_2 = 1, mu_2 = 0.
    variance = np.exp(log_variance)
    expected = np.sum(0.5 * (variance + mean**2) - 0.5 - 0.5 * log_variance, axis=1)
    np.testing.assert_allclose(vae.gaussian_kl(mean, log_variance).numpy(), expected, rtol=1e-5)
    images = rng.uniform(size=(2, 28, 28, 1)).astype(np.float32)
    logits = rng.normal(size=(2, 28, 28, 1)).astype(np.float32)
    p = 1 / (1 + np.exp(-logits))
    nll = -np.sum(images * np.log(p) + (1 - images) * np.log(1 - p), axis=(1, 2, 3))
    np.testing.assert_allclose(vae.bernoulli_nll(images, logits).numpy(), nll, rtol=1e-4)


@pytest.mark.parametrize("prediction", diffusion.PREDICTIONS)
def test_ddim_with_a_perfect_network_returns_the_one_training_digit(prediction, digits):
    # For data that is one digit, the ideal network knows x_0: its prediction is exact, and
    # DDIM must land on that digit from any noise, in any number of steps.
    target = digits[0].astype(np.float32)[None, :, :, None] / 127.5 - 1.0
    alpha_bars = diffusion.cosine_schedule()

    class Ideal(keras.Model):
        def call(self, inputs, training=False):
            x, step = inputs
            a = tf.reshape(tf.gather(alpha_bars, step), (-1, 1, 1, 1))
            epsilon = (x - tf.sqrt(a) * target) / tf.sqrt(1 - a)
            if prediction == "epsilon":
                return epsilon
            return tf.sqrt(a) * epsilon - tf.sqrt(1 - a) * target

    network = Ideal()
    model = diffusion.Diffusion(network, prediction=prediction)
    for steps in (1, 5, 25):
        drawn = model.generate(3, seed=1, steps=steps)
        # Float32 rounding, divided by sqrt(alpha-bar) = 0.007 at t = 1000, leaves ~1e-3.
        np.testing.assert_allclose(drawn, np.repeat(target, 3, axis=0), atol=5e-3)


# ---------------------------------------------------------------------------------------------
# Training and drawing.

@pytest.mark.parametrize("family,changes", [
    ("diffusion", {}), ("diffusion", dict(prediction="v", min_snr=5.0, residual=True)),
    ("vae", {}),
])
def test_a_seed_gives_the_same_losses_and_digits(family, changes, digits):
    first = _trained(family, digits, **changes)
    second = _trained(family, digits, **changes)
    # Two diffusion models of one seed trained in one process under op determinism have, in
    # some runs, differed by about 1e-7 in one step's loss and 1e-8 in their weights (measured;
    # the cause is not found, and small networks of the same layers are bit-exact): the losses
    # are compared to 1e-6, the digits to 1e-5.
    assert first.step_history["step"] == second.step_history["step"] == list(range(1, 7))
    for name in first.RECORDS:
        np.testing.assert_allclose(first.step_history[name], second.step_history[name],
                                   rtol=1e-6)
    assert all(np.isfinite(first.step_history["loss"]))
    drawn = first.generate(4, seed=2)
    low, high = first.value_range
    assert drawn.shape == (4, 28, 28, 1) and drawn.min() >= low and drawn.max() <= high
    np.testing.assert_array_equal(drawn, first.generate(4, seed=2))
    np.testing.assert_allclose(drawn, second.generate(4, seed=2), atol=1e-5)
    assert np.abs(drawn - first.generate(4, seed=3)).max() > 1e-3
    # The raw network and its weight average are different networks after training.
    assert not np.array_equal(drawn, first.generate(4, seed=2, raw=True))


def test_training_lowers_the_diffusion_loss(digits):
    model = _trained("diffusion", digits, steps=60, learning_rate=2e-3)
    losses = model.step_history["loss"]
    assert np.mean(losses[-15:]) < 0.7 * np.mean(losses[:5])


@pytest.mark.parametrize("family", families.FAMILIES)
def test_cluster_conditioned_models_draw_by_clusters_and_refuse_labels(family, digits):
    model = _trained(family, digits, clusters=4)
    assert model.conditioned and len(model.cluster_frequencies) == 4
    drawn = model.generate(5, seed=0, clusters=[0, 1, 2, 3, 3])
    assert drawn.shape == (5, 28, 28, 1)
    # Clusters change the digit drawn from the same noise.
    assert not np.array_equal(model.generate(2, seed=0, clusters=[0, 0]),
                              model.generate(2, seed=0, clusters=[1, 1]))
    with pytest.raises(ValueError, match="learns without labels"):
        model.fit(digits, np.zeros(len(digits), np.int32), steps_per_epoch=1)
    with pytest.raises(ValueError, match="integer ids from 0 to 3"):
        model.generate(2, clusters=[0, 4])
    ids = model.cluster_ids(20_000, np.random.default_rng(0))
    np.testing.assert_allclose(np.bincount(ids, minlength=4) / 20_000,
                               model.cluster_frequencies, atol=0.02)


def test_unconditioned_models_refuse_labels_and_clusters(digits):
    model = _trained("vae", digits, steps=1)
    with pytest.raises(ValueError, match="learns without labels"):
        model.fit(digits, np.zeros(len(digits), np.int32), steps_per_epoch=1)
    with pytest.raises(ValueError, match="not cluster-conditioned"):
        model.generate(2, clusters=[0, 1])


def test_bad_settings_are_clear_errors(digits):
    with pytest.raises(ValueError, match="Unknown family"):
        families.settings("flow")
    with pytest.raises(ValueError, match="Unknown diffusion settings"):
        families.settings("diffusion", latent_dim=3)
    with pytest.raises(ValueError, match="needs a clustering"):
        families.build(families.settings("vae", clusters=5))
    with pytest.raises(ValueError, match="prediction must be"):
        families.build(families.settings("diffusion", prediction="x0"))
    with pytest.raises(ValueError, match="residual=True"):
        diffusion.denoiser(group_norm=True)
    with pytest.raises(ValueError, match="ema_decay"):
        families.build(families.settings("vae", ema_decay=1.5))
    with pytest.raises(ValueError, match="decay_steps"):
        families.learning_rate(1e-3, warmup=100, decay_steps=50)
    model = families.build(families.settings("diffusion"))
    with pytest.raises(ValueError, match="at most 1000"):
        model.generate(1, steps=1001)


def test_the_learning_rate_warms_up_then_decays_to_zero():
    schedule = families.learning_rate(1e-3, warmup=10, decay_steps=110)
    rates = [float(schedule(step)) for step in (0, 5, 10, 60, 110)]
    assert rates[0] == 0 and rates[1] == pytest.approx(5e-4) and rates[2] == pytest.approx(1e-3)
    assert rates[3] == pytest.approx(5e-4, rel=1e-3) and rates[4] == pytest.approx(0, abs=1e-9)
    assert families.learning_rate(1e-3) == 1e-3


# ---------------------------------------------------------------------------------------------
# The clock.

def test_the_clock_counts_exactly_the_steps_trained(digits):
    gan_mnist.set_seed(0)
    model = families.build(families.settings("vae", steps_per_execution=4))
    clock = TimeBudget(10_000)
    model.fit(digits, epochs=3, steps_per_epoch=7, callbacks=[clock], verbose=0)
    assert clock.steps == 21 == int(model.step_counter.numpy())
    assert not clock.exhausted and [steps for _, steps in clock.marks][-1] == 21


def test_the_clock_reports_its_pace_and_its_slowest_call():
    clock = TimeBudget(40)
    clock.marks = [(5.0, 20), (9.0, 60), (19.0, 160), (21.0, 170), (33.0, 290), (41.0, 370)]
    # Quarters of 10 s: calls ending by 10 s, 20 s, 30 s and after.
    assert clock.pace() == pytest.approx([60 / 9, 100 / 10, 10 / 2, 200 / 20])
    assert clock.longest_call() == (12.0, 120)
    clock.marks = [(12.0, 20), (14.0, 40)]
    assert math.isnan(clock.pace()[0]) and clock.pace()[1] == pytest.approx(40 / 14)
    assert clock.longest_call() == (2.0, 20) and clock.longest_call(skip_first=False) == (12.0, 20)
