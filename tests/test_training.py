"""Tests of the GAN, its engine and ``train``: exact step counts, reproducibility, resume."""

import csv
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_mnist import RunConfig, callbacks, data, history, losses, models, seeding, train
from gan_mnist.gan import GAN


@pytest.fixture(scope="module")
def digits():
    images, _ = data.load_mnist("test")
    return images[:512]


@pytest.fixture
def deterministic():
    """Let a test switch op determinism on, and switch it off again afterwards."""
    yield
    seeding.set_seed(0, deterministic=False)


def tiny_networks(latent_dim=16):
    generator = models.mlp_generator(latent_dim=latent_dim, hidden_units=16, preset="leaky")
    discriminator = models.mlp_discriminator(hidden_units=16, preset="leaky")
    return generator, discriminator


def tiny_gan(seed=0, **options):
    return GAN(*tiny_networks(), seed=seed, **options)


def tiny_config(**overrides):
    """The tiny MLP of ``tiny_networks`` as a run config."""
    settings = dict(latent_dim=16, generator_widths=(16,), discriminator_widths=(16,),
                    batch_size=16, steps=5, jit_compile=False)
    return RunConfig.from_preset("leaky", **dict(settings, **overrides))


def run_python(script, timeout=240):
    """Run a script in a fresh Python process; return the JSON its last output line holds."""
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True, text=True, timeout=timeout, env=environment,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------
# Arguments.


def test_bad_arguments_raise_value_error_before_training(digits, tmp_path):
    generator, discriminator = tiny_networks()
    with pytest.raises(ValueError, match="latent_dim is 100 but the generator takes"):
        GAN(generator, discriminator, latent_dim=100)
    with pytest.raises(ValueError, match="latent distribution"):
        GAN(generator, discriminator, latent="gaussian")
    with pytest.raises(ValueError, match="makes images of shape"):
        GAN(generator, keras.Sequential(
            [keras.Input((14, 14, 1)), keras.layers.Flatten(), keras.layers.Dense(1)]
        ))

    gan = GAN(generator, discriminator)
    with pytest.raises(ValueError, match="compile"):
        gan.fit(digits, steps_per_epoch=1)
    bad_compiles = [
        (dict(loss="wgan"), "Unknown loss"),
        (dict(d_steps=0), "d_steps"),
        (dict(d_steps=1.5), "d_steps"),
        (dict(gradient_penalty=-1.0), "gradient_penalty"),
        (dict(mode_seeking=-1.0), "mode_seeking"),
        (dict(mode_seeking=True), "mode_seeking"),
        (dict(steps_per_execution=0), "steps_per_execution"),
        (dict(jit_compile="yes"), "jit_compile"),
        (dict(d_optimizer="no_such_optimizer"), "d_optimizer"),
    ]
    for options, message in bad_compiles:
        with pytest.raises(ValueError, match=message):
            gan.compile(**options)
    shared = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="same object"):
        gan.compile(shared, shared)

    gan.compile()
    with pytest.raises(ValueError, match="shape"):
        gan.fit(np.zeros((10, 27, 27), np.uint8), steps_per_epoch=1)
    with pytest.raises(ValueError, match="larger than"):
        gan.fit(digits[:8], batch_size=16, steps_per_epoch=1)
    with pytest.raises(ValueError, match="run_dir"):
        train(tiny_config(snapshot_every=1), digits)
    with pytest.raises(ValueError, match="steps"):
        tiny_config(steps=0)
    assert int(gan.step_counter.numpy()) == 0
    assert gan.g_optimizer.iterations.numpy() == 0


# ---------------------------------------------------------------------------------------------
# Step counts, metrics and learning.


@pytest.mark.parametrize(
    "steps_per_execution, steps_per_epoch, epochs, d_steps",
    [(10, 64, 2, 1), (20, 7, 3, 2), (1, 5, 1, 1)],
)
def test_fit_runs_exactly_the_requested_number_of_steps(
    digits, steps_per_execution, steps_per_epoch, epochs, d_steps
):
    gan = tiny_gan()
    gan.compile(d_steps=d_steps, steps_per_execution=steps_per_execution, jit_compile=False)
    history = gan.fit(
        digits, batch_size=16, steps_per_epoch=steps_per_epoch, epochs=epochs, verbose=0
    )
    total = steps_per_epoch * epochs
    assert int(gan.step_counter.numpy()) == total
    assert int(gan.g_optimizer.iterations.numpy()) == total
    assert int(gan.d_optimizer.iterations.numpy()) == total * d_steps
    assert gan.step_history["step"] == list(range(1, total + 1))
    assert all(len(values) == total for values in gan.step_history.values())
    assert len(history.history["d_loss"]) == epochs


def test_dataset_input_runs_exact_steps(digits):
    gan = tiny_gan()
    gan.compile(steps_per_execution=4)
    dataset = data.make_dataset(digits, batch_size=16, seed=0)
    gan.fit(dataset, steps_per_epoch=10, epochs=2, verbose=0)
    assert int(gan.step_counter.numpy()) == 20
    assert gan.step_history["step"] == list(range(1, 21))
    assert np.all(np.isfinite(gan.step_history["d_loss"]))


@pytest.mark.parametrize("loss", ["non_saturating", "minimax", "least_squares"])
def test_per_step_metrics_match_a_numpy_reference(digits, loss):
    # A discriminator that ignores its input and outputs the logit c makes every metric
    # computable by hand; learning rate 0 keeps it (and the generator) as it is.
    c = 0.7
    discriminator = keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Flatten(),
        keras.layers.Dense(
            1, kernel_initializer="zeros", bias_initializer=keras.initializers.Constant(c)
        ),
    ])
    gan = GAN(tiny_networks()[0], discriminator, seed=0)
    gan.compile(
        keras.optimizers.SGD(0.0), keras.optimizers.SGD(0.0), loss=loss, steps_per_execution=3
    )
    history = gan.fit(digits, batch_size=8, steps_per_epoch=5, verbose=0)

    def softplus(x):
        return np.log1p(np.exp(x))

    d_loss, g_loss = {
        "non_saturating": (softplus(-c) + softplus(c), softplus(-c)),
        "minimax": (softplus(-c) + softplus(c), -softplus(c)),
        "least_squares": (0.5 * (c - 1) ** 2 + 0.5 * c**2, 0.5 * (c - 1) ** 2),
    }[loss]
    probability = 1.0 / (1.0 + np.exp(-c))
    expected = dict(d_loss=d_loss, g_loss=g_loss, d_real=probability, d_fake=probability)
    for name, value in expected.items():
        np.testing.assert_allclose(gan.step_history[name], [value] * 5, rtol=1e-5)
        np.testing.assert_allclose(history.history[name], [value], rtol=1e-5)


def test_the_discriminator_learns_on_mnist(digits):
    seeding.set_seed(0, deterministic=False)
    generator, discriminator = models.build("vanilla")
    gan = GAN(generator, discriminator, value_range=(0.0, 1.0), seed=0)
    gan.compile()
    gan.fit(digits, batch_size=64, steps_per_epoch=300, verbose=0)
    d_real = np.mean(gan.step_history["d_real"][-50:])
    d_fake = np.mean(gan.step_history["d_fake"][-50:])
    start_gap = abs(gan.step_history["d_real"][0] - gan.step_history["d_fake"][0])
    assert d_real > d_fake + 0.1
    assert d_real - d_fake > start_gap


def test_jit_compile_auto_uses_xla_for_mlps_only(deterministic):
    seeding.set_seed(0, deterministic=False)
    mlp = tiny_gan()
    mlp.compile()
    dcgan = GAN(*models.build("recommended"), latent="normal")
    dcgan.compile()
    assert mlp.jit_compile is True and dcgan.jit_compile is False
    seeding.set_seed(0)
    mlp.compile()
    assert mlp.jit_compile is False


def test_jit_compile_auto_uses_xla_for_every_network_on_a_gpu(monkeypatch, deterministic):
    # No GPU here: the device list is faked, which is all the choice reads.
    seeding.set_seed(0, deterministic=False)
    devices = tf.config.list_logical_devices

    def with_a_gpu(kind=None):
        return ["/GPU:0"] if kind == "GPU" else devices(kind)

    monkeypatch.setattr(tf.config, "list_logical_devices", with_a_gpu)
    dcgan = GAN(*models.build("recommended"), latent="normal")
    dcgan.compile()
    assert dcgan.jit_compile is True


# ---------------------------------------------------------------------------------------------
# Reproducibility.


def losses_of_a_run(digits, seed, steps_per_execution=10, pause=None):
    seeding.set_seed(seed)
    gan = tiny_gan(seed=None)
    gan.compile(steps_per_execution=steps_per_execution)
    gan.fit(digits, batch_size=16, steps_per_epoch=12, verbose=0)
    if pause is not None:
        pause(gan)
    gan.fit(digits, batch_size=16, steps_per_epoch=12, verbose=0)
    return gan.step_history


def test_same_seed_gives_identical_losses_and_different_seeds_differ(digits, deterministic):
    first = losses_of_a_run(digits, 0)
    again = losses_of_a_run(digits, 0, steps_per_execution=7)
    other = losses_of_a_run(digits, 1)
    assert first == again
    assert first["d_loss"] != other["d_loss"]


def test_generate_is_repeatable_and_does_not_disturb_training(digits, deterministic):
    def look(gan):
        images = gan.generate(8, seed=5)
        assert images.shape == (8, 28, 28, 1)
        assert np.array_equal(images, gan.generate(8, seed=5))
        assert not np.array_equal(images, gan.generate(8, seed=6))
        latents = gan.sample_latent(1000, seed=1)
        assert latents.shape == (1000, 16) and latents.dtype == np.float32
        assert latents.min() >= -1.0 and latents.max() <= 1.0 and latents.min() < -0.99
        gan.sample_latent(3)

    assert losses_of_a_run(digits, 0, pause=look) == losses_of_a_run(digits, 0)
    normal = GAN(*tiny_networks(), latent="normal")
    latents = normal.sample_latent(4000, seed=0)
    assert abs(latents.mean()) < 0.01 and abs(latents.std() - 1.0) < 0.01


# ---------------------------------------------------------------------------------------------
# The one-call helper, step callbacks, divergence.


def test_train_writes_frames_history_and_checkpoints_at_exact_steps(digits, tmp_path):
    seen = []

    class Watch(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(int(self.model.step_counter.numpy()))

    config = tiny_config(steps=25, snapshot_every=10, checkpoint_every=5, keep_checkpoints=2)
    result = train(config, digits, tmp_path, callbacks=[Watch()])
    assert seen == [5, 10, 15, 20, 25]  # Executions end on every step a callback asked for.
    assert result.steps == 25 and result.resumed_from is None
    run = result.run
    frames = sorted(path.name for path in run.frames_dir.iterdir())
    assert frames == ["step_000000.png", "step_000010.png", "step_000020.png", "step_000025.png"]
    with open(run.history_path, newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert list(rows[0]) == ["step", "d_loss", "g_loss", "d_real", "d_fake"]
    assert [int(row["step"]) for row in rows] == list(range(1, 26))
    assert [float(row["g_loss"]) for row in rows] == result.history["g_loss"]
    checkpoints = sorted(path.name for path in run.checkpoints_dir.glob("ckpt-*.index"))
    assert checkpoints == ["ckpt-20.index", "ckpt-25.index"]
    assert run.config() == config and run.latest_step() == 25
    assert {"progress.gif", "losses.png", "samples.png"} <= set(result.outputs)
    assert all(path.is_file() for path in (run.gif_path, run.losses_path, run.samples_path))

    # The same folder again is refused, and nothing in it is touched ...
    before = run.history_path.read_bytes()
    with pytest.raises(ValueError, match="not empty.*resume=True.*overwrite=True"):
        train(tiny_config(steps=4), digits, tmp_path)
    assert run.history_path.read_bytes() == before and run.latest_step() == 25
    # ... unless the run is to be overwritten: then it replaces the earlier outputs.
    again = train(tiny_config(steps=4), digits, tmp_path, overwrite=True)
    assert not list(again.run.frames_dir.glob("*.png"))
    assert again.history["step"] == [1, 2, 3, 4]
    checkpoints = sorted(path.name for path in again.run.checkpoints_dir.glob("ckpt-*.index"))
    assert checkpoints == ["ckpt-4.index"]


def test_resume_refuses_other_settings_and_names_them(digits, tmp_path):
    train(tiny_config(steps=4), digits, tmp_path)
    with pytest.raises(ValueError, match=r"loss 'non_saturating' \(this run: 'hinge'\)"):
        train(tiny_config(steps=8, loss="hinge"), digits, tmp_path, resume=True)
    # More steps, other intervals and speed options are not "other settings".
    resumed = train(tiny_config(steps=8, checkpoint_every=2, steps_per_execution=3), digits,
                    tmp_path, resume=True)
    assert resumed.resumed_from == 4 and resumed.history["step"] == list(range(1, 9))
    assert resumed.run.record()["resumed_from"] == [4]


def test_divergence_stops_training_and_keeps_the_last_good_checkpoint(digits, tmp_path):
    class PoisonAfterStep20(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if int(self.model.step_counter.numpy()) == 20:
                kernel = self.model.discriminator.get_layer("logit").kernel
                kernel.assign(np.full(kernel.shape, np.nan, np.float32))

    expected = r"diverged at step 21: .*step 20\)"
    with pytest.raises(callbacks.DivergenceError, match=expected) as error:
        train(tiny_config(steps=40, checkpoint_every=5), digits, tmp_path,
              callbacks=[PoisonAfterStep20()])
    assert "d_loss = nan" in str(error.value)
    checkpoints = sorted(path.name for path in (tmp_path / "checkpoints").glob("ckpt-*.index"))
    assert checkpoints[-1] == "ckpt-20.index"
    steps = history.read_history(tmp_path / "history.csv")
    assert steps["step"][-1] == 25 and np.isnan(steps["d_loss"][20])


def test_train_takes_preset_settings(digits):
    config = RunConfig.from_preset("leaky", steps=3, batch_size=16, jit_compile=False)
    result = train(config, digits)
    gan = result.gan
    assert gan.latent == "uniform" and gan.value_range == (-1.0, 1.0)
    assert isinstance(gan.gan_loss, losses.NonSaturating) and gan.gan_loss.label_smoothing == 0.1
    assert np.isclose(float(gan.g_optimizer.learning_rate.numpy()), 0.002)
    assert result.history["step"] == [1, 2, 3] and result.run is None
    # train() releases the device copy of the images; fitting again makes a new one.
    gan.fit(digits, batch_size=16, steps_per_epoch=2, verbose=0)
    assert gan.step_history["step"] == [1, 2, 3, 4, 5]


def test_per_network_optimizer_settings_reach_each_network(digits):
    config = RunConfig.from_preset("recommended", g_learning_rate=1e-3, d_beta_1=0.0,
                                   d_beta_2=0.9, steps=1)
    gan = train(config, digits[:64]).gan
    assert np.isclose(float(gan.g_optimizer.learning_rate.numpy()), 1e-3)
    assert np.isclose(float(gan.d_optimizer.learning_rate.numpy()), 2e-4)
    assert (gan.d_optimizer.beta_1, gan.d_optimizer.beta_2) == (0.0, 0.9)
    assert (gan.g_optimizer.beta_1, gan.g_optimizer.beta_2) == (0.5, 0.999)


REFERENCES = json.loads((Path(__file__).parent / "data" / "reference_histories.json").read_text())


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_the_losses_equal_those_recorded_before_the_reshape(name, deterministic):
    # Recorded with the package of commit 935a9cd (the old `training.train`, seed 0, op
    # determinism on) on the first 2,048 test digits: the reshape must not change a number.
    preset, overrides = {
        "vanilla": ("vanilla", dict(steps=40)),
        "recommended": ("recommended", dict(steps=8)),
        "wgan_gp": ("recommended", dict(steps=3, loss="wasserstein", d_steps=5,
                                        gradient_penalty=10.0, learning_rate=1e-4)),
    }[name]
    images = data.load_mnist("test")[0][:2048]
    result = train(RunConfig.from_preset(preset, **overrides), images)
    for column, values in REFERENCES[name].items():
        np.testing.assert_allclose(result.history[column], values, rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------------------------------------
# Fresh processes: exact resume, MirroredStrategy.

RUN = """
    import json, sys
    from gan_mnist import RunConfig, data, train

    def run(steps, run_dir=None, resume=False):
        config = RunConfig.from_preset(
            "leaky", latent_dim=16, generator_widths=(16,), discriminator_widths=(16,),
            batch_size=16, steps=steps, jit_compile=False,
        )
        images = data.load_mnist("test")[0][:512]
        return train(config, images, run_dir, resume=resume)
"""


def test_resume_in_a_fresh_process_is_exact(tmp_path):
    straight_and_first_half = run_python(RUN + f"""
    straight = run(30)
    half = run(15, run_dir={str(tmp_path)!r})
    print(json.dumps(dict(straight=straight.history, half=half.history)))
    """)
    resumed = run_python(RUN + f"""
    resumed = run(30, run_dir={str(tmp_path)!r}, resume=True)
    print(json.dumps(dict(history=resumed.history, resumed_from=resumed.resumed_from)))
    """)
    straight = straight_and_first_half["straight"]
    assert straight_and_first_half["half"]["d_loss"] == straight["d_loss"][:15]
    assert resumed["resumed_from"] == 15
    assert resumed["history"] == straight  # Rows 1-15 read back from the file, 16-30 trained.


def test_mirrored_strategy_on_two_cpus_matches_one_device():
    result = run_python("""
        import json
        import numpy as np
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        two_devices = [tf.config.LogicalDeviceConfiguration()] * 2
        tf.config.set_logical_device_configuration(cpu, two_devices)
        import keras
        from gan_mnist import data, models, seeding
        from gan_mnist.gan import GAN

        images = data.load_mnist("test")[0][:256]

        def run(strategy):
            seeding.set_seed(0)
            with strategy.scope():
                generator = models.mlp_generator(latent_dim=16, hidden_units=16, preset="leaky")
                discriminator = models.mlp_discriminator(hidden_units=16, preset="leaky")
                gan = GAN(generator, discriminator, seed=3)
                gan.compile()
            gan.fit(images, batch_size=32, steps_per_epoch=6, epochs=2, verbose=0)
            return gan

        one = run(tf.distribute.get_strategy())
        two = run(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
        print(json.dumps(dict(
            replicas=two.distribute_strategy.num_replicas_in_sync,
            steps=int(two.step_counter.numpy()),
            one=one.step_history, two=two.step_history,
        )))
    """)
    assert result["replicas"] == 2 and result["steps"] == 12
    for name in history.RECORDS:
        np.testing.assert_allclose(result["two"][name], result["one"][name], rtol=1e-4, atol=1e-6)
