"""Self-conditioned GANs: clusters without labels, generation from noise alone, exact resume."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.metrics.cluster import contingency_matrix

from gan_mnist import GAN, Run, RunConfig, cli, clustering, data, models, train
from gan_mnist.backend import tf

CONFIG = RunConfig.from_preset(
    "leaky", clusters=8, latent_dim=16, generator_widths=(32,), discriminator_widths=(32,),
    batch_size=32, steps=40, jit_compile=False,
)


@pytest.fixture(scope="module")
def digits():
    images, labels = data.load_mnist("test")
    return images[:1024], labels[:1024]


def test_clusters_repeat_for_a_seed_and_match_their_centres(digits):
    images, labels = digits
    found = clustering.cluster_images(images, 10, seed=0)
    again = clustering.cluster_images(images, 10, seed=0)
    np.testing.assert_array_equal(found.assignments, again.assignments)
    np.testing.assert_array_equal(found.centres, again.centres)
    other = clustering.cluster_images(images, 10, seed=1)
    assert not np.array_equal(found.assignments, other.assignments)
    # k-means ends with every image at its nearest centre, so assigning them again agrees.
    assert np.mean(found.assign(images) == found.assignments) > 0.999
    assert found.k == 10 and found.counts.sum() == len(images)
    np.testing.assert_allclose(found.frequencies.sum(), 1.0)
    # Purity against scikit-learn's contingency table: well above chance, short of perfect.
    table = contingency_matrix(labels, found.assignments)
    assert found.purity(labels) == pytest.approx(table.max(axis=0).sum() / len(labels))
    assert 0.4 < found.purity(labels) < 1.0
    assert found.purity(found.assignments) == 1.0


def test_a_clustering_saves_and_loads_without_pickle(digits, tmp_path):
    found = clustering.cluster_images(digits[0], 5, seed=0)
    path = found.save(tmp_path / "clusters.npz")
    with np.load(path, allow_pickle=False) as stored:
        assert set(stored) >= {"assignments", "centres", "mean", "components", "seed"}
    loaded = clustering.Clustering.load(path)
    np.testing.assert_array_equal(loaded.assign(digits[0][:100]), found.assign(digits[0][:100]))
    assert loaded.seed == 0
    with pytest.raises(FileNotFoundError, match="No clustering"):
        clustering.Clustering.load(tmp_path / "missing.npz")


@pytest.mark.parametrize("bad", [0, 1, 2.5, "5", True])
def test_a_bad_number_of_clusters_is_a_clear_value_error(bad, digits):
    with pytest.raises(ValueError, match="clusters"):
        RunConfig(clusters=bad)
    with pytest.raises(ValueError, match="number of clusters"):
        clustering.cluster_images(digits[0][:50], bad)


def test_more_clusters_than_images_and_other_mistakes_are_clear(digits):
    images, labels = digits
    with pytest.raises(ValueError, match="Cannot make 11 clusters of 10 images"):
        clustering.cluster_images(images[:10], 11)
    with pytest.raises(ValueError, match="Cannot make 2,000 clusters|Cannot make 2000 clusters"):
        train(CONFIG.replace(clusters=2000), images)
    with pytest.raises(ValueError, match="without labels"):
        train(CONFIG, images, labels=labels)
    with pytest.raises(ValueError, match="cannot be conditional"):
        RunConfig(clusters=10, conditional=True)
    with pytest.raises(ValueError, match="classic"):
        RunConfig.from_preset("classic", clusters=10)
    with pytest.raises(ValueError, match="shaped"):
        clustering.cluster_images(images.reshape(len(images), -1), 5)


def test_networks_take_one_id_per_cluster(digits):
    generator, discriminator = models.build("recommended", conditional=50)
    assert generator.get_layer("label_embedding").input_dim == 50
    assert discriminator.get_layer("label_projection").input_dim == 50
    gan = GAN(generator, discriminator, seed=0, clusters=50)
    assert gan.self_conditioned and not gan.conditional and gan.classes == 50
    with pytest.raises(ValueError, match="cluster id"):
        GAN(*models.build("recommended"), seed=0, clusters=50)
    five = clustering.cluster_images(digits[0], 5, seed=0)
    with pytest.raises(ValueError, match="takes 50 clusters, but the clustering has 5"):
        gan.set_clusters(five)
    with pytest.raises(ValueError, match="not self-conditioned"):
        GAN(*models.build("recommended", conditional=True), seed=0).set_clusters(five)


def test_generate_needs_no_label_and_shows_one_cluster_on_request(digits):
    result = train(CONFIG, digits[0])
    gan = result.gan
    drawn = gan.generate(12, seed=3)
    assert drawn.shape == (12, 28, 28, 1)
    np.testing.assert_array_equal(drawn, gan.generate(12, seed=3))
    assert not np.array_equal(drawn, gan.generate(12, seed=4))
    one = gan.generate(6, seed=3, clusters=2)
    np.testing.assert_array_equal(one, gan.generate(6, seed=3, clusters=[2] * 6))
    with pytest.raises(ValueError, match="clusters=..."):
        gan.generate(4, labels=1)
    with pytest.raises(ValueError, match=r"Clusters must lie in 0-7"):
        gan.generate(4, clusters=8)
    plain = GAN(*models.build("leaky"), seed=0)
    with pytest.raises(ValueError, match="not self-conditioned"):
        plain.generate(4, clusters=1)


def test_a_clustering_made_another_way_is_trained_on_and_kept(digits, tmp_path):
    images = digits[0]
    # Clusters of other features of the same images (here: the pixels' right halves).
    halves = images[:, :, 14:].reshape(len(images), -1).astype(np.float32) / 255
    given = clustering.cluster_features(halves, 8, seed=1)
    assert not np.array_equal(given.assignments,
                              clustering.cluster_images(images, 8, seed=0).assignments)
    result = train(CONFIG.replace(steps=2), images, tmp_path, clustering=given)
    np.testing.assert_array_equal(Run(tmp_path).clustering().assignments, given.assignments)
    np.testing.assert_allclose(result.gan.cluster_frequencies.numpy(), given.frequencies,
                               rtol=1e-6)
    for config, found, count in ((CONFIG.replace(clusters=9), given, 1024),
                                 (CONFIG.replace(clusters=None), given, 1024),
                                 (CONFIG, given, 1000)):
        with pytest.raises(ValueError, match="Make it of these images"):
            train(config, images[:count], clustering=found)


def test_generated_ids_follow_the_clusters_shares(digits):
    gan = train(CONFIG.replace(steps=1), digits[0]).gan
    found = clustering.cluster_images(digits[0], 8, seed=CONFIG.seed)
    np.testing.assert_allclose(gan.cluster_frequencies.numpy(), found.frequencies, rtol=1e-6)
    drawn = gan.draw_clusters(20_000, seed=0)
    np.testing.assert_allclose(np.bincount(drawn, minlength=8) / 20_000, found.frequencies,
                               atol=0.015)
    in_graph = gan.fake_labels(tf.constant([3, 4], tf.int64), 20_000).numpy()
    np.testing.assert_allclose(np.bincount(in_graph, minlength=8) / 20_000, found.frequencies,
                               atol=0.015)


def test_the_cli_never_hands_labels_to_a_self_conditioned_run(digits, tmp_path, monkeypatch):
    images, labels = digits
    shuffled = np.random.default_rng(0).permutation(labels)
    histories = []
    for given in (labels, shuffled):
        monkeypatch.setattr(data, "load_mnist", lambda split, given=given: (images, given))
        run_dir = tmp_path / f"run{len(histories)}"
        status = cli.main(["train", "--model", "mlp", "--no-jit", "--preset", "leaky",
                           "--clusters", "6", "--steps", "30", "--batch-size", "32",
                           "--eval-samples", "0", "--run-dir", str(run_dir)])
        assert status == 0
        histories.append(Run(run_dir).history())
        assert Run(run_dir).config().clusters == 6
    assert histories[0] == histories[1]


def test_the_cli_flags(tmp_path, capsys):
    parser = cli.build_parser()
    arguments = parser.parse_args(["train", "--model", "dcgan", "--clusters", "50"])
    config, run_dir = cli.resolve_config(arguments)
    assert config.clusters == 50 and run_dir.name.startswith("clusters50-dcgan")
    for bad in (["--clusters", "1"], ["--clusters", "x"], ["--clusters", "5", "--conditional"],
                ["--clusters", "5", "--preset", "classic"]):
        with pytest.raises(SystemExit) as stopped:
            cli.main(["train", "--model", "dcgan", *bad])
        assert stopped.value.code == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_a_resumed_self_conditioned_run_in_a_fresh_process_is_exact(digits, tmp_path):
    images, _ = digits
    config = CONFIG.replace(ema_decay=0.9, checkpoint_every=10)
    straight = train(config.replace(checkpoint_every=None), images)
    expected = straight.gan.generate(8, seed=0)
    train(config.replace(steps=20), images, tmp_path)
    assert (tmp_path / "clusters.npz").is_file()
    script = textwrap.dedent(f"""
        import json
        from gan_mnist import Run, data, train
        images = data.load_mnist("test")[0][:1024]
        config = Run({str(tmp_path)!r}).config().replace(steps=40)
        result = train(config, images, {str(tmp_path)!r}, resume=True)
        print(json.dumps(dict(resumed_from=result.resumed_from, history=result.history)))
    """)
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                               timeout=240, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert completed.returncode == 0, completed.stderr[-3000:]
    resumed = json.loads(completed.stdout.strip().splitlines()[-1])
    assert resumed["resumed_from"] == 20 and resumed["history"] == straight.history
    reloaded, step = Run(tmp_path).load_gan()
    assert step == 40 and reloaded.self_conditioned
    np.testing.assert_array_equal(reloaded.generate(8, seed=0), expected)
