"""Generators and discriminators of the three source write-ups, plus our recommended DCGAN.

Every builder returns a functional ``keras.Model`` with named layers. Generators map a latent
batch ``(N, latent_dim)`` to images ``(N, 28, 28, 1)``; discriminators map images to logits
``(N, 1)`` (no sigmoid: the losses in ``gan_mnist.losses`` work on logits).

Presets reproduce the write-ups; keyword arguments left at ``None`` take the preset's value:

- ``"vanilla"``: the 2-layer MLP GAN of "Using GANs to generate MNIST digits".
- ``"leaky"``: the MLP GAN with leaky ReLU, tanh output and label smoothing.
- ``"classic"``: the convolutional write-up's DCGAN (average-pooling CNN discriminator,
  four transposed convolutions in the generator).
- ``"recommended"``: our small DCGAN tuned for digits per CPU-minute.

``gan_mnist.RunConfig.from_preset(preset)`` gives the training settings that go with each preset.
"""

import numbers

from gan_mnist import conditioning, layers
from gan_mnist.backend import keras
from gan_mnist.choices import DCGAN_PRESETS, MLP_PRESETS, PRESETS  # noqa: F401

IMAGE_SHAPE = (28, 28, 1)
HIDDEN_ACTIVATIONS = ("relu", "leaky_relu")
OUTPUT_ACTIVATIONS = ("sigmoid", "tanh")

# The MLP presets: the same 100 -> 128 -> 784 generator and 784 -> 128 -> 1 discriminator,
# with different activations. Keras' Dense defaults (Glorot uniform weights, zero biases)
# match the write-ups' Xavier initialisation and `tf.layers.dense`.
_MLP = {
    "vanilla": dict(latent_dim=100, hidden_units=128, hidden_activation="relu",
                    output_activation="sigmoid", negative_slope=0.01),
    "leaky": dict(latent_dim=100, hidden_units=128, hidden_activation="leaky_relu",
                  output_activation="tanh", negative_slope=0.01),
}

# The DCGAN presets. For "classic", `generator_filters` are the three hidden transposed
# convolutions; for "recommended", the projected 7x7 map and the 14x14 transposed convolution.
_DCGAN = {
    "classic": dict(
        latent_dim=100,
        generator_filters=(256, 128, 64),
        discriminator_filters=(8, 16),
        hidden_units=32,
        kernel_size=5,
        negative_slope=0.0,
    ),
    "recommended": dict(
        latent_dim=100,
        generator_filters=(64, 32),
        discriminator_filters=(32, 64),
        hidden_units=0,
        kernel_size=4,
        negative_slope=0.2,
    ),
}

def build(preset, latent_dim=None, generator_widths=None, discriminator_widths=None,
          conditional=False, minibatch_std=False):
    """``(generator, discriminator)`` of a preset; ``None`` keeps the preset's value.

    Widths are the hidden layer's units for an MLP (one number per network) and the two filter
    counts for a recommended DCGAN (three and two for a classic one). ``conditional`` gives both
    networks a label input (``gan_mnist.conditioning``): ``True`` for the ten digits, or a
    number of classes (the clusters of a self-conditioned GAN). ``minibatch_std`` gives the
    recommended DCGAN's discriminator a minibatch standard deviation channel.
    """
    _check_choice("preset", preset, PRESETS)
    if minibatch_std and preset != "recommended":
        raise ValueError(f"minibatch_std is a layer of the recommended DCGAN's discriminator; "
                         f"the {preset!r} preset has none.")
    if preset in MLP_PRESETS:
        g_units = _single_width("generator_widths", generator_widths)
        d_units = _single_width("discriminator_widths", discriminator_widths)
        return (
            mlp_generator(latent_dim=latent_dim, hidden_units=g_units, preset=preset,
                          conditional=conditional),
            mlp_discriminator(hidden_units=d_units, preset=preset, conditional=conditional),
        )
    return (
        dcgan_generator(latent_dim=latent_dim, filters=generator_widths, preset=preset,
                        conditional=conditional),
        dcgan_discriminator(filters=discriminator_widths, preset=preset, conditional=conditional,
                            minibatch_std=minibatch_std),
    )


def _single_width(argument, widths):
    if widths is None:
        return None
    if len(tuple(widths)) != 1:
        raise ValueError(
            f"{argument} of an MLP is one hidden width, such as (128,), got {widths!r}."
        )
    return tuple(widths)[0]


def _check_choice(argument, value, valid):
    if value not in valid:
        raise ValueError(f"Unknown {argument} {value!r}. Valid values: {', '.join(valid)}.")


def _check_positive(argument, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{argument} must be a positive integer, got {value!r}.")


def _check_filters(argument, value, length):
    if not isinstance(value, (tuple, list)) or len(value) != length:
        raise ValueError(
            f"{argument} must be a sequence of {length} positive integers, got {value!r}."
        )
    for filters in value:
        _check_positive(argument, filters)
    return tuple(value)


def _check_slope(value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ValueError(f"negative_slope must be a number in [0, 1), got {value!r}.")


def _resolve(presets, preset, options):
    """The preset's values, overridden by every option that is not ``None``."""
    _check_choice("preset", preset, tuple(presets))
    values = dict(presets[preset])
    values.update({key: value for key, value in options.items() if value is not None})
    return values


def _hidden_activation(name, activation, negative_slope):
    _check_choice("hidden_activation", activation, HIDDEN_ACTIVATIONS)
    if activation == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=negative_slope, name=name)
    return keras.layers.ReLU(name=name)


def mlp_generator(latent_dim=None, hidden_units=None, hidden_activation=None,
                  output_activation=None, negative_slope=None, preset="vanilla", name=None,
                  conditional=False):
    """MLP generator: latent -> dense hidden -> dense 784 -> image ``(N, 28, 28, 1)``.

    ``preset="vanilla"``: 100 -> 128 ReLU -> 784 sigmoid (images in [0, 1]), 114,064 parameters,
    from "Using GANs to generate MNIST digits". ``preset="leaky"``: 100 -> 128
    LeakyReLU(0.01) -> 784 tanh (images in [-1, 1]), from the leaky-ReLU MLP write-up.
    Weights are Glorot (Xavier) uniform, biases zero. ``conditional`` adds a label input
    (``gan_mnist.conditioning``).
    """
    values = _resolve(
        _MLP,
        preset,
        dict(
            latent_dim=latent_dim,
            hidden_units=hidden_units,
            hidden_activation=hidden_activation,
            output_activation=output_activation,
            negative_slope=negative_slope,
        ),
    )
    _check_positive("latent_dim", values["latent_dim"])
    _check_positive("hidden_units", values["hidden_units"])
    _check_slope(values["negative_slope"])
    _check_choice("output_activation", values["output_activation"], OUTPUT_ACTIVATIONS)

    latent = keras.Input(shape=(values["latent_dim"],), name="latent")
    inputs, x = conditioning.generator_inputs(latent, conditional)
    x = keras.layers.Dense(values["hidden_units"], name="hidden")(x)
    x = _hidden_activation(
        "hidden_activation", values["hidden_activation"], values["negative_slope"]
    )(x)
    x = keras.layers.Dense(IMAGE_SHAPE[0] * IMAGE_SHAPE[1], name="pixels")(x)
    x = keras.layers.Activation(values["output_activation"], name="output_activation")(x)
    image = keras.layers.Reshape(IMAGE_SHAPE, name="image")(x)
    return keras.Model(inputs, image, name=name or f"{preset}_generator")


def mlp_discriminator(hidden_units=None, hidden_activation=None, negative_slope=None,
                      preset="vanilla", name=None, conditional=False):
    """MLP discriminator: image -> flatten 784 -> dense hidden -> logit ``(N, 1)``.

    ``preset="vanilla"``: 784 -> 128 ReLU -> 1, 100,609 parameters, from "Using GANs to generate
    MNIST digits". ``preset="leaky"``: 784 -> 128 LeakyReLU(0.01) -> 1, from the leaky-ReLU MLP
    write-up. Weights are Glorot (Xavier) uniform, biases zero.
    """
    values = _resolve(
        _MLP,
        preset,
        dict(
            hidden_units=hidden_units,
            hidden_activation=hidden_activation,
            negative_slope=negative_slope,
        ),
    )
    _check_positive("hidden_units", values["hidden_units"])
    _check_slope(values["negative_slope"])

    image = keras.Input(shape=IMAGE_SHAPE, name="image")
    x = keras.layers.Flatten(name="flatten")(image)
    x = keras.layers.Dense(values["hidden_units"], name="hidden")(x)
    x = _hidden_activation(
        "hidden_activation", values["hidden_activation"], values["negative_slope"]
    )(x)
    inputs, logit = conditioning.logit(image, x, conditional)
    return keras.Model(inputs, logit, name=name or f"{preset}_discriminator")


def dcgan_generator(latent_dim=None, filters=None, kernel_size=None, preset="recommended",
                    name=None, conditional=False):
    """Convolutional generator: latent ``(N, latent_dim)`` -> tanh image ``(N, 28, 28, 1)``.

    ``filters`` sets the three hidden widths (classic, default ``(256, 128, 64)``) or, for the
    recommended preset, ``(projected, upsampled)`` widths.

    ``preset="classic"`` (the DCGAN write-up): the noise is reshaped straight to 2x2x25 (no
    projection matrix, so ``latent_dim`` must be a multiple of 4) and passed through a ReLU,
    then four 5x5 stride-2 transposed convolutions give 3x3x256 -> 6x6x128 -> 12x12x64 (each
    with batch norm and ReLU) -> 28x28x1 tanh. The original's ``conv2d_transpose`` took explicit
    output shapes; Keras' ``output_padding`` (0, 1, 1 with 'same' padding, 1 with 'valid' for
    the last) asks for the same shapes, so the same TensorFlow op runs. Weights are truncated
    normal (stddev 0.1) and biases 0.1, as in the write-up; batch norm uses TF1's defaults
    (momentum 0.999, epsilon 0.001). The write-up always ran batch norm in training mode, even
    when sampling; call the model with ``training=True`` to reproduce that.

    ``preset="recommended"`` (ours, following the DCGAN guidelines of Radford et al., 2016):
    dense projection to 7x7x64 -> batch norm -> ReLU -> 4x4 stride-2 transposed convolution to
    14x14x32 -> batch norm -> ReLU -> 4x4 stride-2 transposed convolution to 28x28x1 -> tanh;
    weights normal (stddev 0.02), no biases before batch norm; 359,553 parameters (its
    discriminator: 36,513). ``benchmarks/README.md`` records how the widths were chosen
    (step times and quality per CPU-minute) and what the preset reaches in 5 minutes.
    """
    values = _resolve(
        _DCGAN,
        preset,
        dict(latent_dim=latent_dim, generator_filters=filters, kernel_size=kernel_size),
    )
    _check_positive("latent_dim", values["latent_dim"])
    _check_positive("kernel_size", values["kernel_size"])
    if preset == "classic":
        if conditional:
            raise ValueError(
                "The classic generator reshapes the bare noise into its first feature map, so "
                "it has no conditional version; use preset='recommended'."
            )
        filters = _check_filters("filters", values["generator_filters"], 3)
        return _classic_generator(values["latent_dim"], filters, values["kernel_size"], name)
    filters = _check_filters("filters", values["generator_filters"], 2)
    return _recommended_generator(values["latent_dim"], filters, values["kernel_size"], name,
                                  conditional)


def _classic_generator(latent_dim, filters, kernel_size, name):
    if latent_dim % 4:
        raise ValueError(
            f"The classic generator reshapes the noise to 2x2xC, so latent_dim must be a "
            f"multiple of 4, got {latent_dim}."
        )
    weights = dict(
        kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.1),
        bias_initializer=keras.initializers.Constant(0.1),
    )
    latent = keras.Input(shape=(latent_dim,), name="latent")
    x = keras.layers.Reshape((2, 2, latent_dim // 4), name="reshape")(latent)
    x = keras.layers.ReLU(name="relu_0")(x)
    # 'same' padding with output_padding 0 gives 2 -> 3, with 1 gives 3 -> 6 and 6 -> 12.
    for index, (width, output_padding) in enumerate(zip(filters, (0, 1, 1)), start=1):
        x = keras.layers.Conv2DTranspose(
            width, kernel_size, strides=2, padding="same", output_padding=output_padding,
            name=f"deconv_{index}", **weights,
        )(x)
        x = keras.layers.BatchNormalization(
            momentum=0.999, epsilon=0.001, name=f"batch_norm_{index}"
        )(x)
        x = keras.layers.ReLU(name=f"relu_{index}")(x)
    # 'valid' padding: (12 - 1) * 2 + 5 = 27, plus output_padding 1 gives 28.
    x = keras.layers.Conv2DTranspose(
        IMAGE_SHAPE[-1], kernel_size, strides=2, padding="valid", output_padding=1,
        name="deconv_4", **weights,
    )(x)
    image = keras.layers.Activation("tanh", name="image")(x)
    if tuple(image.shape[1:]) != IMAGE_SHAPE:
        raise ValueError(
            f"kernel_size {kernel_size} gives images of shape {tuple(image.shape[1:])} in the "
            "classic generator; use kernel_size=5."
        )
    return keras.Model(latent, image, name=name or "classic_generator")


def _recommended_generator(latent_dim, filters, kernel_size, name, conditional):
    weights = dict(kernel_initializer=keras.initializers.RandomNormal(stddev=0.02))
    projected, upsampled = filters
    latent = keras.Input(shape=(latent_dim,), name="latent")
    inputs, x = conditioning.generator_inputs(latent, conditional)
    x = keras.layers.Dense(7 * 7 * projected, use_bias=False, name="project", **weights)(x)
    x = keras.layers.BatchNormalization(name="batch_norm_0")(x)
    x = keras.layers.ReLU(name="relu_0")(x)
    x = keras.layers.Reshape((7, 7, projected), name="reshape")(x)
    x = keras.layers.Conv2DTranspose(
        upsampled, kernel_size, strides=2, padding="same", use_bias=False, name="deconv_1",
        **weights,
    )(x)
    x = keras.layers.BatchNormalization(name="batch_norm_1")(x)
    x = keras.layers.ReLU(name="relu_1")(x)
    x = keras.layers.Conv2DTranspose(
        IMAGE_SHAPE[-1], kernel_size, strides=2, padding="same", name="deconv_2", **weights
    )(x)
    image = keras.layers.Activation("tanh", name="image")(x)
    return keras.Model(inputs, image, name=name or "recommended_generator")


def dcgan_discriminator(filters=None, hidden_units=None, kernel_size=None, negative_slope=None,
                        preset="recommended", name=None, conditional=False, minibatch_std=False):
    """Convolutional discriminator: image ``(N, 28, 28, 1)`` -> logit ``(N, 1)``.

    ``preset="classic"`` (the DCGAN write-up, modelled on TensorFlow's MNIST CNN): 5x5 conv
    with 8 filters, ReLU, 2x2 average pool -> 5x5 conv with 16 filters, ReLU, 2x2 average pool
    -> dense 32 ReLU -> dense 1; weights truncated normal (stddev 0.02), biases zero.

    ``preset="recommended"`` (ours, DCGAN guidelines): two 4x4 stride-2 convolutions with 32
    and 64 filters, each followed by LeakyReLU(0.2), then a dense logit; no batch norm and no
    pooling, so it also suits the Wasserstein gradient penalty; weights normal (stddev 0.02).
    ``hidden_units > 0`` adds a dense LeakyReLU layer before the logit. ``minibatch_std`` adds
    a minibatch standard deviation channel after the convolutions (``layers.MinibatchStdDev``,
    Karras et al., 2018): the discriminator then sees how varied each group of 4 images is.

    ``filters`` sets the two convolution widths; the numbers behind the recommended ones are in
    ``dcgan_generator``'s docstring.
    """
    values = _resolve(
        _DCGAN,
        preset,
        dict(
            discriminator_filters=filters,
            hidden_units=hidden_units,
            kernel_size=kernel_size,
            negative_slope=negative_slope,
        ),
    )
    filters = _check_filters("filters", values["discriminator_filters"], 2)
    _check_positive("kernel_size", values["kernel_size"])
    _check_slope(values["negative_slope"])
    hidden_units = values["hidden_units"]
    # The recommended discriminator takes 0 for "no hidden dense layer".
    if not (preset == "recommended" and hidden_units == 0):
        _check_positive("hidden_units", hidden_units)
    if preset == "classic":
        return _classic_discriminator(filters, hidden_units, values["kernel_size"], name,
                                      conditional)
    return _recommended_discriminator(
        filters, hidden_units, values["kernel_size"], values["negative_slope"], name, conditional,
        minibatch_std,
    )


def _classic_discriminator(filters, hidden_units, kernel_size, name, conditional):
    weights = dict(kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02))
    image = keras.Input(shape=IMAGE_SHAPE, name="image")
    x = image
    for index, width in enumerate(filters, start=1):
        x = keras.layers.Conv2D(
            width, kernel_size, padding="same", name=f"conv_{index}", **weights
        )(x)
        x = keras.layers.ReLU(name=f"relu_{index}")(x)
        x = keras.layers.AveragePooling2D(2, padding="same", name=f"pool_{index}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(hidden_units, name="hidden", **weights)(x)
    x = keras.layers.ReLU(name="hidden_relu")(x)
    inputs, logit = conditioning.logit(image, x, conditional, **weights)
    return keras.Model(inputs, logit, name=name or "classic_discriminator")


def _recommended_discriminator(filters, hidden_units, kernel_size, negative_slope, name,
                               conditional, minibatch_std=False):
    weights = dict(kernel_initializer=keras.initializers.RandomNormal(stddev=0.02))
    image = keras.Input(shape=IMAGE_SHAPE, name="image")
    x = image
    for index, width in enumerate(filters, start=1):
        x = keras.layers.Conv2D(
            width, kernel_size, strides=2, padding="same", name=f"conv_{index}", **weights
        )(x)
        x = keras.layers.LeakyReLU(negative_slope=negative_slope, name=f"leaky_relu_{index}")(x)
    if minibatch_std:
        x = layers.MinibatchStdDev(name="minibatch_std")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    if hidden_units:
        x = keras.layers.Dense(hidden_units, name="hidden", **weights)(x)
        x = keras.layers.LeakyReLU(negative_slope=negative_slope, name="hidden_leaky_relu")(x)
    inputs, logit = conditioning.logit(image, x, conditional, **weights)
    return keras.Model(inputs, logit, name=name or "recommended_discriminator")
