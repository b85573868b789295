"""The truncation trick: noise shrunk towards its mean, in ``latent``, ``GAN`` and ``sample``."""

import numpy as np
import pytest

from gan_mnist import GAN, RunConfig, cli, data, latent, models, train

BAD = [-0.1, 1.5, float("nan"), float("inf"), "0.5", True, None]


def tiny_gan(conditional=False, clusters=None, latent_kind="uniform"):
    networks = models.build("leaky", latent_dim=16, generator_widths=(32,),
                            discriminator_widths=(32,), conditional=clusters or conditional)
    return GAN(*networks, latent=latent_kind, seed=0, clusters=clusters)


@pytest.mark.parametrize("distribution", ["uniform", "normal"])
def test_truncation_shrinks_the_noise_towards_its_mean(distribution):
    drawn = latent.sample_latent(64, 16, distribution, seed=3)
    # 1 is today's sampling, bit for bit.
    same = latent.sample_latent(64, 16, distribution, seed=3, truncation=1.0)
    assert same.dtype == np.float32 and same.tobytes() == drawn.tobytes()
    half = latent.sample_latent(64, 16, distribution, seed=3, truncation=0.5)
    np.testing.assert_array_equal(half, drawn * np.float32(0.5))
    zero = latent.sample_latent(64, 16, distribution, seed=3, truncation=0)
    np.testing.assert_array_equal(zero, np.zeros_like(drawn))
    np.testing.assert_array_equal(latent.truncate(drawn, 0.25), drawn * np.float32(0.25))


@pytest.mark.parametrize("bad", BAD)
def test_a_bad_truncation_is_a_clear_value_error(bad):
    with pytest.raises(ValueError, match="truncation must be a number from 0 to 1"):
        latent.sample_latent(4, 16, seed=0, truncation=bad)
    with pytest.raises(ValueError, match="truncation must be a number from 0 to 1"):
        tiny_gan().generate(4, seed=0, truncation=bad)


def test_generate_with_truncation():
    gan = tiny_gan()
    drawn = gan.generate(16, seed=1)
    assert gan.generate(16, seed=1, truncation=1.0).tobytes() == drawn.tobytes()
    np.testing.assert_array_equal(gan.sample_latent(16, seed=1, truncation=0.5),
                                  gan.sample_latent(16, seed=1) * np.float32(0.5))
    # Truncation 0: every noise vector is the mean, so one digit.
    zero = gan.generate(16, seed=1, truncation=0.0)
    assert np.ptp(drawn, axis=0).max() > 0.01 and np.ptp(zero, axis=0).max() == 0


def test_truncation_zero_gives_one_digit_per_label_or_cluster():
    conditional = tiny_gan(conditional=True)
    labels = np.arange(20) % 10
    digits = conditional.generate(20, seed=2, labels=labels, truncation=0)
    np.testing.assert_array_equal(digits[:10], digits[10:])
    assert not np.array_equal(digits[0], digits[1])
    clustered = tiny_gan(clusters=4, latent_kind="normal")
    drawn = clustered.generate(8, seed=2, truncation=0)
    # The clusters drawn stay those of the untruncated noise.
    ids = clustered.draw_clusters(8, seed=2)
    for cluster in set(ids):
        same = drawn[ids == cluster]
        np.testing.assert_array_equal(same, np.broadcast_to(same[0], same.shape))
    np.testing.assert_array_equal(drawn, clustered.generate_from(np.zeros((8, 16)), ids))


def test_generate_from_checks_its_ids():
    with pytest.raises(ValueError, match="takes latent vectors only"):
        tiny_gan().generate_from(np.zeros((2, 16), np.float32), [1, 2])
    with pytest.raises(ValueError, match="Labels are missing"):
        tiny_gan(conditional=True).generate_from(np.zeros((2, 16), np.float32))
    with pytest.raises(ValueError, match="Clusters must lie in 0-3"):
        tiny_gan(clusters=4).generate_from(np.zeros((2, 16), np.float32), 4)


def test_the_sample_command_takes_truncation(tmp_path, capsys):
    config = RunConfig.from_preset(
        "leaky", latent_dim=16, generator_widths=(32,), discriminator_widths=(32,),
        batch_size=32, steps=2, jit_compile=False,
    )
    gan = train(config, data.load_mnist("test")[0][:256], tmp_path / "run").gan
    out = tmp_path / "digits.npy"
    arguments = ["sample", "--run-dir", str(tmp_path / "run"), "--n", "6", "--out", str(out)]
    assert cli.main(arguments + ["--truncation", "0.5"]) == 0
    assert "truncation 0.5" in capsys.readouterr().out
    np.testing.assert_allclose(np.load(out), gan.generate(6, seed=0, truncation=0.5), atol=1e-6)
    assert cli.main(arguments + ["--truncation", "0"]) == 0
    assert np.ptp(np.load(out), axis=0).max() == 0
    for bad, expected in (("1.5", "in [0, 1], got 1.5"), ("-0.1", "in [0, 1]"),
                          ("nan", "in [0, 1]"), ("x", "expected a number")):
        with pytest.raises(SystemExit) as stopped:
            cli.main(arguments + ["--truncation", bad])
        assert stopped.value.code == 2
        error = capsys.readouterr().err.strip().splitlines()
        assert len(error) == 1 and "--truncation" in error[0] and expected in error[0]
