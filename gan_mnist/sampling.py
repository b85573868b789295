"""``Sampling``: what a GAN feeds its generator, in training and after it.

A GAN's generator takes noise, and a conditional one a label (or, self-conditioned, a cluster
id) too. This mixin holds both sides of that: the noise and labels of every training step, drawn
from the step's stateless key (``noise``, ``fake_labels``), and the digits drawn on demand from a
NumPy seed (``sample_latent``, ``generate``, ``generate_from``), through ``sampler``, the
generator's weight average when there is one. It also keeps a self-conditioned GAN's clusters:
their shares of the training digits (``cluster_frequencies``, a weight saved with the
checkpoints), by which the cluster ids of generated digits are drawn.

``gan.GAN`` is the class that uses it. It reads ``generator``, ``ema_generator``,
``latent_dim``, ``latent``, ``classes`` and ``label_distribution`` from the model, and the
engine's ``draw`` and ``training_label_logits``; ``keep_clusters(K)`` makes the clusters' weight.
"""

import numpy as np

from gan_mnist import conditioning
from gan_mnist.backend import keras, tf
from gan_mnist.latent import sample_latent


class Sampling:
    """Noise, labels, cluster ids and digits for a GAN (see the module)."""

    def keep_clusters(self, clusters):
        """Make ``cluster_frequencies`` for ``clusters`` clusters (``None``: not self-conditioned),
        equal shares until ``set_clusters`` gives the real ones.
        """
        self.cluster_frequencies = None
        if clusters is not None:
            self.cluster_frequencies = self.add_weight(
                name="cluster_frequencies", shape=(clusters,), trainable=False,
                initializer=keras.initializers.Constant(1.0 / clusters),
            )

    @property
    def conditional(self):
        """Whether this GAN draws digits on demand (trained on labels)."""
        return self.classes is not None and self.cluster_frequencies is None

    @property
    def self_conditioned(self):
        """Whether this GAN is conditioned on clusters of its training images."""
        return self.cluster_frequencies is not None

    def set_clusters(self, clustering):
        """Take the clusters' shares of the data from a ``clustering.Clustering`` of ``classes``
        clusters; generated cluster ids are drawn by them.
        """
        if not self.self_conditioned:
            raise ValueError("This GAN is not self-conditioned; build it with clusters=K.")
        if clustering.k != self.classes:
            raise ValueError(f"This GAN takes {self.classes} clusters, but the clustering has "
                             f"{clustering.k}.")
        self.cluster_frequencies.assign(clustering.frequencies.astype(np.float32))

    def draw_clusters(self, n, seed):
        """``n`` cluster ids drawn by the clusters' shares of the data, int32, from ``seed``."""
        frequencies = keras.ops.convert_to_numpy(self.cluster_frequencies).astype(np.float64)
        return np.random.default_rng([seed, 1]).choice(
            len(frequencies), n, p=frequencies / frequencies.sum()
        ).astype(np.int32)

    @property
    def sampler(self):
        """The network that draws generated images: the weight average, else the generator."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    def call(self, inputs, training=False):
        return self.sampler(inputs, training=training)

    def sample_latent(self, n, seed=None, truncation=1.0):
        """``n`` latent vectors, float32 ``(n, latent_dim)``; the same ``seed`` gives the same ones.

        Drawn with a NumPy generator of their own, so calling this never shifts training's
        random numbers. ``truncation`` below 1 shrinks them towards their mean
        (``latent.truncate``).
        """
        return sample_latent(n, self.latent_dim, self.latent, seed, truncation)

    def generate(self, n, seed=None, labels=None, clusters=None, raw=False, truncation=1.0):
        """``n`` images in ``value_range``, a NumPy array; a fixed ``seed`` gives the same ones.

        ``labels`` (conditional): one digit for all, one per image, or ``None`` for uniform
        labels from ``seed``. A self-conditioned GAN draws cluster ids by their shares, unless
        ``clusters`` (one for all, or one per image) asks for some. ``raw`` uses the
        generator's own weights, not their average; ``truncation`` below 1 shrinks the noise
        (``latent.truncate``), not the labels or clusters drawn.
        """
        seed = int(np.random.randint(0, 2**31 - 1)) if seed is None else seed
        if clusters is not None and not self.self_conditioned:
            raise ValueError("This GAN is not self-conditioned: it has no clusters to ask for.")
        if labels is not None and not self.conditional:
            raise ValueError(
                "This GAN is not conditional: it takes no labels"
                + (" (it learned clusters without labels: ask with clusters=...)."
                   if self.self_conditioned else ".")
            )
        latents = self.sample_latent(n, seed, truncation)
        ids = labels
        if self.self_conditioned:
            ids = self.draw_clusters(n, seed) if clusters is None else clusters
        elif self.conditional and labels is None:
            ids = np.random.default_rng([seed, 1]).integers(0, conditioning.NUM_CLASSES, n)
        return self.generate_from(latents, ids, raw)

    def generate_from(self, latents, ids=None, raw=False):
        """The images, in ``value_range``, that the sampler makes of these latent vectors.

        A conditional GAN needs ``ids``, the digits' labels, and a self-conditioned one their
        cluster ids: one for all, or one per vector. ``raw`` uses the generator's own weights.
        """
        latents = np.asarray(latents, dtype=np.float32)
        network = self.generator if raw else self.sampler
        if self.classes is None:
            if ids is not None:
                raise ValueError("This GAN is neither conditional nor self-conditioned: it "
                                 "takes latent vectors only (leave ids out).")
            return keras.ops.convert_to_numpy(network(latents, training=False))
        what = "Clusters" if self.self_conditioned else "Labels"
        if ids is None:
            raise ValueError(f"{what} are missing: this GAN needs ids=, one for all images or "
                             "one per latent vector.")
        if np.ndim(ids) == 0:
            ids = np.full(len(latents), ids)
        ids = tf.constant(conditioning.check_labels(ids, len(latents), self.classes, what))
        return keras.ops.convert_to_numpy(network([tf.constant(latents), ids], training=False))

    def noise(self, key, batch_size):
        """This replica's noise for ``batch_size`` images, from the stateless ``key``."""
        if self.latent == "uniform":
            def draw(shape, seed):
                return tf.random.stateless_uniform(shape, seed, minval=-1.0, maxval=1.0)
        else:
            def draw(shape, seed):
                return tf.random.stateless_normal(shape, seed)
        return self.draw(key, [batch_size, self.latent_dim], draw)

    def fake_labels(self, key, batch_size):
        """This replica's generated labels: uniform, or by the training labels' frequencies (a
        self-conditioned GAN's cluster ids: by the clusters' shares).
        """
        if self.label_distribution == "uniform" and not self.self_conditioned:
            def draw(shape, seed):
                return tf.random.stateless_uniform(shape, seed, 0, conditioning.NUM_CLASSES,
                                                   dtype=tf.int32)
        else:
            logits = (tf.math.log(tf.maximum(self.cluster_frequencies, 1e-12))
                      if self.self_conditioned else self.training_label_logits())

            def draw(shape, seed):
                return tf.cast(tf.random.stateless_categorical(logits[None], shape[0], seed)[0],
                               tf.int32)
        return self.draw(key, [batch_size], draw)
