"""Tests of the training callbacks: snapshots, checkpoints, the divergence guard."""

import math

import imageio.v3 as iio
import keras
import numpy as np
import pytest

from gan_mnist import callbacks, checkpoints, models, visualize
from gan_mnist.gan import GAN
from helpers import FakeGAN


def tiny_gan(seed=0):
    generator = models.mlp_generator(latent_dim=8, hidden_units=8, preset="leaky")
    discriminator = models.mlp_discriminator(hidden_units=8, preset="leaky")
    return GAN(generator, discriminator, seed=seed)


def test_snapshots_save_the_fixed_latent_batch_as_a_grid(tmp_path):
    gan = tiny_gan()
    snapshots = callbacks.Snapshots(tmp_path / "frames", every=5, seed=3)
    snapshots.set_model(gan)
    snapshots.on_train_begin()
    assert [path.name for path in snapshots.paths] == ["step_000000.png"]
    frame = iio.imread(snapshots.paths[0])
    expected = visualize.tile_images(gan.generate(16, seed=3), value_range=(-1.0, 1.0))
    assert frame.shape == (4 * 28 + 6, 4 * 28 + 6)
    assert np.array_equal(frame, expected)
    assert not list((tmp_path / "frames").glob(".*"))  # No temporary files left behind.

    with pytest.raises(ValueError, match="every"):
        callbacks.Snapshots(tmp_path, every=0)
    assert [step for step, _ in callbacks.frame_steps(tmp_path / "frames")] == [0]


def test_snapshots_read_the_gan_s_own_value_range(tmp_path):
    # A sigmoid generator's images are in [0, 1]: grey levels come from that range, not a guess.
    generator = models.mlp_generator(latent_dim=8, hidden_units=8, preset="vanilla")
    discriminator = models.mlp_discriminator(hidden_units=8, preset="vanilla")
    gan = GAN(generator, discriminator, value_range=(0.0, 1.0), seed=0)
    latents = gan.sample_latent(4, seed=0)
    grid = callbacks.snapshot_grid(gan, latents)
    expected = visualize.tile_images(gan.generator(latents).numpy(), value_range=(0.0, 1.0))
    assert np.array_equal(grid, expected)


def test_checkpoints_keep_the_last_ones_and_restore_exactly(tmp_path):
    gan = tiny_gan()
    gan.compile(steps_per_execution=50)
    images = np.random.default_rng(0).uniform(-1, 1, (64, 28, 28, 1)).astype(np.float32)
    saver = checkpoints.Checkpoints(tmp_path, every=2, keep=2)
    gan.fit(images, batch_size=8, steps_per_epoch=7, verbose=0, callbacks=[saver])
    names = sorted(path.name for path in tmp_path.glob("ckpt-*.index"))
    assert names == ["ckpt-6.index", "ckpt-7.index"]  # Every 2 steps plus the end, last two kept.
    assert saver.last_saved == 7
    saved = [weight.numpy() for weight in gan.generator.weights + gan.discriminator.weights]
    moments = [variable.numpy() for variable in gan.d_optimizer.variables]

    restored = tiny_gan(seed=99)
    restored.compile(steps_per_execution=50)
    assert checkpoints.restore_latest(restored, tmp_path) == 7
    weights = restored.generator.weights + restored.discriminator.weights
    assert all(np.array_equal(a, b.numpy()) for a, b in zip(saved, weights))
    restored_moments = restored.d_optimizer.variables
    assert all(np.array_equal(a, b.numpy()) for a, b in zip(moments, restored_moments))
    assert int(restored.random_seed.numpy()) == int(gan.random_seed.numpy())
    assert checkpoints.restore_latest(restored, tmp_path / "empty") is None
    assert checkpoints.latest_step(tmp_path) == 7
    assert checkpoints.latest_step(tmp_path / "empty") is None


def test_checkpoints_are_never_written_after_a_nan(tmp_path):
    gan = tiny_gan()
    gan.compile()
    saver = checkpoints.Checkpoints(tmp_path, every=1)
    saver.set_model(gan)
    saver.on_train_begin()
    assert saver.save(0) is not None
    kernel = gan.discriminator.get_layer("logit").kernel
    kernel.assign(np.full(kernel.shape, np.nan, np.float32))
    gan.step_counter.assign(1)
    assert saver.save(1) is None
    kernel.assign(np.zeros(kernel.shape, np.float32))
    assert saver.save(2) is None  # Once diverged, always diverged.
    assert sorted(path.name for path in tmp_path.glob("ckpt-*.index")) == ["ckpt-0.index"]


def test_divergence_guard_names_the_first_bad_step():
    model = FakeGAN()
    guard = callbacks.DivergenceGuard()
    guard.set_model(model)
    model.run([(1.0, 1.0, 0.5, 0.5)] * 3)
    guard.on_train_batch_end(0)
    model.run([(1.0, 1.0, 0.5, 0.5), (math.nan, 1.0, 0.5, 0.5), (1.0, math.inf, 0.5, 0.5)])
    with pytest.raises(callbacks.DivergenceError, match=r"step 5: d_loss = nan"):
        guard.on_train_batch_end(1)
    assert model.stop_training


def test_make_checkpoint_holds_what_resuming_needs():
    gan = tiny_gan()
    gan.compile()
    checkpoint = checkpoints.make_checkpoint(gan)
    for name in ("generator", "discriminator", "d_optimizer", "g_optimizer", "step", "random_seed"):
        assert hasattr(checkpoint, name)
    assert isinstance(checkpoint.generator, keras.Model)
