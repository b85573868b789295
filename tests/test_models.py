"""Tests of the gan_mnist.models builders: shapes, ranges, sizes, fidelity and bad arguments."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_mnist import RunConfig, models
from gan_mnist.seeding import set_seed

GENERATORS = {
    "vanilla": models.mlp_generator,
    "leaky": models.mlp_generator,
    "classic": models.dcgan_generator,
    "recommended": models.dcgan_generator,
}
DISCRIMINATORS = {
    "vanilla": models.mlp_discriminator,
    "leaky": models.mlp_discriminator,
    "classic": models.dcgan_discriminator,
    "recommended": models.dcgan_discriminator,
}


def latent_batch(size, latent_dim=100, scale=1.0, seed=0):
    return (scale * np.random.default_rng(seed).normal(size=(size, latent_dim))).astype("float32")


@pytest.mark.parametrize("preset", models.PRESETS)
def test_builders_give_images_and_logits_with_names(preset):
    generator, discriminator = models.build(preset)
    assert generator.name == f"{preset}_generator"
    assert discriminator.name == f"{preset}_discriminator"
    images = generator(latent_batch(3), training=False)
    assert images.shape == (3, 28, 28, 1)
    assert images.dtype == tf.float32
    logits = discriminator(images, training=False)
    assert logits.shape == (3, 1)


def test_mlp_defaults_are_the_vanilla_preset_and_dcgan_defaults_the_recommended_one():
    assert models.mlp_generator().name == "vanilla_generator"
    assert models.mlp_discriminator().name == "vanilla_discriminator"
    assert models.dcgan_generator().name == "recommended_generator"
    assert models.dcgan_discriminator().name == "recommended_discriminator"


@pytest.mark.parametrize("preset", ["vanilla", "leaky"])
def test_mlp_parameter_counts_match_the_write_ups(preset):
    # G: 100*128 + 128 + 128*784 + 784; D: 784*128 + 128 + 128 + 1.
    generator, discriminator = models.build(preset)
    assert generator.count_params() == 114_064
    assert discriminator.count_params() == 100_609


def test_mlp_knobs_change_the_sizes():
    generator = models.mlp_generator(latent_dim=64, hidden_units=256)
    discriminator = models.mlp_discriminator(hidden_units=32)
    assert generator.count_params() == 64 * 256 + 256 + 256 * 784 + 784
    assert discriminator.count_params() == 784 * 32 + 32 + 32 + 1
    assert generator(latent_batch(2, 64)).shape == (2, 28, 28, 1)


@pytest.mark.parametrize(
    "preset, low, high",
    [
        ("vanilla", 0.0, 1.0),
        ("leaky", -1.0, 1.0),
        ("classic", -1.0, 1.0),
        ("recommended", -1.0, 1.0),
    ],
)
def test_generator_outputs_stay_in_the_preset_value_range(preset, low, high):
    assert RunConfig.from_preset(preset).value_range == (low, high)
    generator = GENERATORS[preset](preset=preset)
    # Large latents push the output activation into saturation.
    images = generator(latent_batch(16, scale=50.0), training=True).numpy()
    assert images.min() >= low and images.max() <= high
    # Both halves of the range are reached, so the activation is the one named.
    assert images.min() < (low + high) / 2 < images.max()


def test_mlp_hidden_activations_are_relu_and_leaky_relu():
    inputs = tf.constant([[-2.0, 3.0]])
    vanilla = models.mlp_generator().get_layer("hidden_activation")(inputs).numpy()
    leaky = models.mlp_generator(preset="leaky").get_layer("hidden_activation")(inputs).numpy()
    np.testing.assert_allclose(vanilla, [[0.0, 3.0]])
    np.testing.assert_allclose(leaky, [[-0.02, 3.0]], rtol=1e-6)
    discriminator = models.mlp_discriminator(preset="leaky")
    np.testing.assert_allclose(
        discriminator.get_layer("hidden_activation")(inputs).numpy(), [[-0.02, 3.0]], rtol=1e-6
    )


def test_mlp_weights_are_glorot_uniform_with_zero_biases():
    generator = models.mlp_generator()
    for layer_name, fan_in, fan_out in [("hidden", 100, 128), ("pixels", 128, 784)]:
        kernel, bias = generator.get_layer(layer_name).get_weights()
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        assert np.abs(kernel).max() <= limit
        np.testing.assert_allclose(kernel.std(), limit / np.sqrt(3.0), rtol=0.1)
        assert not bias.any()


def shapes_of(model, kind):
    """The output shapes (without the batch axis) of a model's layers of one kind, in order."""
    return [tuple(layer.output.shape[1:]) for layer in model.layers if isinstance(layer, kind)]


def test_classic_generator_shape_sequence():
    # The write-up's 2 -> 3 -> 6 -> 12 -> 28: the noise reshaped to 2x2x25, four transposed
    # convolutions, batch norm (TF1's momentum) after each hidden one.
    generator = models.dcgan_generator(preset="classic")
    assert shapes_of(generator, keras.layers.Reshape) == [(2, 2, 25)]
    assert shapes_of(generator, keras.layers.Conv2DTranspose) == [
        (3, 3, 256), (6, 6, 128), (12, 12, 64), (28, 28, 1)
    ]
    norms = [layer for layer in generator.layers
             if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) == 3 and all(norm.momentum == pytest.approx(0.999) for norm in norms)


def test_classic_generator_runs_the_write_ups_conv2d_transpose():
    """Each transposed convolution equals tf.nn.conv2d_transpose with the write-up's shapes."""
    generator = models.dcgan_generator(preset="classic")
    latent = latent_batch(2)
    output_shapes = {1: (3, 3, 256), 2: (6, 6, 128), 3: (12, 12, 64), 4: (28, 28, 1)}
    inputs = {1: "relu_0", 2: "relu_1", 3: "relu_2", 4: "relu_3"}
    for index, shape in output_shapes.items():
        probe = keras.Model(
            generator.input,
            [
                generator.get_layer(inputs[index]).output,
                generator.get_layer(f"deconv_{index}").output,
            ],
        )
        layer_input, layer_output = probe(latent, training=True)
        kernel, bias = generator.get_layer(f"deconv_{index}").get_weights()
        expected = tf.nn.conv2d_transpose(
            layer_input,
            kernel,
            output_shape=(2, *shape),
            strides=(1, 2, 2, 1),
            padding="VALID" if index == 4 else "SAME",
        ) + bias
        np.testing.assert_allclose(layer_output.numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)


def test_classic_generator_reshapes_the_noise_without_a_projection():
    generator = models.dcgan_generator(preset="classic")
    latent = latent_batch(2)
    relu_0 = keras.Model(generator.input, generator.get_layer("relu_0").output)(latent)
    np.testing.assert_array_equal(relu_0.numpy(), np.maximum(latent, 0).reshape(2, 2, 2, 25))


def test_classic_weights_follow_the_write_up():
    generator = models.dcgan_generator(preset="classic")
    for index in range(1, 5):
        kernel, bias = generator.get_layer(f"deconv_{index}").get_weights()
        # Truncated normal: redrawn beyond two standard deviations (0.1).
        assert np.abs(kernel).max() <= 0.2
        np.testing.assert_allclose(bias, 0.1)
    discriminator = models.dcgan_discriminator(preset="classic")
    for layer_name in ["conv_1", "conv_2", "hidden", "logit"]:
        kernel, bias = discriminator.get_layer(layer_name).get_weights()
        assert np.abs(kernel).max() <= 0.04
        assert not bias.any()


def test_classic_discriminator_shapes_and_size():
    discriminator = models.dcgan_discriminator(preset="classic")
    assert shapes_of(discriminator, keras.layers.Conv2D) == [(28, 28, 8), (14, 14, 16)]
    assert shapes_of(discriminator, keras.layers.AveragePooling2D) == [(14, 14, 8), (7, 7, 16)]
    assert shapes_of(discriminator, keras.layers.Dense) == [(32,), (1,)]
    # conv 5*5*1*8 + 8, conv 5*5*8*16 + 16, dense 784*32 + 32, dense 32 + 1.
    assert discriminator.count_params() == 208 + 3216 + 25_120 + 33
    # The 2x2 pool averages: a constant image gives a constant pooled map.
    pooled = keras.Model(discriminator.input, discriminator.get_layer("pool_1").output)
    conv = keras.Model(discriminator.input, discriminator.get_layer("relu_1").output)
    image = np.random.default_rng(1).normal(size=(1, 28, 28, 1)).astype("float32")
    expected_pool = conv(image).numpy().reshape(1, 14, 2, 14, 2, 8).mean(axis=(2, 4))
    np.testing.assert_allclose(pooled(image).numpy(), expected_pool, rtol=1e-5, atol=1e-6)


def test_recommended_shapes_and_discriminator_without_batch_norm():
    generator, discriminator = models.build("recommended")
    assert shapes_of(generator, keras.layers.Reshape) == [(7, 7, 64)]
    assert shapes_of(generator, keras.layers.Conv2DTranspose) == [(14, 14, 32), (28, 28, 1)]
    assert shapes_of(discriminator, keras.layers.Conv2D) == [(14, 14, 32), (7, 7, 64)]
    # Without batch norm the critic scores each image on its own, even in training mode, as
    # the WGAN-GP penalty needs; the generator's batch norm mixes the images of a batch.
    images = generator(latent_batch(8), training=False)
    alone = discriminator(images[:1], training=True)
    # (atol: an unseeded logit can lie near 0, where float32 sums have no relative precision.)
    np.testing.assert_allclose(discriminator(images, training=True)[:1], alone, rtol=1e-5,
                               atol=1e-7)
    together = generator(latent_batch(8), training=True)[:1]
    assert not np.allclose(together, generator(latent_batch(1), training=True), atol=1e-4)


def test_dcgan_knobs_change_the_widths():
    generator = models.dcgan_generator(filters=(16, 8), latent_dim=32)
    discriminator = models.dcgan_discriminator(filters=(8, 16), hidden_units=10)
    assert tuple(generator.get_layer("reshape").output.shape) == (None, 7, 7, 16)
    assert tuple(generator.get_layer("deconv_1").output.shape) == (None, 14, 14, 8)
    assert tuple(discriminator.get_layer("hidden").output.shape) == (None, 10)
    assert discriminator(generator(latent_batch(2, 32))).shape == (2, 1)
    classic = models.dcgan_generator(preset="classic", latent_dim=64, filters=(32, 16, 8))
    assert tuple(classic.get_layer("relu_0").output.shape) == (None, 2, 2, 16)
    assert classic(latent_batch(2, 64)).shape == (2, 28, 28, 1)


def all_weights(model):
    return [weight.numpy() for weight in model.weights]


@pytest.mark.parametrize(
    "builder, preset",
    [(GENERATORS[preset], preset) for preset in models.PRESETS]
    + [(DISCRIMINATORS[preset], preset) for preset in models.PRESETS],
)
def test_builders_are_deterministic_under_set_seed(builder, preset):
    set_seed(5)
    first = all_weights(builder(preset=preset))
    set_seed(5)
    second = all_weights(builder(preset=preset))
    set_seed(6)
    third = all_weights(builder(preset=preset))
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, c) for a, c in zip(first, third))


def test_build_takes_the_widths_of_a_run_config():
    generator, discriminator = models.build("vanilla", latent_dim=8, generator_widths=(32,),
                                            discriminator_widths=(16,))
    assert generator.count_params() == 8 * 32 + 32 + 32 * 784 + 784
    assert discriminator.count_params() == 784 * 16 + 16 + 16 + 1
    generator, discriminator = models.build("recommended", generator_widths=(16, 8),
                                            discriminator_widths=(8, 16))
    assert generator.get_layer("deconv_1").filters == 8
    assert discriminator.get_layer("conv_2").filters == 16


@pytest.mark.parametrize(
    "builder, arguments, message",
    [
        (models.mlp_generator, dict(preset="classic"), "Valid values: vanilla, leaky"),
        (models.mlp_discriminator, dict(preset="dcgan"), "Valid values: vanilla, leaky"),
        (models.dcgan_generator, dict(preset="vanilla"), "Valid values: classic, recommended"),
        (models.dcgan_discriminator, dict(preset="leaky"), "Valid values: classic, recommended"),
        (models.mlp_generator, dict(latent_dim=0), "latent_dim must be a positive integer"),
        (models.mlp_generator, dict(latent_dim=-5), "latent_dim must be a positive integer"),
        (models.mlp_generator, dict(latent_dim=10.0), "latent_dim must be a positive integer"),
        (models.mlp_generator, dict(latent_dim=True), "latent_dim must be a positive integer"),
        (models.mlp_generator, dict(hidden_units=0), "hidden_units must be a positive integer"),
        (models.mlp_discriminator, dict(hidden_units=-1), "hidden_units must be a positive"),
        (models.mlp_generator, dict(hidden_activation="tanh"), "Valid values: relu, leaky_relu"),
        (models.mlp_discriminator, dict(hidden_activation="elu"), "Valid values: relu, leaky_relu"),
        (models.mlp_generator, dict(output_activation="relu"), "Valid values: sigmoid, tanh"),
        (models.mlp_generator, dict(negative_slope=1.5), r"negative_slope must be .* \[0, 1\)"),
        (models.dcgan_generator, dict(latent_dim=0), "latent_dim must be a positive integer"),
        (models.dcgan_generator, dict(filters=(64,)), "sequence of 2 positive integers"),
        (models.dcgan_generator, dict(filters=(64, 0)), "filters must be a positive integer"),
        (models.dcgan_generator, dict(preset="classic", filters=(8, 8)), "sequence of 3"),
        (models.dcgan_generator, dict(preset="classic", latent_dim=10), "multiple of 4"),
        (models.dcgan_generator, dict(preset="classic", kernel_size=3), "use kernel_size=5"),
        (models.dcgan_generator, dict(kernel_size=0), "kernel_size must be a positive integer"),
        (models.dcgan_discriminator, dict(filters=32), "sequence of 2 positive integers"),
        (models.dcgan_discriminator, dict(hidden_units=-1), "positive integer"),
        (models.dcgan_discriminator, dict(preset="classic", hidden_units=0), "positive integer"),
        (models.dcgan_discriminator, dict(negative_slope=-0.2), "negative_slope"),
        (models.build, dict(preset="big"), "Valid values: vanilla, leaky, classic, recommended"),
        (models.build, dict(preset="vanilla", generator_widths=(3, 4)), "one hidden width"),
    ],
)
def test_bad_arguments_raise_value_error(builder, arguments, message):
    with pytest.raises(ValueError, match=message):
        builder(**arguments)


def test_every_public_builder_names_its_source():
    for function in (models.mlp_generator, models.mlp_discriminator):
        assert "write-up" in function.__doc__
    for function in (models.dcgan_generator, models.dcgan_discriminator):
        assert "DCGAN write-up" in function.__doc__ and "recommended" in function.__doc__
