"""gan_mnist.layers: the minibatch standard deviation against NumPy, and the option that uses it."""

import numpy as np
import pytest

from gan_mnist import RunConfig, build_gan, layers, models, set_seed
from gan_mnist.backend import keras


def reference(features, group_size=4):
    """Karras et al.'s minibatch standard deviation, written with NumPy loops."""
    count = len(features)
    group = min(group_size, count)
    groups = count // group
    out = np.empty(features.shape[:-1] + (features.shape[-1] + 1,), np.float32)
    out[..., :-1] = features
    for index in range(count):
        members = features[index % groups :: groups]  # Image i is in group i % (N / group).
        deviation = np.sqrt(members.var(axis=0) + 1e-8)
        out[index, ..., -1] = deviation.mean()
    return out


@pytest.mark.parametrize("count, group_size", [(8, 4), (12, 4), (3, 4), (6, 2)])
def test_minibatch_std_matches_numpy(count, group_size):
    features = np.random.default_rng(count).normal(size=(count, 7, 7, 5)).astype(np.float32)
    found = keras.ops.convert_to_numpy(layers.MinibatchStdDev(group_size)(features))
    np.testing.assert_allclose(found, reference(features, group_size), rtol=1e-5, atol=1e-6)


def test_copies_get_a_smaller_channel_than_varied_images():
    rng = np.random.default_rng(0)
    varied = rng.normal(size=(8, 7, 7, 3)).astype(np.float32)
    copies = np.repeat(varied[:1], 8, axis=0) + 0.01 * varied
    layer = layers.MinibatchStdDev()
    assert (keras.ops.convert_to_numpy(layer(copies))[..., -1].max()
            < 0.1 * keras.ops.convert_to_numpy(layer(varied))[..., -1].min())


def test_the_option_adds_the_layer_and_trains(tmp_path):
    config = RunConfig.from_preset("recommended", minibatch_std=True, conditional=True, steps=2,
                                   batch_size=8, steps_per_execution=1)
    set_seed(0)
    gan = build_gan(config)
    assert "minibatch_std" in [layer.name for layer in gan.discriminator.layers]
    images = np.random.default_rng(0).integers(0, 256, (16, 28, 28), dtype=np.uint8)
    gan.fit(images, np.arange(16) % 10, batch_size=8, steps_per_epoch=2)
    assert np.isfinite(gan.step_history["d_loss"]).all()
    path = tmp_path / "discriminator.keras"
    gan.discriminator.save(path)
    again = keras.saving.load_model(path, safe_mode=True)
    batch = [np.zeros((4, 28, 28, 1), np.float32), np.arange(4)]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(again(batch)),
                               keras.ops.convert_to_numpy(gan.discriminator(batch)), atol=1e-6)


def test_bad_settings_are_clear():
    with pytest.raises(ValueError, match="group_size"):
        layers.MinibatchStdDev(1)
    with pytest.raises(ValueError, match="minibatch_std"):
        RunConfig.from_preset("classic", minibatch_std=True)
    with pytest.raises(ValueError, match="minibatch_std must be True or False"):
        RunConfig.from_preset("recommended", minibatch_std=1)
    with pytest.raises(ValueError, match="minibatch_std"):
        models.build("vanilla", minibatch_std=True)
