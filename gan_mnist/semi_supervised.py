"""The discriminator as a classifier: a semi-supervised GAN (Salimans et al., 2016, "Improved
Techniques for Training GANs", section 5).

The discriminator is a classifier of ``K + 1`` classes, the ten digits and "generated", on one
network with ``K`` outputs: the generated class's logit is fixed at 0, so with ``Z(x) = sum_k
exp(l_k(x))`` the probability that ``x`` is real is ``D(x) = Z(x) / (Z(x) + 1)``, whose logit
is ``log Z(x)``, the log-sum-exp of the class logits (``real_fake_logit``). It learns from three
batches each step:

- the few labelled digits: the cross-entropy of their labels (``supervised_loss``);
- unlabelled real digits and generated ones: the GAN loss ``-E log D(x) - E log(1 - D(G(z)))``
  on that logit (``unsupervised_loss``), weighted (the paper's code: 1/2).

The generator is trained by feature matching (``losses.feature_matching``) on the
discriminator's last hidden layer. A real digit must be one of the ten classes and a generated
one none of them, so the unlabelled digits shape the classes' boundaries too.

The networks follow the paper's MNIST code (``mnist_svhn_cifar10/train_mnist_feature_matching.py``
of openai/improved-gan): D an MLP 784-1000-500-250-250-250-10 with weight normalisation
(``layers.WeightNormDense``, initialised from a batch) and Gaussian noise on its input (0.3) and
after each hidden layer (0.5); G an MLP 100-500-500-784 with batch norm and softplus and a
weight-normalised output, uniform noise. Where this differs from that code: D's weight average
decays by 0.999 from a copy of D (there: 0.9999 from zeros, over 180,000 steps), Adam's
epsilon is 1e-4 outside the square root (there: 1e-8 inside it), unlabelled batches are drawn
with replacement, and the generator's output layer starts its weight directions at N(0, 0.1)
(there: Glorot).
``SemiSupervisedGAN`` is a ``Trainer`` (the GANs' engine): ``fit`` on the unlabelled images,
the labelled ones given to the constructor; ``classify`` labels digits with the discriminator's
weight average (``ema_decay``), as the paper tests.
"""

import numpy as np

from gan_mnist import engine, losses
from gan_mnist.backend import keras, tf
from gan_mnist.images import to_unit
from gan_mnist.layers import WeightNormDense

CLASSES = 10
NOISE_DIM = 100
D_WIDTHS = (1000, 500, 250, 250, 250)
G_WIDTHS = (500, 500)
ADAM_EPSILON = 1e-4  # About the paper's code's (see ``build``).


def real_fake_logit(class_logits):
    """The logit of ``D(x) = Z / (Z + 1)`` with ``Z = sum_k exp(l_k)``: ``log Z``, the
    log-sum-exp of the ``K`` class logits (the ``K + 1``-th, "generated", fixed at 0).
    """
    return tf.reduce_logsumexp(tf.cast(class_logits, tf.float32), axis=-1)


def supervised_loss(class_logits, labels):
    """The cross-entropy of the labelled digits' labels among the ``K`` real classes."""
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.cast(labels, tf.int32), logits=tf.cast(class_logits, tf.float32)))


def unsupervised_loss(real_class_logits, fake_class_logits):
    """``-E log D(x) - E log(1 - D(G(z)))`` with ``D``'s logit from ``real_fake_logit``: real
    digits in any of the ``K`` classes, generated ones in none (softplus keeps it finite).
    """
    return (tf.reduce_mean(tf.nn.softplus(-real_fake_logit(real_class_logits)))
            + tf.reduce_mean(tf.nn.softplus(real_fake_logit(fake_class_logits))))


def discriminator(widths=D_WIDTHS, classes=CLASSES, input_noise=0.3, hidden_noise=0.5):
    """Digits ``(N, 28, 28, 1)`` in [0, 1] to ``[class_logits, features]``: ``(N, classes)`` and
    the last hidden layer ``(N, widths[-1])``, on which the generator matches features.
    """
    if isinstance(widths, (int, str)) or not widths:
        raise ValueError(f"widths must be a sequence of hidden-layer sizes (the paper's "
                         f"{D_WIDTHS}), got {widths!r}.")
    for width in widths:
        engine.check_integer("each width", width, 1)
    image = keras.Input((28, 28, 1), name="image")
    x = keras.layers.GaussianNoise(input_noise)(keras.layers.Flatten()(image))
    for units in widths:
        # The hidden layers' scales are set by the initialisation and then kept (the code's).
        features = WeightNormDense(units, activation="relu", train_scale=False)(x)
        x = keras.layers.GaussianNoise(hidden_noise)(features)
    logits = WeightNormDense(classes, train_scale=True, name="class_logits")(x)
    return keras.Model(image, [logits, features], name="semi_supervised_discriminator")


def generator(noise_dim=NOISE_DIM, widths=G_WIDTHS):
    """Uniform noise to digits in [0, 1]: dense layers with batch norm (no gain) and softplus,
    then a weight-normalised sigmoid layer.
    """
    noise = keras.Input((noise_dim,), name="noise")
    x = noise
    for units in widths:
        x = keras.layers.Dense(units, use_bias=False)(x)
        x = keras.layers.BatchNormalization(scale=False, epsilon=1e-6)(x)  # No gain, as there.
        x = keras.layers.Activation("softplus")(x)
    x = WeightNormDense(28 * 28, activation="sigmoid", train_scale=True)(x)
    return keras.Model(noise, keras.layers.Reshape((28, 28, 1))(x),
                       name="semi_supervised_generator")


def initialize(discriminator, images):
    """The data-dependent initialisation of every ``WeightNormDense`` of ``discriminator``, in
    order, on ``images`` (a batch in [0, 1]): each layer's pre-activations start at mean 0 and
    variance 1 for these digits, the Gaussian noise on as in training (the paper's code).
    """
    for layer in discriminator.layers:
        if isinstance(layer, WeightNormDense):
            inputs = keras.Model(discriminator.input, layer.input)(images, training=True)
            layer.initialize(inputs)


class SemiSupervisedGAN(engine.Trainer):
    """A ``K``-class discriminator trained on a few labelled digits, unlabelled ones and
    generated ones, and a generator trained by feature matching (see the module).

    ``labelled_images`` (uint8, or floats in [0, 1]) and ``labelled_labels`` are the only labels
    it sees; ``fit`` takes the unlabelled images. Each step takes ``batch_size`` labelled digits
    (``labelled_batch``), two unlabelled batches (one for D, one for the features the
    generator matches) and noise. ``unsupervised_weight`` weighs the GAN loss against the
    labels (the paper's code: 1/2; 0 trains D on the labelled digits alone, ``supervised_step``);
    ``ema_decay`` keeps ``ema_discriminator``, a weight average of D, which ``classify`` uses.
    """

    RECORDS = ("d_loss", "g_loss", "supervised_loss", "d_real", "d_fake")

    def __init__(self, generator, discriminator, labelled_images, labelled_labels,
                 unsupervised_weight=0.5, ema_decay=0.999, seed=0, name="semi_supervised_gan",
                 **kwargs):
        outputs = discriminator.output_shape
        if not (isinstance(outputs, list) and len(outputs) == 2 and len(outputs[0]) == 2):
            raise ValueError(f"The discriminator must return [class_logits, features], shapes "
                             f"(N, K) and (N, F) (semi_supervised.discriminator builds one); "
                             f"got {outputs}.")
        if tuple(generator.output_shape[1:]) != (28, 28, 1) or len(generator.input_shape) != 2:
            raise ValueError(f"The generator must take noise vectors and make 28x28x1 digits; "
                             f"it takes {generator.input_shape} and makes "
                             f"{generator.output_shape}.")
        images = to_unit(labelled_images, None if np.asarray(labelled_images).dtype == np.uint8
                         else (0.0, 1.0)).reshape(-1, 28, 28, 1)
        labels = np.asarray(labelled_labels)
        classes = outputs[0][-1]
        if (labels.shape != (len(images),) or not np.issubdtype(labels.dtype, np.integer)
                or len(labels) == 0 or labels.min() < 0 or labels.max() >= classes):
            raise ValueError(f"Expected one integer label from 0 to {classes - 1} for each of the "
                             f"{len(images)} labelled images, got {labels.shape} "
                             f"{labels.dtype}.")
        unsupervised_weight = losses.check_weight("unsupervised_weight", unsupervised_weight,
                                                  "the paper's code: 0.5")
        if ema_decay is not None and not 0 < ema_decay < 1:
            raise ValueError(f"ema_decay must be in (0, 1), such as 0.999, got {ema_decay!r}.")
        super().__init__((28, 28, 1), (0.0, 1.0), engine.check_integer("seed", seed, 0),
                         name=name, **kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.labelled_images = tf.constant(images)
        self.labelled_labels = tf.constant(labels.astype(np.int32))
        self.unsupervised_weight = float(unsupervised_weight)
        self.noise_dim = generator.input_shape[-1]
        # Keras draws each GaussianNoise layer's noise from its seed generator; every step sets
        # their states from the step's key, so the noise, like all else, is the step's.
        self.noise_seeds = [layer.seed_generator for layer in discriminator.layers
                            if isinstance(layer, keras.layers.GaussianNoise)]
        self.ema_decay = ema_decay
        self.ema_discriminator = None
        if ema_decay is not None:
            self.ema_discriminator = keras.models.clone_model(discriminator)
            self.ema_discriminator.set_weights(discriminator.get_weights())
        self.built = True

    def compile(self, d_optimizer, g_optimizer, steps_per_execution=100, jit_compile="auto",
                **kwargs):
        """Each network's optimiser (the paper's code: Adam 0.003, beta_1 0.5) and the engine's
        execution (``engine.Trainer.compile``).
        """
        self.set_optimizers(d_optimizer, g_optimizer)
        super().compile(steps_per_execution, jit_compile, (self.generator, self.discriminator),
                        **kwargs)

    @property
    def checked_records(self):
        """All records, or without the unsupervised loss (the baseline) only those of D on the
        labelled digits: the others are NaN (``supervised_step``).
        """
        return self.RECORDS if self.unsupervised_weight else ("d_loss", "supervised_loss")

    def fit(self, x=None, y=None, **kwargs):
        if y is not None:
            raise ValueError("fit takes the unlabelled images only; the labelled ones (and the "
                             "only labels it may see) go to the constructor.")
        return super().fit(x, **kwargs)

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def labelled_batch(self, key, batch_size):
        """``batch_size`` labelled digits and their labels from ``key``: the labelled set in a
        random order, repeated as often as the batch needs (the paper's code: every batch of
        100 holds each of the 100 labelled digits once, so every class equally; a batch that is
        not a multiple of the labelled set holds a random part of the last repetition).
        """
        count = self.labelled_images.shape[0]

        def indices(shape, seed):
            # A random order without sorting (XLA's sort on a CPU made a step 6x slower): the
            # ranks of ``count`` uniform draws, ties broken by position, are a uniformly random
            # permutation of 0 .. count - 1.
            draws = tf.random.stateless_uniform([count], seed)
            position = tf.range(count)
            earlier = (draws[None, :] < draws[:, None]) | (
                (draws[None, :] == draws[:, None]) & (position[None, :] < position[:, None]))
            order = tf.reduce_sum(tf.cast(earlier, tf.int32), axis=1)
            return tf.tile(order, [-(-shape[0] // count)])[:shape[0]]

        chosen = self.draw(key, [batch_size], indices)
        return tf.gather(self.labelled_images, chosen), tf.gather(self.labelled_labels, chosen)

    def fake_batch(self, key, batch_size):
        """Generated digits for uniform noise in [0, 1] drawn from ``key`` (the paper's)."""
        def uniform(shape, seed):
            return tf.random.stateless_uniform(shape, seed)

        return self.generator(self.draw(key, [batch_size, self.noise_dim], uniform),
                              training=True)

    def train_step(self, data):
        # Independent random streams for this step: labelled digits, two unlabelled batches,
        # noise for the discriminator's update and for the generator's, and D's own noise.
        labelled_key, real_key, matched_key, fake_key, generator_key, noise_key = tf.unstack(
            self.step_keys(6))
        for index, seeds in enumerate(self.noise_seeds):
            seeds.state.assign(tf.cast(tf.random.experimental.stateless_fold_in(noise_key, index),
                                       seeds.state.dtype))
        real, _ = self.real_batch(data, real_key)
        batch_size = real.shape[0] or tf.shape(real)[0]
        images, labels = self.labelled_batch(labelled_key, batch_size)

        if not self.unsupervised_weight:
            return self.supervised_step(images, labels)

        # 1. The discriminator learns the labels of the labelled digits, and to put unlabelled
        # real digits in one of the K classes and generated ones in none.
        fake = self.fake_batch(fake_key, batch_size)
        with tf.GradientTape() as tape:
            labelled_logits, _ = self.discriminator(images, training=True)
            real_logits, _ = self.discriminator(real, training=True)
            fake_logits, _ = self.discriminator(fake, training=True)
            supervised = supervised_loss(labelled_logits, labels)
            d_loss = supervised + self.unsupervised_weight * unsupervised_loss(real_logits,
                                                                               fake_logits)
        self.update(self.discriminator, self.d_optimizer, tape, d_loss)

        # 2. The generator learns to match the mean features of another real batch.
        matched, _ = self.real_batch(data, matched_key)
        _, real_features = self.discriminator(matched, training=True)
        with tf.GradientTape() as tape:
            _, fake_features = self.discriminator(self.fake_batch(generator_key, batch_size),
                                                  training=True)
            g_loss = losses.feature_matching(real_features, fake_features)
        self.update(self.generator, self.g_optimizer, tape, g_loss)

        # 3. The weight average of D follows it; it labels the test digits.
        if self.ema_discriminator is not None:
            engine.average_into(self.ema_discriminator, self.discriminator, self.ema_decay)

        # 4. The step's record: both losses, the labelled digits' cross-entropy, and D's mean
        # probabilities of "real" for unlabelled real and for generated digits.
        return self.record(
            d_loss=d_loss, g_loss=g_loss, supervised_loss=supervised,
            d_real=tf.reduce_mean(tf.sigmoid(real_fake_logit(real_logits))),
            d_fake=tf.reduce_mean(tf.sigmoid(real_fake_logit(fake_logits))),
        )

    def supervised_step(self, images, labels):
        """The step with ``unsupervised_weight=0``: the discriminator learns the labelled digits
        alone and the generator, which could not change it, is left out. The baseline on the
        same footing: the same labelled batches, noise and weight average.
        """
        with tf.GradientTape() as tape:
            labelled_logits, _ = self.discriminator(images, training=True)
            supervised = supervised_loss(labelled_logits, labels)
        self.update(self.discriminator, self.d_optimizer, tape, supervised)
        if self.ema_discriminator is not None:
            engine.average_into(self.ema_discriminator, self.discriminator, self.ema_decay)
        nothing = tf.constant(float("nan"))  # No generator, no unlabelled or generated digits.
        return self.record(d_loss=supervised, g_loss=nothing, supervised_loss=supervised,
                           d_real=nothing, d_fake=nothing)

    def classify(self, images, raw=False, batch_size=1000):
        """The digit each image is (uint8, or floats in [0, 1]): the argmax of the class logits
        of D's weight average (``raw``: of D itself), int64 ``(N,)``.
        """
        images = to_unit(images, None if np.asarray(images).dtype == np.uint8 else (0.0, 1.0))
        images = images.reshape(-1, 28, 28, 1)
        network = (self.discriminator if raw or self.ema_discriminator is None
                   else self.ema_discriminator)
        found = [np.argmax(keras.ops.convert_to_numpy(
                     network(images[start:start + batch_size], training=False)[0]), axis=1)
                 for start in range(0, len(images), batch_size)]
        return np.concatenate(found)


def labelled_subset(labels, per_class, seed):
    """Indices of ``per_class`` training digits of each class, chosen by ``seed`` (the labels
    choose which digits are labelled, nothing else).
    """
    labels = np.asarray(labels)
    engine.check_integer("per_class", per_class, 1)
    rng = np.random.default_rng(engine.check_integer("seed", seed, 0))
    if (labels.ndim != 1 or not len(labels) or not np.issubdtype(labels.dtype, np.integer)
            or labels.min() < 0 or labels.max() >= CLASSES):
        raise ValueError(f"The labels must be digits, a 1-D array of integers from 0 to "
                         f"{CLASSES - 1}; got {labels.dtype} of shape {labels.shape}.")
    counts = np.bincount(labels, minlength=CLASSES)
    if counts.min() < per_class:
        raise ValueError(f"Digit {int(counts.argmin())} has {int(counts.min())} images, fewer "
                         f"than the {per_class} asked for of each; ask for fewer labels.")
    chosen = [rng.choice(np.flatnonzero(labels == digit), per_class, replace=False)
              for digit in range(len(counts))]
    return np.sort(np.concatenate(chosen))


def build(labelled_images, labelled_labels, d_widths=D_WIDTHS, g_widths=G_WIDTHS,
          noise_dim=NOISE_DIM, learning_rate=0.003, unsupervised_weight=0.5, ema_decay=0.999,
          seed=0, steps_per_execution=100, initialize_on=None):
    """An untrained, compiled ``SemiSupervisedGAN`` with the paper's settings (Adam at
    ``learning_rate``, beta_1 0.5 and ``ADAM_EPSILON``, for both networks). ``initialize_on``
    (unlabelled digits, uint8) runs the discriminator's data-dependent initialisation on them.
    Seed first (``gan_mnist.set_seed``) for repeatable weights.
    """
    found = discriminator(d_widths)
    if initialize_on is not None:
        initialize(found, to_unit(initialize_on).reshape(-1, 28, 28, 1))
    gan = SemiSupervisedGAN(generator(noise_dim, g_widths), found, labelled_images,
                            labelled_labels, unsupervised_weight, ema_decay, seed)
    # The paper's code adds 1e-8 to Adam's second moment inside the square root, which damps the
    # steps of weights whose gradients are below about 1e-4; Keras adds epsilon outside it, so
    # 1e-4 does about the same. With Keras' 1e-7 the weight directions drift on noise: at 8,000
    # steps (seed 0) the test error was 11.5% and rising, against 2.35% and falling with 1e-4.
    gan.compile(keras.optimizers.Adam(learning_rate, beta_1=0.5, epsilon=ADAM_EPSILON),
                keras.optimizers.Adam(learning_rate, beta_1=0.5, epsilon=ADAM_EPSILON),
                steps_per_execution=steps_per_execution)
    return gan
