"""Tests of the training callbacks: snapshots, checkpoints, divergence guard, time budget."""

import math
import time

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


class FakeClock:
    """Stands in for the ``time`` module in ``gan_mnist.callbacks``: ``now`` is set by hand."""

    def __init__(self):
        self.now = 100.0

    def perf_counter(self):
        return self.now


class Stoppable:
    stop_training = False


def test_time_budget_stops_at_the_first_batch_end_past_the_budget(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(callbacks, "time", clock)
    budget = callbacks.TimeBudget(10)
    model = Stoppable()
    budget.set_model(model)
    budget.on_train_begin()
    budget.on_epoch_begin(0)
    for batch, now in enumerate((102.0, 105.0, 109.9)):
        clock.now = now
        budget.on_train_batch_end(batch)
        assert not model.stop_training
    budget.on_epoch_begin(1)  # Steps carry over epochs; Keras counts batches per epoch.
    clock.now = 110.0
    budget.on_train_batch_end(0)
    assert model.stop_training and budget.exhausted
    assert budget.steps == 4 and budget.seconds == 10.0
    clock.now = 110.5
    budget.on_train_end()
    assert budget.seconds == 10.5  # The whole of fit, once it returns.


def test_time_budget_counts_steps_per_execution_and_ends_fit():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse", steps_per_execution=2)
    x, y = np.zeros((32, 4), np.float32), np.zeros((32, 1), np.float32)

    class Slow(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            time.sleep(0.05)

    budget = callbacks.TimeBudget(0.5)
    history = model.fit(x, y, batch_size=8, epochs=1_000, verbose=0, callbacks=[Slow(), budget])
    assert budget.exhausted and budget.seconds >= 0.5
    epochs = len(history.history["loss"])
    assert epochs < 1_000 and budget.steps % 2 == 0 and 0 < budget.steps <= 4 * epochs
    assert model.optimizer.iterations.numpy() == budget.steps

    unhurried = callbacks.TimeBudget(3600)
    model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[unhurried])
    assert not unhurried.exhausted and unhurried.steps == 12


def test_time_budget_counts_a_short_last_call_of_an_epoch_as_the_steps_it_ran():
    # 37 batches an epoch at 10 steps a call: each epoch ends with a call of 7 steps, which
    # Keras reports as if it ran 10.
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse", steps_per_execution=10)
    x, y = np.zeros((37 * 8, 4), np.float32), np.zeros((37 * 8, 1), np.float32)
    budget = callbacks.TimeBudget(3600)
    model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=[budget])
    assert budget.steps == model.optimizer.iterations.numpy() == 3 * 37


@pytest.mark.parametrize("seconds", [0, -1, math.inf, math.nan, True, "60", None])
def test_time_budget_refuses_a_bad_budget(seconds):
    with pytest.raises(ValueError, match="seconds must be a positive, finite number"):
        callbacks.TimeBudget(seconds)
