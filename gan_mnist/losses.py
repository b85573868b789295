"""GAN losses computed from discriminator logits, plus the terms some GANs add to them: the
WGAN-GP gradient penalty, MSGAN's mode-seeking term, InfoGAN's mutual-information term, and
feature matching, a generator loss of its own.

Every loss takes raw discriminator outputs (logits of any shape, such as ``(N, 1)``) and
returns a scalar ``float32`` tensor. The logistic losses use ``softplus`` so they stay finite
at logits of +-100 and beyond: with ``D = sigmoid(l)``, ``-log D = softplus(-l)`` and
``-log(1 - D) = softplus(l)``. Example::

    loss = losses.get("non_saturating", label_smoothing=0.1)
    d_loss = loss.discriminator_loss(real_logits, fake_logits)
    g_loss = loss.generator_loss(fake_logits)
"""

import numbers

from gan_mnist.backend import tf
from gan_mnist.choices import LOSSES as NAMES


def _as_float(logits):
    """Return the logits as a float32 tensor (losses are reduced in float32)."""
    return tf.cast(tf.convert_to_tensor(logits), tf.float32)


class GANLoss:
    """Base class: a discriminator loss and a generator loss over logits.

    Subclasses set ``name`` and implement ``discriminator_loss`` and ``generator_loss``.
    Only the logistic losses accept ``label_smoothing``; the others accept it only when it is 0.
    """

    name = None
    supports_label_smoothing = False

    def __init__(self, label_smoothing=0.0):
        if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, numbers.Real):
            raise ValueError(
                f"label_smoothing must be a number in [0, 1), got {label_smoothing!r}."
            )
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing!r}.")
        if label_smoothing and not self.supports_label_smoothing:
            raise ValueError(
                f"The {self.name!r} loss does not support label_smoothing; "
                "use 'minimax' or 'non_saturating', or pass label_smoothing=0."
            )
        self.label_smoothing = float(label_smoothing)

    def discriminator_loss(self, real_logits, fake_logits):
        """Scalar loss the discriminator minimises."""
        raise NotImplementedError

    def generator_loss(self, fake_logits):
        """Scalar loss the generator minimises."""
        raise NotImplementedError

    def __repr__(self):
        if self.label_smoothing:
            return f"{type(self).__name__}(label_smoothing={self.label_smoothing})"
        return f"{type(self).__name__}()"


class Minimax(GANLoss):
    """The original GAN objective (Goodfellow et al., 2014, "Generative Adversarial Nets").

    L_D = -E[log D(x)] - E[log(1 - D(G(z)))] and the saturating generator loss
    L_G = E[log(1 - D(G(z)))]. With ``label_smoothing=s`` the real targets become ``1 - s``
    (one-sided smoothing, Salimans et al., 2016); fake targets stay 0.
    """

    name = "minimax"
    supports_label_smoothing = True

    def discriminator_loss(self, real_logits, fake_logits):
        real_logits = _as_float(real_logits)
        fake_logits = _as_float(fake_logits)
        # Sigmoid cross-entropy with target t is t * softplus(-l) + (1 - t) * softplus(l).
        target = 1.0 - self.label_smoothing
        real_loss = target * tf.math.softplus(-real_logits) + (
            1.0 - target
        ) * tf.math.softplus(real_logits)
        fake_loss = tf.math.softplus(fake_logits)
        return tf.reduce_mean(real_loss) + tf.reduce_mean(fake_loss)

    def generator_loss(self, fake_logits):
        # log(1 - sigmoid(l)) = -softplus(l); its gradient vanishes when D rejects the fakes.
        return -tf.reduce_mean(tf.math.softplus(_as_float(fake_logits)))


class NonSaturating(Minimax):
    """Goodfellow's non-saturating heuristic: the minimax L_D with L_G = -E[log D(G(z))].

    This equals the sigmoid cross-entropy of the fake logits against label 1, the
    "alternative loss" of the MLP write-up and the generator loss of the leaky-ReLU write-up.
    """

    name = "non_saturating"

    def generator_loss(self, fake_logits):
        return tf.reduce_mean(tf.math.softplus(-_as_float(fake_logits)))


class LeastSquares(GANLoss):
    """Least-squares GAN (Mao et al., 2017) on raw discriminator outputs with targets 0 and 1.

    L_D = 1/2 E[(l_r - 1)^2] + 1/2 E[l_f^2]; L_G = 1/2 E[(l_f - 1)^2].
    """

    name = "least_squares"

    def discriminator_loss(self, real_logits, fake_logits):
        real_logits = _as_float(real_logits)
        fake_logits = _as_float(fake_logits)
        return 0.5 * tf.reduce_mean(tf.square(real_logits - 1.0)) + 0.5 * tf.reduce_mean(
            tf.square(fake_logits)
        )

    def generator_loss(self, fake_logits):
        return 0.5 * tf.reduce_mean(tf.square(_as_float(fake_logits) - 1.0))


class Wasserstein(GANLoss):
    """Wasserstein GAN critic loss (Arjovsky et al., 2017): L_D = E[l_f] - E[l_r], L_G = -E[l_f].

    The critic must be kept Lipschitz; add ``gradient_penalty`` to L_D (WGAN-GP,
    Gulrajani et al., 2017).
    """

    name = "wasserstein"

    def discriminator_loss(self, real_logits, fake_logits):
        return tf.reduce_mean(_as_float(fake_logits)) - tf.reduce_mean(_as_float(real_logits))

    def generator_loss(self, fake_logits):
        return -tf.reduce_mean(_as_float(fake_logits))


class Hinge(GANLoss):
    """Hinge loss (Lim & Ye, 2017; Miyato et al., 2018).

    L_D = E[relu(1 - l_r)] + E[relu(1 + l_f)]; L_G = -E[l_f].
    """

    name = "hinge"

    def discriminator_loss(self, real_logits, fake_logits):
        real_logits = _as_float(real_logits)
        fake_logits = _as_float(fake_logits)
        return tf.reduce_mean(tf.nn.relu(1.0 - real_logits)) + tf.reduce_mean(
            tf.nn.relu(1.0 + fake_logits)
        )

    def generator_loss(self, fake_logits):
        return -tf.reduce_mean(_as_float(fake_logits))


_CLASSES = {
    cls.name: cls for cls in (Minimax, NonSaturating, LeastSquares, Wasserstein, Hinge)
}


def get(name, **options):
    """Return the loss object called ``name`` (one of ``NAMES``), built with ``options``.

    The only option is ``label_smoothing`` (for "minimax" and "non_saturating"). An existing
    loss object passed as ``name`` is returned unchanged.
    """
    if isinstance(name, GANLoss):
        if options:
            raise ValueError(
                f"Options {sorted(options)} cannot be applied to an existing loss object "
                f"{name!r}; pass the loss name instead."
            )
        return name
    if name not in _CLASSES:
        raise ValueError(f"Unknown loss {name!r}. Valid names: {', '.join(NAMES)}.")
    unknown = sorted(set(options) - {"label_smoothing"})
    if unknown:
        raise ValueError(
            f"Unknown option(s) {unknown} for loss {name!r}. Valid options: label_smoothing."
        )
    return _CLASSES[name](**options)


def check_weight(name, value, usual):
    """``value`` as a float; ``ValueError`` unless it is a finite, non-negative number (a loss
    term's weight; ``usual`` says what the literature uses).
    """
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not 0 <= value < float("inf")):
        raise ValueError(f"{name} must be a non-negative number ({usual}), got {value!r}.")
    return float(value)


def gradient_penalty(discriminator, real, fake, weight=10.0, epsilon=None):
    """WGAN-GP gradient penalty (Gulrajani et al., 2017, "Improved Training of Wasserstein GANs").

    Returns ``weight * E[(||grad D(x_hat)||_2 - 1)^2]`` with
    ``x_hat = eps * real + (1 - eps) * fake`` and ``eps ~ U[0, 1]`` drawn once per sample. A tiny
    constant inside the square root keeps the gradient of the norm finite when the input
    gradient is zero. Call it inside the training step's gradient tape so that the penalty is
    differentiated with respect to the critic.
    """
    check_weight("weight", weight, "WGAN-GP: 10")
    real = tf.convert_to_tensor(real)
    fake = tf.cast(tf.convert_to_tensor(fake), real.dtype)
    if not real.shape.is_compatible_with(fake.shape):
        raise ValueError(
            f"real and fake must have the same shape, got {real.shape} and {fake.shape}."
        )
    # One interpolation coefficient per sample, broadcast over the remaining axes.
    batch_size = tf.shape(real)[0]
    eps_shape = tf.concat([[batch_size], tf.ones([tf.rank(real) - 1], tf.int32)], axis=0)
    if epsilon is None:
        eps = tf.random.uniform(eps_shape, 0.0, 1.0, dtype=real.dtype)
    else:
        eps = tf.reshape(tf.cast(epsilon, real.dtype), eps_shape)
    interpolated = eps * real + (1.0 - eps) * fake
    with tf.GradientTape() as tape:
        tape.watch(interpolated)
        scores = discriminator(interpolated, training=True)
    # Samples are independent (no batch norm in a WGAN-GP critic), so the gradient of the sum
    # gives each sample's own input gradient.
    gradients = tf.cast(tape.gradient(scores, interpolated), tf.float32)
    axes = tf.range(1, tf.rank(gradients))
    norms = tf.sqrt(tf.reduce_sum(tf.square(gradients), axis=axes) + 1e-12)
    return float(weight) * tf.reduce_mean(tf.square(norms - 1.0))


def mode_seeking(images, noise, weight=1.0, epsilon=1e-5):
    """The mode-seeking term of MSGAN (Mao et al., 2019, "Mode Seeking Generative Adversarial
    Networks for Diverse Image Synthesis"), added to the generator's loss.

    The batch is read as pairs: image ``i`` of the first half against image ``i`` of the second,
    made from noise ``z_i`` and ``z'_i`` (and, in a conditional GAN, the same label). With
    ``d_I`` and ``d_z`` the mean absolute differences of the pairs' images and noise, it returns
    ``weight / (d_I / d_z + epsilon)``: small when different noise gives different images, large
    when two noise vectors fall into the same image, the collapse that drops styles. An odd last
    image has no pair and is left out. ``epsilon`` (the paper's code: 1e-5) keeps it finite.
    """
    check_weight("weight", weight, "MSGAN: 1")
    images, noise = _as_float(images), _as_float(noise)
    half = tf.shape(images)[0] // 2
    image_distance = tf.reduce_mean(tf.abs(images[:half] - images[half:2 * half]))
    noise_distance = tf.reduce_mean(tf.abs(noise[:half] - noise[half:2 * half]))
    return float(weight) / (image_distance / noise_distance + epsilon)


def info_loss(code_logits, codes, continuous_means, continuous_codes, weight=1.0):
    """InfoGAN's mutual-information term (Chen et al., 2016, "InfoGAN: Interpretable
    Representation Learning by Information Maximizing Generative Adversarial Nets"), added to
    both networks' losses.

    A generated digit ``x = G(z, c)`` should let an auxiliary head ``Q`` recover its codes ``c``.
    The variational bound ``L_I = E[log Q(c | x)] + H(c) <= I(c; x)`` is maximised, and since the
    prior's entropy ``H(c)`` is a constant this returns ``weight`` times
    ``E[-log Q(c | x)]``: the cross-entropy of the categorical code (``code_logits`` against
    ``codes``, integer ids) plus, for the continuous codes, the negative log-likelihood of a
    Gaussian of unit variance around ``continuous_means``, ``1/2 sum_j (c_j - mu_j)^2`` (the
    paper's code fixes the variance; its constant ``1/2 log 2 pi`` per code is left out).
    ``continuous_codes`` may have zero columns. Averaged over the batch; ``weight`` is the
    paper's lambda, 1 for MNIST.
    """
    check_weight("weight", weight, "InfoGAN: 1")
    code_logits, continuous_means = _as_float(code_logits), _as_float(continuous_means)
    continuous_codes = _as_float(continuous_codes)
    categorical = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.cast(codes, tf.int32), logits=code_logits
    )
    continuous = 0.5 * tf.reduce_sum(tf.square(continuous_codes - continuous_means), axis=1)
    return float(weight) * tf.reduce_mean(categorical + continuous)


def feature_matching(real_features, fake_features):
    """Feature matching (Salimans et al., 2016, "Improved Techniques for Training GANs",
    section 3.1), a generator loss: ``mean_j (E[f_j(x)] - E[f_j(G(z))])^2``, the squared
    distance between the mean features ``f`` (an intermediate layer of the discriminator) of a
    real batch and of a generated one, averaged over the features. The generator matches the
    statistics of real digits instead of maximising the discriminator's output.
    """
    real, fake = _as_float(real_features), _as_float(fake_features)
    return tf.reduce_mean(tf.square(tf.reduce_mean(real, axis=0) - tf.reduce_mean(fake, axis=0)))
