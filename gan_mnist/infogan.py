"""InfoGAN (Chen et al., 2016, "InfoGAN: Interpretable Representation Learning by Information
Maximizing Generative Adversarial Nets"): a GAN whose generator input holds codes it must keep
readable in its digits.

The generator takes noise ``z`` (62 numbers in [-1, 1]), a categorical code ``c1`` (one of 10,
one-hot) and continuous codes ``c2, c3`` (in [-1, 1]). An auxiliary head ``Q`` on the
discriminator's body reads the codes back from a generated digit; both networks add the
mutual-information term ``losses.info_loss`` (the cross-entropy of ``c1`` and a squared error
of the continuous codes) with weight ``lambda`` to their GAN losses. Nothing tells the code what
to mean, and no label is ever seen: on MNIST the categorical code comes to pick the digit and
the continuous ones its slant and width. The networks follow the paper's MNIST table (its
Table 1 in the appendix): G: FC 1024, FC 7x7x128, two 4x4 transposed convolutions, batch norm
and ReLU; D: two 4x4 convolutions (64, 128), FC 1024, leaky ReLU 0.1, batch norm after the
first layer; Q: FC 128 on D's body, then the codes. ``widths`` scales them down for a laptop.
Two settings of the paper's code (openai/InfoGAN) can be chosen: ``leak`` (the text: 0.1, its
code: 0.01) and ``init_std`` (which the text does not give; its code draws the weights from
N(0, 0.02), truncated for the convolutions, and batch norm's scales from N(1, 0.02); the
default, ``None``, keeps Keras' Glorot-uniform weights and unit scales).

``InfoGAN`` is a ``Trainer`` (the GANs' engine, as ``gan.GAN`` is); ``generate`` draws digits of
chosen codes, ``encode`` reads the codes of any digits through Q, and
``clustering.matching_error`` scores the categorical code as a classifier, as the paper does;
``code_correlations`` measures what each continuous code controls.
"""

import numpy as np

from gan_mnist import engine, losses
from gan_mnist.backend import keras, tf
from gan_mnist.family_base import check_rate
from gan_mnist.images import slant_and_width, to_unit

NOISE_DIM = 62
CATEGORIES = 10
CONTINUOUS = 2
WIDTHS = (64, 128, 1024)  # D's two convolutions and its FC layer; G mirrors them.
LEAK = 0.1
MIN_STATISTICS_BATCH = 32  # The fewest digits whose own statistics ``encode`` normalises by.
SWEEP = np.linspace(-2.0, 2.0, 9)  # The paper's figure sweeps each continuous code over [-2, 2].
PAPER_CODE = dict(leak=0.01, init_std=0.02)  # openai/InfoGAN's slope and initial weights.


def _check_sizes(noise_dim, categories, continuous, widths):
    engine.check_integer("noise_dim", noise_dim, 1)
    engine.check_integer("categories", categories, 2)
    engine.check_integer("continuous", continuous, 1)
    if len(widths) != 3:
        raise ValueError(f"widths must be three sizes (two convolutions and a dense layer, the "
                         f"paper's {WIDTHS}), got {widths!r}.")
    for width in widths:
        engine.check_integer("each width", width, 1)


class _Layers:
    """Keras layers with the chosen initial weights: Keras' defaults for ``init_std=None``,
    otherwise weights from N(0, init_std) (truncated for convolutions, as the paper's code) and
    batch norm's scales from N(1, init_std).
    """

    def __init__(self, init_std):
        # None: Keras' defaults; the paper's code: 0.02.
        self.std = None if init_std is None else check_rate("init_std", init_std, upper=None)

    def _weights(self, layer, truncated=False):
        if self.std is None:
            return {}
        normal = (keras.initializers.TruncatedNormal if truncated
                  else keras.initializers.RandomNormal)
        return {f"{layer}_initializer": normal(0.0, self.std)}

    def dense(self, units, **options):
        return keras.layers.Dense(units, **self._weights("kernel"), **options)

    def conv(self, filters, **options):
        return keras.layers.Conv2D(filters, 4, strides=2, padding="same",
                                   **self._weights("kernel", truncated=True), **options)

    def deconv(self, filters, **options):
        return keras.layers.Conv2DTranspose(filters, 4, strides=2, padding="same",
                                            **self._weights("kernel"), **options)

    def batch_norm(self):
        if self.std is None:
            return keras.layers.BatchNormalization()
        return keras.layers.BatchNormalization(
            gamma_initializer=keras.initializers.RandomNormal(1.0, self.std))


def _check_leak(leak):
    if isinstance(leak, bool) or not isinstance(leak, (int, float)) or not 0 <= leak < 1:
        raise ValueError(f"leak must be a slope from 0 to below 1 (the paper: {LEAK}, its code: "
                         f"{PAPER_CODE['leak']}), got {leak!r}.")
    return float(leak)


def generator(noise_dim=NOISE_DIM, categories=CATEGORIES, continuous=CONTINUOUS, widths=WIDTHS,
              init_std=None):
    """The paper's MNIST generator: noise and codes (concatenated, ``noise_dim + categories +
    continuous`` inputs) to 28x28 digits in [0, 1]. ``init_std``: see the module.
    """
    _check_sizes(noise_dim, categories, continuous, widths)
    layers = _Layers(init_std)
    small, large, dense = widths
    inputs = keras.Input((noise_dim + categories + continuous,), name="noise_and_codes")
    x = inputs
    for units in (dense, 7 * 7 * large):
        x = layers.dense(units, use_bias=False)(x)
        x = keras.layers.ReLU()(layers.batch_norm()(x))
    x = keras.layers.Reshape((7, 7, large))(x)
    x = layers.deconv(small, use_bias=False)(x)
    x = keras.layers.ReLU()(layers.batch_norm()(x))  # 14x14
    images = layers.deconv(1, activation="sigmoid")(x)  # 28x28
    return keras.Model(inputs, images, name="infogan_generator")


def discriminator(categories=CATEGORIES, continuous=CONTINUOUS, widths=WIDTHS, q_units=128,
                  leak=LEAK, init_std=None):
    """The paper's MNIST discriminator and Q head on one body: digits to ``[logit, code_logits,
    continuous_means]``, shapes ``(N, 1)``, ``(N, categories)`` and ``(N, continuous)``.
    ``leak`` is the leaky ReLU's slope; ``init_std``: see the module.
    """
    _check_sizes(1, categories, continuous, widths)
    leak, layers = _check_leak(leak), _Layers(init_std)
    small, large, dense = widths
    image = keras.Input((28, 28, 1), name="image")
    x = layers.conv(small)(image)
    x = keras.layers.LeakyReLU(leak)(x)  # 14x14
    x = layers.conv(large, use_bias=False)(x)
    x = keras.layers.LeakyReLU(leak)(layers.batch_norm()(x))  # 7x7
    x = layers.dense(dense, use_bias=False)(keras.layers.Flatten()(x))
    body = keras.layers.LeakyReLU(leak)(layers.batch_norm()(x))
    logit = layers.dense(1, name="logit")(body)
    q = layers.dense(q_units, use_bias=False)(body)
    q = keras.layers.LeakyReLU(leak)(layers.batch_norm()(q))
    code_logits = layers.dense(categories, name="code_logits")(q)
    continuous_means = layers.dense(continuous, name="continuous_means")(q)
    return keras.Model(image, [logit, code_logits, continuous_means], name="infogan_discriminator")


class InfoGAN(engine.Trainer):
    """A generator of noise and codes and a discriminator with a Q head (see the module).

    ``noise_dim``, ``categories`` and ``continuous`` size the generator's input (the paper:
    62, 10, 2); ``info_weight`` is lambda (the paper: 1). Trained with ``compile`` and ``fit`` on
    images alone: ``fit`` refuses labels. The discriminator's optimiser trains Q with it.
    """

    RECORDS = ("d_loss", "g_loss", "info_loss", "d_real", "d_fake")

    def __init__(self, generator, discriminator, noise_dim=NOISE_DIM, categories=CATEGORIES,
                 continuous=CONTINUOUS, info_weight=1.0, seed=0, name="infogan", **kwargs):
        _check_sizes(noise_dim, categories, continuous, WIDTHS)
        inputs = noise_dim + categories + continuous
        if tuple(generator.input_shape[1:]) != (inputs,):
            raise ValueError(f"The generator must take {inputs} inputs (noise {noise_dim}, "
                             f"codes {categories} + {continuous}), got {generator.input_shape}.")
        shapes = [tuple(shape[1:]) for shape in discriminator.output_shape]
        if shapes != [(1,), (categories,), (continuous,)]:
            raise ValueError(f"The discriminator must return [logit, code_logits, "
                             f"continuous_means] of shapes (1,), ({categories},), "
                             f"({continuous},); got {shapes}.")
        super().__init__((28, 28, 1), (0.0, 1.0), engine.check_integer("seed", seed, 0),
                         name=name, **kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.noise_dim, self.categories, self.continuous = noise_dim, categories, continuous
        self.info_weight = losses.check_weight("info_weight", info_weight, "InfoGAN: 1")
        self.gan_loss = losses.get("non_saturating")
        self.built = True

    def compile(self, d_optimizer, g_optimizer, steps_per_execution=100, jit_compile="auto",
                **kwargs):
        """Set each network's optimiser (the paper: Adam 2e-4 for D and Q, 1e-3 for G, beta_1
        0.5) and the engine's execution (``engine.Trainer.compile``).
        """
        self.set_optimizers(d_optimizer, g_optimizer)
        super().compile(steps_per_execution, jit_compile, (self.generator, self.discriminator),
                        **kwargs)

    def fit(self, x=None, y=None, **kwargs):
        if y is not None:
            raise ValueError("InfoGAN learns without labels: its codes find what to mean on "
                             "their own. Pass the images alone (labels only score it, after).")
        return super().fit(x, **kwargs)

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def inputs(self, noise, categories, continuous):
        """The generator's input: noise, the one-hot categorical code, the continuous codes."""
        one_hot = tf.one_hot(categories, self.categories, dtype=noise.dtype)
        return tf.concat([noise, one_hot, tf.cast(continuous, noise.dtype)], axis=1)

    def fake_batch(self, key, batch_size):
        """Generated digits and their codes (ids, continuous values) drawn from ``key``."""
        keys = tf.unstack(tf.random.experimental.stateless_split(key, 3))

        def uniform(shape, seed):
            return tf.random.stateless_uniform(shape, seed, minval=-1.0, maxval=1.0)

        def category(shape, seed):
            return tf.random.stateless_uniform(shape, seed, 0, self.categories, dtype=tf.int32)

        noise = self.draw(keys[0], [batch_size, self.noise_dim], uniform)
        categories = self.draw(keys[1], [batch_size], category)
        continuous = self.draw(keys[2], [batch_size, self.continuous], uniform)
        images = self.generator(self.inputs(noise, categories, continuous), training=True)
        return images, categories, continuous

    def train_step(self, data):
        # Independent random streams for this step: a real batch, codes and noise for the
        # discriminator's update, and fresh ones for the generator's.
        real_key, fake_key, generator_key = tf.unstack(self.step_keys(3))
        real, _ = self.real_batch(data, real_key)
        batch_size = real.shape[0] or tf.shape(real)[0]

        # 1. The discriminator learns to score real digits high and generated ones low, and its
        # Q head to read back the codes each generated digit was made from.
        fake, categories, continuous = self.fake_batch(fake_key, batch_size)
        with tf.GradientTape() as tape:
            real_logits, _, _ = self.discriminator(real, training=True)
            fake_logits, code_logits, means = self.discriminator(fake, training=True)
            d_loss = self.gan_loss.discriminator_loss(real_logits, fake_logits)
            d_info = losses.info_loss(code_logits, categories, means, continuous,
                                      self.info_weight)
            d_total = d_loss + d_info
        self.update(self.discriminator, self.d_optimizer, tape, d_total)

        # 2. The generator learns to make digits scored as real whose codes Q can read back.
        with tf.GradientTape() as tape:
            fake, categories, continuous = self.fake_batch(generator_key, batch_size)
            fake_logits, code_logits, means = self.discriminator(fake, training=True)
            g_loss = self.gan_loss.generator_loss(fake_logits)
            g_info = losses.info_loss(code_logits, categories, means, continuous,
                                      self.info_weight)
            g_total = g_loss + g_info
        self.update(self.generator, self.g_optimizer, tape, g_total)

        # 3. The step's record: the GAN losses, the information term (the generator's update),
        # and D's mean probabilities for real and generated digits.
        return self.record(
            d_loss=d_loss, g_loss=g_loss, info_loss=g_info,
            d_real=tf.reduce_mean(tf.sigmoid(real_logits)),
            d_fake=tf.reduce_mean(tf.sigmoid(fake_logits)),
        )

    def sample_codes(self, n, seed, categories=None, continuous=None):
        """Noise and codes for ``n`` digits from ``seed``: ``categories`` (one id for all, or
        one per digit) and ``continuous`` (``(n, continuous)`` values, or one row for all) are
        drawn uniformly unless given.
        """
        rng = np.random.default_rng(engine.check_integer("seed", seed, 0))
        noise = rng.uniform(-1.0, 1.0, (n, self.noise_dim)).astype(np.float32)
        drawn_ids = rng.integers(0, self.categories, n)
        drawn_continuous = rng.uniform(-1.0, 1.0, (n, self.continuous))
        ids = drawn_ids if categories is None else np.broadcast_to(categories, (n,))
        if not np.issubdtype(np.asarray(ids).dtype, np.integer) or not (
                (0 <= np.asarray(ids)).all() and (np.asarray(ids) < self.categories).all()):
            raise ValueError(f"categories must be integers from 0 to {self.categories - 1}, "
                             f"one for all digits or one per digit; got {categories!r}.")
        values = drawn_continuous if continuous is None else np.broadcast_to(
            np.asarray(continuous, np.float32), (n, self.continuous))
        return noise, np.asarray(ids, np.int32), np.asarray(values, np.float32)

    def generate(self, n, seed=0, categories=None, continuous=None, batch_size=1000):
        """``n`` digits in [0, 1] of these codes (see ``sample_codes``), a NumPy array."""
        noise, ids, values = self.sample_codes(n, seed, categories, continuous)
        parts = [self.generator(self.inputs(tf.constant(noise[i:i + batch_size]),
                                            tf.constant(ids[i:i + batch_size]),
                                            tf.constant(values[i:i + batch_size])),
                                training=False)
                 for i in range(0, n, batch_size)]
        return keras.ops.convert_to_numpy(tf.concat(parts, axis=0))

    def encode(self, images, batch_statistics=True, batch_size=1000):
        """What Q reads in ``images`` (uint8 digits, or floats in [0, 1]): the categorical code
        (int, ``(N,)``) and the continuous codes' means (``(N, continuous)``).

        With ``batch_statistics`` (the default) batch norm normalises each batch of
        ``batch_size`` digits by its own statistics, as the paper's code always does (and as D
        saw every batch in training); the moving averages are left as they were. Without it,
        Keras' moving averages are used, and those mix real batches with twice as many
        generated ones.
        """
        images = to_unit(images, None if np.asarray(images).dtype == np.uint8 else (0.0, 1.0))
        images = images.reshape(-1, 28, 28, 1)
        # Batches of near-equal sizes, so that no last batch is too small for its statistics.
        batches = np.array_split(images, max(1, -(-len(images) // batch_size)))
        if batch_statistics and min(len(batch) for batch in batches) < MIN_STATISTICS_BATCH:
            raise ValueError(
                f"Batch statistics need batches of at least {MIN_STATISTICS_BATCH} digits; "
                f"{len(images)} digits in batches of up to {batch_size} give one of "
                f"{min(len(batch) for batch in batches)}. Encode more digits at once, or pass "
                "batch_statistics=False (the moving averages)."
            )
        moving = [weight for layer in self.discriminator.layers
                  if isinstance(layer, keras.layers.BatchNormalization)
                  for weight in (layer.moving_mean, layer.moving_variance)]
        kept = [keras.ops.convert_to_numpy(weight) for weight in moving]
        ids, means = [], []
        try:
            for batch in batches:
                _, logits, mean = self.discriminator(batch, training=batch_statistics)
                ids.append(np.argmax(keras.ops.convert_to_numpy(logits), axis=1))
                means.append(keras.ops.convert_to_numpy(mean))
        finally:
            for weight, value in zip(moving, kept):
                weight.assign(value)
        return np.concatenate(ids), np.concatenate(means)


def code_correlations(gan, seed=0, vectors=200, values=SWEEP):
    """What each continuous code controls: ``{"c2": {"slant": r, "width": r}, ...}``, Pearson's
    correlation of the code's value with the slant and with the width of the digits drawn
    (``images.slant_and_width``) as the code sweeps ``values`` (the paper's figure: -2 to 2,
    beyond the [-1, 1] it trained on) with the noise and the other codes fixed: ``vectors``
    noise vectors from ``seed``, the other continuous codes at 0, every category.
    """
    engine.check_integer("vectors", vectors, 2)
    found = {}  # The same seed draws the same noise vectors for every category and value.
    for code in range(gan.continuous):
        swept, slants, widths = [], [], []
        for category in range(gan.categories):
            for value in values:
                continuous = np.zeros((vectors, gan.continuous), np.float32)
                continuous[:, code] = value
                slant, width = slant_and_width(gan.generate(vectors, seed, category, continuous))
                swept.append(np.full(vectors, value))
                slants.append(slant)
                widths.append(width)
        swept = np.concatenate(swept)
        found[f"c{code + 2}"] = dict(
            slant=float(np.corrcoef(swept, np.concatenate(slants))[0, 1]),
            width=float(np.corrcoef(swept, np.concatenate(widths))[0, 1]),
        )
    return found


def build(noise_dim=NOISE_DIM, categories=CATEGORIES, continuous=CONTINUOUS, widths=WIDTHS,
          info_weight=1.0, d_rate=2e-4, g_rate=1e-3, seed=0, steps_per_execution=100, leak=LEAK,
          init_std=None):
    """An untrained, compiled ``InfoGAN`` with the paper's settings (Adam, beta_1 0.5); the
    paper's code's slope and initial weights with ``**PAPER_CODE``. Seed first
    (``gan_mnist.set_seed``) for repeatable weights.
    """
    gan = InfoGAN(generator(noise_dim, categories, continuous, widths, init_std),
                  discriminator(categories, continuous, widths, leak=leak, init_std=init_std),
                  noise_dim, categories, continuous, info_weight, seed)
    gan.compile(keras.optimizers.Adam(d_rate, beta_1=0.5),
                keras.optimizers.Adam(g_rate, beta_1=0.5), steps_per_execution=steps_per_execution)
    return gan
