"""Class-conditional GANs: label plumbing, digits on demand, the weight average, exact resume."""

import json
import os
import subprocess
import sys
import textwrap

import imageio.v3 as iio
import numpy as np
import pytest

from gan_mnist import GAN, Run, RunConfig, callbacks, conditioning, data, models, train
from gan_mnist.backend import tf

CONFIG = RunConfig.from_preset(
    "leaky", conditional=True, latent_dim=16, generator_widths=(32,), discriminator_widths=(32,),
    batch_size=32, steps=40, jit_compile=False,
)


@pytest.fixture(scope="module")
def digits():
    images, labels = data.load_mnist("test")
    return images[:1024], labels[:1024]


@pytest.mark.parametrize("preset", ["leaky", "vanilla", "recommended"])
def test_conditional_networks_take_a_label(preset):
    generator, discriminator = models.build(preset, conditional=True)
    assert conditioning.is_conditional(generator) and conditioning.is_conditional(discriminator)
    noise = tf.constant(np.zeros((3, 100), np.float32))
    labels = tf.constant([0, 4, 9], tf.int32)
    images = generator([noise, labels], training=False)
    assert images.shape == (3, 28, 28, 1)
    assert discriminator([images, labels], training=False).shape == (3, 1)
    # The projection term: the same image scores differently under different labels.
    other = tf.constant([1, 5, 2], tf.int32)
    scores = discriminator([images, labels]), discriminator([images, other])
    assert not np.allclose(*scores)
    with pytest.raises(ValueError, match="no conditional version"):
        models.dcgan_generator(preset="classic", conditional=True)


def test_bad_labels_raise_a_clear_value_error(digits):
    images, labels = digits
    gan = GAN(*models.build("leaky", conditional=True), seed=0)
    for bad, message in [
        (np.full(4, 10), "lie in 0-9"), (np.full(4, -1), "lie in 0-9"),
        (np.zeros(4, np.float32), "integers"), (np.zeros((4, 1), int), "shape"),
        (np.zeros(3, int), r"shape \(4,\)"),
    ]:
        with pytest.raises(ValueError, match=message):
            gan.generate(4, seed=0, labels=bad)
    gan.compile()
    with pytest.raises(ValueError, match="images and their labels"):
        gan.fit(images, steps_per_epoch=1, verbose=0)
    with pytest.raises(ValueError, match="lie in 0-9"):
        gan.fit(images, np.full(len(images), 11), steps_per_epoch=1, verbose=0)
    plain = GAN(*models.build("leaky"), seed=0)
    plain.compile()
    with pytest.raises(ValueError, match="not conditional"):
        plain.generate(4, labels=3)
    with pytest.raises(ValueError, match="not conditional"):
        plain.fit(images, labels, steps_per_epoch=1, verbose=0)
    with pytest.raises(ValueError, match="Only one of the networks"):
        GAN(models.mlp_generator(preset="leaky", conditional=True), models.mlp_discriminator())
    with pytest.raises(ValueError, match="labels"):
        train(CONFIG, images)


def test_digits_on_demand_differ_by_label_and_repeat_by_seed(digits):
    # The leaky MLP at its own widths (the tiny CONFIG saturates to black this early), long
    # enough for its small initial label embedding to grow into use.
    config = RunConfig.from_preset("leaky", conditional=True, steps=1000, jit_compile=False)
    gan = train(config, digits[0], labels=digits[1]).gan
    threes, sevens = gan.generate(16, seed=1, labels=3), gan.generate(16, seed=1, labels=7)
    assert threes.shape == (16, 28, 28, 1)
    # The same noise, another label: other digits.
    assert np.abs(threes - sevens).mean() > 0.02
    np.testing.assert_array_equal(threes, gan.generate(16, seed=1, labels=[3] * 16))
    assert gan.generate(10, seed=2).shape == (10, 28, 28, 1)
    np.testing.assert_array_equal(gan.generate(10, seed=2), gan.generate(10, seed=2))


def test_rows_of_digits_in_class_order():
    assert list(conditioning.digits_in_rows(20)) == [digit for digit in range(10) for _ in "ab"]
    assert np.bincount(conditioning.digits_in_rows(10_000)).tolist() == [1000] * 10


def test_same_seed_same_numbers_and_labels_drawn_like_the_data(digits):
    images, labels = digits
    first = train(CONFIG, images, labels=labels).history
    assert train(CONFIG, images, labels=labels).history == first
    skewed = np.where(np.arange(len(labels)) % 4 == 0, 1, 6)  # 25% ones, 75% sixes.
    gan = train(CONFIG.replace(steps=2, label_distribution="data"), images, labels=skewed).gan
    gan.fit(images, skewed, batch_size=32, steps_per_epoch=1, verbose=0)
    drawn = gan.fake_labels(tf.constant([3, 4], tf.int64), 4000).numpy()
    assert set(np.unique(drawn)) == {1, 6} and abs(np.mean(drawn == 1) - 0.25) < 0.03


def test_conditional_snapshots_show_one_row_per_digit(digits, tmp_path):
    config = CONFIG.replace(steps=10, snapshot_every=10)
    result = train(config, digits[0], tmp_path, labels=digits[1])
    grid = iio.imread(result.run.frames()[-1])
    assert grid.shape == (10 * 28 + 9 * 2, callbacks.CONDITIONAL_COLUMNS * 28 + 7 * 2)
    samples = iio.imread(result.run.samples_path)
    assert samples.ndim == 3 and result.outputs["samples.png"] == "100 digits"


def test_the_weight_average_trails_the_generator_and_resumes_exactly(digits, tmp_path):
    images, labels = digits
    config = CONFIG.replace(ema_decay=0.9, checkpoint_every=10)
    straight = train(config.replace(checkpoint_every=None), images, labels=labels)
    gan = straight.gan
    raw = gan.generate(8, seed=0, labels=2, raw=True)
    averaged = gan.generate(8, seed=0, labels=2)
    assert not np.allclose(raw, averaged, atol=1e-4)
    assert gan.sampler is gan.ema_generator

    train(config.replace(steps=20), images, tmp_path, labels=labels)
    resumed = train(config, images, tmp_path, labels=labels, resume=True)
    assert resumed.resumed_from == 20 and resumed.history == straight.history
    np.testing.assert_array_equal(resumed.gan.generate(8, seed=0, labels=2), averaged)
    reloaded, step = Run(tmp_path).load_gan()
    assert step == 40
    np.testing.assert_array_equal(reloaded.generate(8, seed=0, labels=2), averaged)
    np.testing.assert_array_equal(reloaded.generate(8, seed=0, labels=2, raw=True), raw)


def test_a_conditional_run_on_two_devices_matches_one():
    script = textwrap.dedent("""
        import json
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from gan_mnist import RunConfig, build_gan, data, seeding

        images, labels = data.load_mnist("test")
        config = RunConfig.from_preset("leaky", conditional=True, latent_dim=16,
                                       generator_widths=(16,), discriminator_widths=(16,))

        def run(strategy):
            seeding.set_seed(0)
            with strategy.scope():
                gan = build_gan(config)
            gan.fit(images[:256], labels[:256], batch_size=32, steps_per_epoch=6, verbose=0)
            return gan.step_history

        one = run(tf.distribute.get_strategy())
        two = run(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
        print(json.dumps(dict(one=one, two=two)))
    """)
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                               timeout=240, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    for name in ("d_loss", "g_loss", "d_real", "d_fake"):
        np.testing.assert_allclose(result["two"][name], result["one"][name], rtol=1e-4, atol=1e-6)


def test_mode_seeking_pairs_two_noises_with_one_label_and_resumes_exactly(digits, tmp_path):
    images, labels = digits
    config = CONFIG.replace(mode_seeking=1.0, checkpoint_every=10)
    gan = train(config.replace(steps=1, checkpoint_every=None), images, labels=labels).gan
    key = tf.constant([5, 6], tf.int64)
    _, paired = gan.fake_batch(key, 9, paired=True)
    _, unpaired = gan.fake_batch(key, 9)
    paired, unpaired = paired.numpy(), unpaired.numpy()
    np.testing.assert_array_equal(paired[:4], paired[4:8])
    np.testing.assert_array_equal(paired[:4], unpaired[:4])
    assert paired[8] == unpaired[8] and not np.array_equal(unpaired[:4], unpaired[4:8])

    straight = train(config.replace(checkpoint_every=None), images, labels=labels)
    plain = train(CONFIG, images, labels=labels)
    assert straight.history["g_loss"] != plain.history["g_loss"]
    train(config.replace(steps=20), images, tmp_path, labels=labels)
    resumed = train(config, images, tmp_path, labels=labels, resume=True)
    assert resumed.history == straight.history
    with pytest.raises(ValueError, match="mode_seeking"):
        train(CONFIG, images, tmp_path, labels=labels, resume=True)
