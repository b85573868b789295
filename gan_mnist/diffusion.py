"""A denoising diffusion model beside the GANs: trained as Ho et al. train theirs, sampled by DDIM.

A digit ``x_0`` in [-1, 1] is buried under Gaussian noise in ``T = 1000`` steps; the noisy digit
at step ``t`` has the closed form ``x_t = sqrt(a_t) x_0 + sqrt(1 - a_t) eps`` with ``a_t``
(alpha-bar) from the cosine schedule of Nichol and Dhariwal (2021). A network sees ``x_t`` and
``t`` and is trained by mean squared error to predict either the noise ``eps`` (Ho et al., 2020,
"Denoising Diffusion Probabilistic Models") or the velocity ``v = sqrt(a_t) eps - sqrt(1 - a_t)
x_0`` (Salimans and Ho, 2022, "Progressive Distillation for Fast Sampling of Diffusion
Models"), each step's loss optionally weighted by min-SNR-gamma (Hang et al., 2023, "Efficient
Diffusion Training via Min-SNR Weighting Strategy"). Digits are drawn by DDIM (Song, Meng and
Ermon, 2021, "Denoising Diffusion Implicit Models"): a deterministic walk from pure noise in
``S`` evenly spaced steps, one network evaluation each.

``denoiser`` builds the network: a small U-Net (Ronneberger et al., 2015) at 28x28, 14x14 and
7x7, plain or with residual blocks (with or without group normalisation, Wu and He, 2018), and
optionally conditioned on cluster ids (``gan_mnist.clustering``: found without labels), whose
embedding is added where the step's is. ``Diffusion`` is a ``Trainer`` (the GANs' engine: the
images in memory, whole executions compiled, counter-based random numbers), so it trains through
the same loop as the GANs, with an optional weight average of the network (with warm-up) that
samples. Training on the clock: ``callbacks.TimeBudget``.
"""

import math

import numpy as np

from gan_mnist.backend import keras, tf
from gan_mnist.engine import check_integer
from gan_mnist.family_base import FamilyModel, check_rate

STEPS = 1000  # T, the number of noising steps.
PREDICTIONS = ("epsilon", "v")


def cosine_schedule(steps=STEPS, offset=0.008):
    """alpha-bar of steps ``t = 1 .. steps`` (at index ``t - 1``), Nichol and Dhariwal's cosine
    schedule ``f(t) / f(0)`` with ``f(t) = cos^2((t / T + s) / (1 + s) * pi / 2)``, each step's
    beta capped at 0.999 as in their paper.
    """
    steps = check_integer("steps", steps, 2)
    f = np.cos((np.arange(steps + 1) / steps + offset) / (1 + offset) * np.pi / 2) ** 2
    betas = np.minimum(1 - f[1:] / f[:-1], 0.999)
    return np.cumprod(1 - betas).astype(np.float32)


@keras.saving.register_keras_serializable(package="gan_mnist")
class StepEmbedding(keras.layers.Layer):
    """The step ``t`` as sines and cosines of ``t`` at geometrically spaced frequencies (the
    Transformer's position encoding, Vaswani et al., 2017, as Ho et al. use it).
    """

    def __init__(self, dim, **kwargs):
        super().__init__(**kwargs)
        self.dim = dim

    def call(self, t):
        half = self.dim // 2
        frequencies = keras.ops.exp(
            -math.log(10_000.0) * keras.ops.arange(half, dtype="float32") / half)
        angles = keras.ops.cast(t, "float32")[:, None] * frequencies[None, :]
        return keras.ops.concatenate([keras.ops.sin(angles), keras.ops.cos(angles)], axis=-1)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim}


def _shift(embedding, channels):
    """The step's (and cluster's) embedding as one shift per channel."""
    return keras.layers.Reshape((1, 1, channels))(keras.layers.Dense(channels)(embedding))


def _block(x, embedding, channels, residual, group_norm):
    """A plain block (convolution, shift, swish) or a residual block of two convolutions."""
    if not residual:
        x = keras.layers.Conv2D(channels, 3, padding="same")(x)
        return keras.layers.Activation("swish")(x + _shift(embedding, channels))
    skip = x if x.shape[-1] == channels else keras.layers.Conv2D(channels, 1)(x)
    for index in range(2):
        if group_norm:
            x = keras.layers.GroupNormalization(min(8, channels))(x)
        x = keras.layers.Activation("swish")(x)
        x = keras.layers.Conv2D(channels, 3, padding="same")(x)
        if index == 0:
            x = x + _shift(embedding, channels)
    return skip + x


def denoiser(widths=(16, 32, 64), embedding_dim=64, residual=False, group_norm=False,
             clusters=None):
    """The U-Net that predicts the noise (or velocity) of a noisy digit at step ``t``.

    ``widths``: channels at 28x28, 14x14 and the 7x7 bottom. ``residual`` uses residual blocks
    of two convolutions (``group_norm``: each normalised first); otherwise each block is one
    convolution. ``clusters=K`` adds a cluster id input (0..K-1) whose embedding joins the
    step's. Inputs ``[noisy, step]`` (or ``[noisy, step, cluster]``); output shaped as ``noisy``.
    """
    if len(widths) != 3 or any(check_integer("width", w, 1) < 1 for w in widths):
        raise ValueError(f"widths must be three channel counts (28x28, 14x14, 7x7), got {widths}.")
    if group_norm and not residual:
        raise ValueError("group_norm normalises inside residual blocks; set residual=True too.")
    noisy = keras.Input((28, 28, 1), name="noisy_digit")
    t = keras.Input((), dtype="int32", name="step")
    inputs = [noisy, t]
    embedding = keras.layers.Dense(embedding_dim, activation="swish")(
        StepEmbedding(embedding_dim)(t))
    if clusters is not None:
        cluster = keras.Input((), dtype="int32", name="cluster")
        inputs.append(cluster)
        embedding = embedding + keras.layers.Embedding(clusters, embedding_dim)(cluster)
    x = keras.layers.Conv2D(widths[0], 3, padding="same")(noisy)
    skips = []
    for channels in widths[:-1]:  # Down: 28x28, then 14x14.
        x = _block(x, embedding, channels, residual, group_norm)
        skips.append(x)
        x = keras.layers.AveragePooling2D(2)(x)
    for _ in range(2):  # The bottom, 7x7: two blocks.
        x = _block(x, embedding, widths[-1], residual, group_norm)
    for channels, skip in zip(widths[-2::-1], skips[::-1]):  # Up: 14x14, then 28x28.
        x = keras.layers.UpSampling2D(2)(x)
        x = _block(keras.layers.Concatenate()([x, skip]), embedding, channels, residual,
                   group_norm)
    if group_norm:
        x = keras.layers.GroupNormalization(min(8, widths[0]))(x)
    output = keras.layers.Conv2D(1, 3, padding="same", name="prediction")(x)
    return keras.Model(inputs, output, name="denoiser")


def loss_weights(alpha_bar, prediction, min_snr=None):
    """Each noisy digit's loss weight: 1, or with ``min_snr`` (gamma) Hang et al.'s
    ``min(SNR, gamma) / SNR`` for epsilon prediction and ``min(SNR, gamma) / (SNR + 1)`` for v,
    where ``SNR = a / (1 - a)``: the weight of ``||x_0 - x_0_hat||^2`` capped at gamma, written
    for the target the network predicts.
    """
    alpha_bar = tf.convert_to_tensor(alpha_bar, tf.float32)
    if min_snr is None:
        return tf.ones_like(alpha_bar)
    snr = alpha_bar / (1.0 - alpha_bar)
    return tf.minimum(snr, min_snr) / (snr if prediction == "epsilon" else snr + 1.0)


class Diffusion(FamilyModel):
    """A denoising diffusion model on the GANs' engine (see the module).

    ``network`` is a ``denoiser``; ``prediction`` is what it predicts (``"epsilon"`` or
    ``"v"``); ``min_snr`` (gamma, e.g. 5) weights each step's loss by ``min(SNR, gamma) / SNR``
    for epsilon (``/ (SNR + 1)`` for v); ``ema_decay`` keeps a weight average of the network,
    with warm-up ``min(decay, (1 + s) / (10 + s))`` at step ``s``, which then draws.
    ``clustering`` (a ``clustering.Clustering``) conditions on clusters of the training images.
    """

    RECORDS = ("loss",)

    def __init__(self, network, prediction="epsilon", min_snr=None, ema_decay=None,
                 clustering=None, seed=0, schedule_offset=0.008, **kwargs):
        if prediction not in PREDICTIONS:
            raise ValueError(f"prediction must be one of {PREDICTIONS}, got {prediction!r}.")
        if min_snr is not None:
            check_rate("min_snr", min_snr, upper=None)
        super().__init__(network, [network], (-1.0, 1.0), ema_decay=ema_decay,
                         clustering=clustering, seed=seed, **kwargs)
        self.network = network
        self.prediction, self.min_snr = prediction, min_snr
        self.alpha_bars = tf.constant(cosine_schedule(offset=schedule_offset))

    def _predict(self, network, noisy, t, clusters, training):
        inputs = [noisy, t] if clusters is None else [noisy, t, clusters]
        return network(inputs, training=training)

    def train_step(self, data):
        # Independent random streams for this step: the batch, the noise steps and the noise.
        batch_key, step_key, noise_key = tf.unstack(self.step_keys(3))
        # 1. A batch of digits (and their cluster ids), each buried at a random step t + 1.
        clean, clusters = self.real_batch(data, batch_key)
        clean = tf.cast(clean, tf.float32)  # The noise arithmetic in float32 under any policy.
        count = clean.shape[0] or tf.shape(clean)[0]
        t = self.draw(step_key, [count], lambda shape, seed: tf.random.stateless_uniform(
            shape, seed, 0, STEPS, dtype=tf.int32))
        epsilon = self.draw(noise_key, [count, 28, 28, 1], tf.random.stateless_normal)
        alpha_bar = tf.reshape(tf.gather(self.alpha_bars, t), (-1, 1, 1, 1))
        noisy = tf.sqrt(alpha_bar) * clean + tf.sqrt(1.0 - alpha_bar) * epsilon
        # 2. The target: the noise, or the velocity sqrt(a) eps - sqrt(1 - a) x_0.
        if self.prediction == "epsilon":
            target = epsilon
        else:
            target = tf.sqrt(alpha_bar) * epsilon - tf.sqrt(1.0 - alpha_bar) * clean
        # 3. Each digit's weight: 1, or min-SNR-gamma.
        weights = loss_weights(tf.reshape(alpha_bar, [-1]), self.prediction, self.min_snr)
        # 4. The network learns the target by mean squared error.
        with tf.GradientTape() as tape:
            predicted = tf.cast(self._predict(self.network, noisy, t, clusters, training=True),
                                tf.float32)
            errors = tf.reduce_mean(tf.square(predicted - target), axis=[1, 2, 3])
            loss = tf.reduce_mean(weights * errors)
        self.update(self.network, self.network_optimizer, tape, loss)
        # 5. The weight average follows the network, with a warm-up early on.
        self.update_average()
        return self.record(loss=loss)

    @tf.function(reduce_retracing=True)
    def _ddim_step(self, x, t, earlier, clusters, raw):
        # One DDIM step from index t to the earlier index (-1: the clean digit itself).
        alpha_bar = self.alpha_bars[t]
        alpha_bar_earlier = tf.where(earlier >= 0, self.alpha_bars[tf.maximum(earlier, 0)], 1.0)
        steps = tf.fill(tf.shape(x)[:1], t)
        network = self.network if raw else self.sampler
        predicted = tf.cast(self._predict(network, x, steps, clusters, training=False),
                            tf.float32)
        if self.prediction == "epsilon":
            clean = (x - tf.sqrt(1.0 - alpha_bar) * predicted) / tf.sqrt(alpha_bar)
        else:
            clean = tf.sqrt(alpha_bar) * x - tf.sqrt(1.0 - alpha_bar) * predicted
        # The clean digit's estimate clipped to [-1, 1], the noise recomputed from it.
        clean = tf.clip_by_value(clean, -1.0, 1.0)
        epsilon = (x - tf.sqrt(alpha_bar) * clean) / tf.sqrt(1.0 - alpha_bar)
        return tf.sqrt(alpha_bar_earlier) * clean + tf.sqrt(1.0 - alpha_bar_earlier) * epsilon

    def generate(self, n, seed=0, steps=25, clusters=None, raw=False, batch_size=1000):
        """``n`` digits in [-1, 1] by DDIM in ``steps`` network evaluations each.

        A cluster-conditioned model draws each digit's cluster by the clusters' shares (seeded
        by ``seed``), or takes ``clusters`` (``n`` ids). The weight average draws, when there is
        one, unless ``raw``. The same seed gives the same digits.
        """
        n = check_integer("n", n, 1)
        steps = check_integer("steps", steps, 1)
        if steps > STEPS:
            raise ValueError(f"steps must be at most {STEPS} (the noising steps), got {steps}.")
        rng = np.random.default_rng(seed)
        noise = rng.standard_normal((n, 28, 28, 1)).astype(np.float32)
        ids = self.cluster_ids(n, rng, clusters)
        indices = np.linspace(STEPS - 1, 0, steps).round().astype(np.int32)
        earlier = np.append(indices[1:], -1).astype(np.int32)
        digits = []
        for start in range(0, n, batch_size):
            x = tf.constant(noise[start:start + batch_size])
            chosen = None if ids is None else tf.constant(ids[start:start + batch_size])
            for t, s in zip(indices, earlier):
                x = self._ddim_step(x, tf.constant(t), tf.constant(s), chosen, bool(raw))
            digits.append(x.numpy())
        return np.concatenate(digits)
