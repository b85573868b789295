"""Layers of the networks that Keras does not have.

- ``MinibatchStdDev``: the minibatch standard deviation of Karras et al. (2018, "Progressive
  Growing of GANs for Improved Quality, Stability, and Variation", section 3). The images of a
  batch are split into groups of ``group_size``; for each group, the standard deviation of every
  feature at every position is taken over the group's images and averaged into one number, which
  is appended to each of the group's images as one more constant channel. A discriminator that
  sees it can tell a batch of near-copies (a small number) from a batch as varied as real digits,
  so a generator that draws few styles is penalised for it.
"""

from gan_mnist.backend import keras


@keras.saving.register_keras_serializable(package="gan_mnist")
class MinibatchStdDev(keras.layers.Layer):
    """``(N, H, W, C)`` -> ``(N, H, W, C + 1)``: the group's mean standard deviation appended.

    ``N`` must be a multiple of the group size, ``min(group_size, N)``.
    """

    def __init__(self, group_size=4, **kwargs):
        super().__init__(**kwargs)
        if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size < 2:
            raise ValueError(f"group_size must be an integer of at least 2, got {group_size!r}.")
        self.group_size = group_size

    def call(self, features):
        ops = keras.ops
        count = ops.shape(features)[0]
        group = ops.minimum(self.group_size, count)
        height, width, channels = features.shape[1:]
        grouped = ops.reshape(features, (group, -1, height, width, channels))
        # Over each group's images: the standard deviation of each feature at each position.
        deviation = ops.sqrt(ops.var(ops.cast(grouped, "float32"), axis=0) + 1e-8)
        # One number per group (the mean over features and positions), for each of its images.
        per_group = ops.mean(deviation, axis=[1, 2, 3])  # (N / group,)
        per_image = ops.tile(per_group, [group])  # Image i belongs to group i % (N / group).
        channel = ops.broadcast_to(ops.reshape(per_image, (-1, 1, 1, 1)),
                                   (count, height, width, 1))
        return ops.concatenate([features, ops.cast(channel, features.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size}
