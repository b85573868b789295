"""Layers of the networks that Keras does not have.

- ``MinibatchStdDev``: the minibatch standard deviation of Karras et al. (2018, "Progressive
  Growing of GANs for Improved Quality, Stability, and Variation", section 3). The images of a
  batch are split into groups of ``group_size``; for each group, the standard deviation of every
  feature at every position is taken over the group's images and averaged into one number, which
  is appended to each of the group's images as one more constant channel. A discriminator that
  sees it can tell a batch of near-copies (a small number) from a batch as varied as real digits,
  so a generator that draws few styles is penalised for it.
- ``WeightNormDense``: a dense layer with weight normalisation (Salimans and Kingma, 2016,
  "Weight Normalization: A Simple Reparameterization to Accelerate Training of Deep Neural
  Networks"): each unit's weight vector is ``w = g * v / ||v||``, so its length ``g`` and its
  direction ``v`` are learned apart. ``initialize(inputs)`` sets ``g`` and the bias from a batch
  so that the unit's inputs to the activation start with mean 0 and variance 1 (the paper's
  data-dependent initialisation).
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


@keras.saving.register_keras_serializable(package="gan_mnist")
class WeightNormDense(keras.layers.Layer):
    """``(N, D)`` -> ``(N, units)``: ``activation(x @ (g * v / ||v||) + b)``, norms per unit.

    ``train_scale=False`` leaves ``g`` out of training: at 1, or where ``initialize`` set it
    (the improved-GAN code's default for its hidden layers).
    """

    def __init__(self, units, activation=None, train_scale=True, **kwargs):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise ValueError(f"units must be a positive integer, got {units!r}.")
        self.units, self.train_scale = units, bool(train_scale)
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        self.direction = self.add_weight(
            name="direction", shape=(input_shape[-1], self.units),
            initializer=keras.initializers.RandomNormal(stddev=0.1))  # The paper's code.
        self.scale = self.add_weight(name="scale", shape=(self.units,), initializer="ones",
                                     trainable=self.train_scale)
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")

    def preactivation(self, inputs):
        """``x @ (g * v / ||v||) + b``, before the activation."""
        ops = keras.ops
        norms = ops.sqrt(ops.sum(ops.square(self.direction), axis=0) + 1e-12)
        return ops.matmul(inputs, self.direction) * (self.scale / norms) + self.bias

    def call(self, inputs):
        return self.activation(self.preactivation(inputs))

    def initialize(self, inputs):
        """Set ``g`` and ``b`` so that this batch's pre-activations have mean 0, variance 1."""
        ops = keras.ops
        self.scale.assign(ops.ones_like(self.scale))
        self.bias.assign(ops.zeros_like(self.bias))
        values = self.preactivation(inputs)
        mean = ops.mean(values, axis=0)
        deviation = ops.sqrt(ops.var(values, axis=0) + 1e-8)
        self.scale.assign(1.0 / deviation)
        self.bias.assign(-mean / deviation)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "train_scale": self.train_scale,
                "activation": keras.activations.serialize(self.activation)}
