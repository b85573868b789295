"""``LinearDecay``: a learning rate held, then lowered in a straight line to zero.

The schedule of CycleGAN (Zhu et al., 2017, "keep the same learning rate for the first 100
epochs and linearly decay the rate to zero over the next 100 epochs"): a GAN's weights keep
moving while its learning rate is high, so its samples stop improving and start trading variety
for typicality; lowering the rate lets both networks settle. ``RunConfig(decay_start=S)`` gives
both Adam optimisers one: full rate up to step ``S``, zero at the run's last step.
"""

from gan_mnist.backend import keras


@keras.saving.register_keras_serializable(package="gan_mnist")
class LinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """``learning_rate`` until update ``start``, then linearly down to 0 at update ``end``.

    The rate at update t is ``learning_rate * clip((end - t) / (end - start), 0, 1)``; the
    update count is the optimiser's own (``optimizer.iterations``).
    """

    def __init__(self, learning_rate, start, end):
        if not 0 <= start < end:
            raise ValueError(f"LinearDecay needs 0 <= start < end, got start={start!r}, "
                             f"end={end!r}.")
        self.learning_rate, self.start, self.end = float(learning_rate), int(start), int(end)

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        remaining = (self.end - step) / float(self.end - self.start)
        return self.learning_rate * keras.ops.clip(remaining, 0.0, 1.0)

    def get_config(self):
        return dict(learning_rate=self.learning_rate, start=self.start, end=self.end)


def rates(config):
    """``(d_rate, g_rate)`` of a ``RunConfig``: its two learning rates, or with ``decay_start``
    their ``LinearDecay``, each counted in its network's own updates (``d_steps`` per step for
    the discriminator, one for the generator)."""
    if config.decay_start is None:
        return config.d_learning_rate, config.g_learning_rate
    return tuple(
        LinearDecay(learning_rate, config.decay_start * updates, config.steps * updates)
        for learning_rate, updates in ((config.d_learning_rate, config.d_steps),
                                       (config.g_learning_rate, 1))
    )
