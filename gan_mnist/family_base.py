"""What the other families of the series (``vae``, ``diffusion``) share: cluster conditioning
without labels, the learning rate, and the checks of their settings.

A model of another family can be conditioned on clusters of its training images, as lesson
"Digits without labels" conditions a GAN (``gan_mnist.clustering``): the clusters are found from
the pixels alone, so nothing trained on labels enters training. ``ClusterConditioning`` gives a
``Trainer`` subclass that behaviour: ``fit`` takes images only (labels are refused: they score
results, they never train) and works out each image's cluster itself; ``cluster_ids`` draws the
clusters of generated digits by the clusters' shares of the training images.
"""

import math

import numpy as np

from gan_mnist.backend import keras, tf
from gan_mnist.engine import Trainer, average_into


def check_rate(name, value, upper=1.0):
    """``value`` as a float in (0, ``upper``) (or above 0 when ``upper`` is None)."""
    if (isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating))
            or not math.isfinite(value) or value <= 0 or (upper is not None and value >= upper)):
        bound = "above 0" if upper is None else f"between 0 and {upper}, exclusive"
        raise ValueError(f"{name} must be a number {bound}, got {value!r}.")
    return float(value)


def learning_rate(rate, warmup=0, decay_steps=0):
    """Adam's rate: ``rate`` held constant, or a linear warm-up over ``warmup`` steps, then
    (with ``decay_steps``) a cosine decay to zero at that step.
    """
    rate = check_rate("learning_rate", rate, upper=None)
    if not warmup and not decay_steps:
        return rate
    if decay_steps and decay_steps <= warmup:
        raise ValueError(f"decay_steps ({decay_steps}) must come after the warm-up ({warmup}).")
    return keras.optimizers.schedules.CosineDecay(
        0.0 if warmup else rate, decay_steps - warmup if decay_steps else 10**9,
        alpha=0.0 if decay_steps else 1.0, warmup_target=rate if warmup else None,
        warmup_steps=warmup)


class ClusterConditioning:
    """Mixin for a ``Trainer`` that may be conditioned on clusters (see the module)."""

    def set_clustering(self, clustering):
        """Condition on ``clustering`` (a ``clustering.Clustering``), or on nothing (None)."""
        self.clustering = clustering
        self.cluster_frequencies = (None if clustering is None
                                    else np.asarray(clustering.frequencies, np.float64))

    @property
    def conditioned(self):
        return self.cluster_frequencies is not None

    def fit(self, x=None, y=None, **kwargs):
        """Train on images ``x`` (see ``Trainer.fit``); a cluster-conditioned model assigns each
        image its cluster. ``ValueError`` for labels: this model learns without them.
        """
        if y is not None:
            raise ValueError(
                f"{type(self).__name__} learns without labels (they only score results); leave "
                "y out. To condition it, build it with clusters of the training images "
                "(gan_mnist.clustering.cluster_images), found from the pixels alone."
            )
        if self.clustering is not None:
            if isinstance(x, tf.data.Dataset):
                raise ValueError("A cluster-conditioned model assigns clusters to an image "
                                 "array; pass the images, not a tf.data.Dataset.")
            y = self.clustering.assign(np.asarray(x))
        return super().fit(x, y, **kwargs)

    def cluster_ids(self, n, rng, clusters=None):
        """int32 cluster ids of ``n`` generated digits (None when not conditioned): ``clusters``
        checked, or drawn from ``rng`` by the clusters' shares.
        """
        if not self.conditioned:
            if clusters is not None:
                raise ValueError("This model is not cluster-conditioned; leave clusters out.")
            return None
        k = len(self.cluster_frequencies)
        if clusters is None:
            return rng.choice(k, size=n, p=self.cluster_frequencies).astype(np.int32)
        ids = np.asarray(clusters)
        if (ids.shape != (n,) or not np.issubdtype(ids.dtype, np.integer)
                or ids.min() < 0 or ids.max() >= k):
            raise ValueError(f"clusters must be {n} integer ids from 0 to {k - 1}, "
                             f"got shape {ids.shape} and dtype {ids.dtype}.")
        return ids.astype(np.int32)


class FamilyModel(ClusterConditioning, Trainer):
    """A model of another family on the engine: ``drawing`` (the network that draws) with an
    optional weight average (``ema_decay``, warm-up ``min(decay, (1 + s) / (10 + s))`` at step
    ``s``), which then draws; ``training`` (the networks trained) compiled with one optimiser.
    """

    def __init__(self, drawing, training, value_range, ema_decay=None, clustering=None, seed=0,
                 **kwargs):
        if ema_decay is not None:
            check_rate("ema_decay", ema_decay, upper=1.0)
        super().__init__(image_shape=(28, 28, 1), value_range=value_range, seed=seed,
                         classes=None if clustering is None else clustering.k, **kwargs)
        self.drawing, self.training_networks, self.ema_decay = drawing, list(training), ema_decay
        self.average = None
        if ema_decay is not None:
            self.average = keras.models.clone_model(drawing)
            self.average.set_weights(drawing.get_weights())
        self.set_clustering(clustering)

    @property
    def sampler(self):
        """The network that draws: its weight average when there is one."""
        return self.average if self.average is not None else self.drawing

    def compile(self, optimizer, steps_per_execution=100, jit_compile="auto", **kwargs):
        self.network_optimizer = optimizer
        super().compile(steps_per_execution=steps_per_execution, jit_compile=jit_compile,
                        networks=self.training_networks, **kwargs)

    def update_average(self):
        """One step of the weight average, with its warm-up (nothing without one)."""
        if self.average is not None:
            step = tf.cast(tf.convert_to_tensor(self.step_counter), tf.float32)
            average_into(self.average, self.drawing,
                         tf.minimum(self.ema_decay, (1.0 + step) / (10.0 + step)))
