"""A variational autoencoder beside the GANs (Kingma and Welling, 2014, "Auto-Encoding
Variational Bayes").

The encoder gives each digit ``x`` a Gaussian over codes, ``q(z | x) = N(mu(x), diag
sigma^2(x))``; the decoder gives each code one Bernoulli probability of ink per pixel,
``p(x | z)``, the grey levels in [0, 1] serving as targets. Both are trained together to
maximise the evidence lower bound of each training digit::

    log p(x) >= E_{z ~ q(z | x)}[log p(x | z)] - KL(q(z | x) || N(0, I))

whose first term is minus the binary cross-entropy summed over the 784 pixels and whose second
is ``1/2 sum_j (sigma_j^2 + mu_j^2 - 1 - log sigma_j^2)``. The draw ``z = mu + sigma * eps``
(the reparameterisation trick) lets the gradient reach the encoder. A digit is drawn by decoding
``z ~ N(0, I)`` and showing the decoder's mean, the probabilities themselves.

``encoder`` and ``decoder`` build the networks, optionally conditioned on cluster ids of the
training images (``gan_mnist.clustering``, found without labels; both networks take the
cluster's embedding, as a conditional VAE does, Sohn et al., 2015). ``VAE`` is a ``Trainer``
(the GANs' engine), with an optional weight average of the decoder that then draws.
"""

import numpy as np

from gan_mnist.backend import keras, tf
from gan_mnist.engine import check_integer
from gan_mnist.family_base import FamilyModel

LATENT_DIM = 16


def _check_widths(widths):
    if len(widths) != 2 or any(check_integer("width", w, 1) < 1 for w in widths):
        raise ValueError(f"widths must be two channel counts (14x14, 7x7), got {widths}.")


def _cluster_input(clusters, dim):
    """A cluster id input and its embedding (``None, None`` when not conditioned)."""
    if clusters is None:
        return None, None
    cluster = keras.Input((), dtype="int32", name="cluster")
    return cluster, keras.layers.Embedding(clusters, dim)(cluster)


def encoder(latent_dim=LATENT_DIM, widths=(32, 64), hidden=128, clusters=None):
    """Digits in [0, 1] (and cluster ids) to the mean and log-variance of their codes."""
    _check_widths(widths)
    image = keras.Input((28, 28, 1), name="image")
    x = keras.layers.Conv2D(widths[0], 3, strides=2, padding="same", activation="relu")(image)
    x = keras.layers.Conv2D(widths[1], 3, strides=2, padding="same", activation="relu")(x)
    x = keras.layers.Flatten()(x)
    cluster, embedding = _cluster_input(clusters, hidden)
    if embedding is not None:
        x = keras.layers.Concatenate()([x, embedding])
    x = keras.layers.Dense(hidden, activation="relu")(x)
    mean = keras.layers.Dense(latent_dim, name="mean")(x)
    log_variance = keras.layers.Dense(latent_dim, name="log_variance")(x)
    inputs = image if cluster is None else [image, cluster]
    return keras.Model(inputs, [mean, log_variance], name="encoder")


def decoder(latent_dim=LATENT_DIM, widths=(32, 64), clusters=None):
    """Codes (and cluster ids) to the logits of each pixel's probability of ink."""
    _check_widths(widths)
    z = keras.Input((latent_dim,), name="z")
    x = z
    cluster, embedding = _cluster_input(clusters, latent_dim)
    if embedding is not None:
        x = keras.layers.Concatenate()([x, embedding])
    x = keras.layers.Dense(7 * 7 * widths[1], activation="relu")(x)
    x = keras.layers.Reshape((7, 7, widths[1]))(x)
    x = keras.layers.Conv2DTranspose(widths[1], 3, strides=2, padding="same",
                                     activation="relu")(x)  # 14x14
    x = keras.layers.Conv2DTranspose(widths[0], 3, strides=2, padding="same",
                                     activation="relu")(x)  # 28x28
    logits = keras.layers.Conv2D(1, 3, padding="same", name="logits")(x)
    return keras.Model(z if cluster is None else [z, cluster], logits, name="decoder")


def bernoulli_nll(images, logits):
    """``-log p(x | z)`` of each image under one Bernoulli per pixel (probability
    ``sigmoid(logits)``), the grey levels in [0, 1] as targets: the binary cross-entropy summed
    over the pixels.
    """
    return tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=images, logits=logits),
                         axis=[1, 2, 3])


def gaussian_kl(mean, log_variance):
    """``KL(N(mean, exp(log_variance)) || N(0, I))`` of each row, in closed form:
    ``1/2 sum_j (sigma_j^2 + mu_j^2 - 1 - log sigma_j^2)``.
    """
    return 0.5 * tf.reduce_sum(tf.exp(log_variance) + mean**2 - 1.0 - log_variance, axis=1)


class VAE(FamilyModel):
    """A variational autoencoder on the GANs' engine (see the module).

    ``ema_decay`` keeps a weight average of the decoder (with warm-up ``min(decay, (1 + s) /
    (10 + s))`` at step ``s``), which then draws; ``clustering`` (a ``clustering.Clustering``)
    conditions both networks on clusters of the training images.
    """

    RECORDS = ("loss", "reconstruction", "kl")

    def __init__(self, encoder, decoder, ema_decay=None, clustering=None, seed=0, **kwargs):
        super().__init__(decoder, [encoder, decoder], (0.0, 1.0), ema_decay=ema_decay,
                         clustering=clustering, seed=seed, **kwargs)
        self.encoder, self.decoder = encoder, decoder
        self.latent_dim = decoder.inputs[0].shape[-1]

    def train_step(self, data):
        # Independent random streams for this step: the batch and the codes' noise.
        batch_key, noise_key = tf.unstack(self.step_keys(2))
        images, clusters = self.real_batch(data, batch_key)
        with_clusters = (lambda x: x) if clusters is None else (lambda x: [x, clusters])
        with tf.GradientTape() as tape:
            # 1. The encoder's Gaussian over codes, and one code drawn from it.
            mean, log_variance = self.encoder(with_clusters(images), training=True)
            epsilon = self.draw(noise_key, [tf.shape(mean)[0], self.latent_dim],
                                tf.random.stateless_normal)
            z = mean + tf.exp(0.5 * log_variance) * epsilon  # The reparameterisation trick.
            # 2. -log p(x | z) for Bernoulli pixels: the cross-entropy, summed over the pixels.
            reconstruction = bernoulli_nll(images, self.decoder(with_clusters(z), training=True))
            # 3. KL(q(z | x) || N(0, I)) in closed form; the loss is the negative ELBO.
            kl = gaussian_kl(mean, log_variance)
            loss = tf.reduce_mean(reconstruction + kl)
        networks = [self.encoder, self.decoder]
        weights = [w for network in networks for w in network.trainable_weights]
        self.network_optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
        # 4. The decoder's weight average follows it, with a warm-up early on.
        self.update_average()
        return self.record(loss=loss, reconstruction=tf.reduce_mean(reconstruction),
                           kl=tf.reduce_mean(kl))

    def generate(self, n, seed=0, clusters=None, raw=False, batch_size=1000):
        """``n`` digits in [0, 1]: the decoder's mean for codes drawn from N(0, I).

        A cluster-conditioned model draws each digit's cluster by the clusters' shares (seeded
        by ``seed``), or takes ``clusters`` (``n`` ids). The decoder's weight average draws,
        when there is one, unless ``raw``. The same seed gives the same digits.
        """
        n = check_integer("n", n, 1)
        rng = np.random.default_rng(seed)
        codes = rng.standard_normal((n, self.latent_dim)).astype(np.float32)
        ids = self.cluster_ids(n, rng, clusters)
        network = self.decoder if raw else self.sampler
        digits = []
        for start in range(0, n, batch_size):
            batch = codes[start:start + batch_size]
            inputs = batch if ids is None else [batch, ids[start:start + batch_size]]
            digits.append(keras.ops.convert_to_numpy(
                keras.ops.sigmoid(network(inputs, training=False))))
        return np.concatenate(digits)
