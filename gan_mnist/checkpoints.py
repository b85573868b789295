"""Checkpoints of a GAN: everything training needs to continue exactly, every N steps.

Files are ``tf.train.CheckpointManager``'s, named ``ckpt-<step>``; the newest few are kept.
With counter-based random numbers (``gan_mnist.engine``) the seed and the step fix every later
batch and noise draw, so a run restored at step ``s`` continues as if it had never stopped.
"""

import math

import numpy as np
import tensorflow as tf

from gan_mnist.callbacks import EveryNSteps
from gan_mnist.engine import check_integer
from gan_mnist.history import RECORDS

CHECKPOINT_NAME = "ckpt"


def make_checkpoint(gan):
    """A ``tf.train.Checkpoint`` of the two networks (with their batch-norm statistics), both
    optimizers (moments and iteration counts), the step counter and the random seed.
    """
    return tf.train.Checkpoint(
        generator=gan.generator,
        discriminator=gan.discriminator,
        d_optimizer=gan.d_optimizer,
        g_optimizer=gan.g_optimizer,
        step=gan.step_counter.value,
        random_seed=gan.random_seed.value,
    )


def step_of(path):
    """The step of a checkpoint path ``.../ckpt-<step>``."""
    return int(str(path).rsplit("-", 1)[1])


def latest_step(directory):
    """The step of the newest checkpoint in ``directory``, or ``None`` when it holds none."""
    latest = tf.train.latest_checkpoint(str(directory))
    return None if latest is None else step_of(latest)


def restore_latest(gan, directory):
    """Restore the newest checkpoint in ``directory`` into a compiled GAN; return its step.

    Returns ``None`` when the folder holds no checkpoint.
    """
    latest = tf.train.latest_checkpoint(str(directory))
    if latest is None:
        return None
    make_checkpoint(gan).restore(latest).assert_consumed()
    return int(gan.step_counter.numpy())


class Checkpoints(EveryNSteps):
    """Save a checkpoint every ``every`` steps (and at the end) into ``directory``.

    The newest ``keep`` are kept. A checkpoint is never written once a loss or a weight has
    become NaN or infinite, so the last one saved is always a good one. ``last_saved`` is the
    step of the newest checkpoint.
    """

    def __init__(self, directory, every=None, keep=3, at_end=True):
        super().__init__(every)
        self.directory = directory
        self.keep = check_integer("keep", keep, 1)
        self.at_end = at_end
        self.manager = None
        self.last_saved = None
        self._diverged = False

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.manager = tf.train.CheckpointManager(
            make_checkpoint(self.model), str(self.directory), max_to_keep=self.keep,
            checkpoint_name=CHECKPOINT_NAME,
        )
        latest = self.manager.latest_checkpoint
        self.last_saved = None if latest is None else step_of(latest)
        self._diverged = False

    def _finite(self):
        rows = self.model.latest_steps()
        values = [row[name] for row in rows for name in RECORDS]
        if not all(math.isfinite(value) for value in values):
            return False
        networks = (self.model.generator, self.model.discriminator)
        return all(
            np.all(np.isfinite(weight.numpy()))
            for network in networks
            for weight in network.weights
        )

    def save(self, step):
        """Save a checkpoint for ``step`` unless training has diverged."""
        self._diverged = self._diverged or not self._finite()
        if self._diverged or step == self.last_saved:
            return None
        path = self.manager.save(checkpoint_number=step)
        self.last_saved = step
        return path

    def on_interval(self, step):
        self.save(step)

    def on_train_end(self, logs=None):
        if self.at_end:
            self.save(int(self.model.step_counter.numpy()))
