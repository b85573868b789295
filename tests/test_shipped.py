"""The shipped generators (``gan_mnist.pretrained``) and the tool that makes them."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import gan_mnist
from gan_mnist import class_metrics, shipped

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

import pretrain  # noqa: E402
import pretrain_families  # noqa: E402


@pytest.mark.parametrize("name", shipped.GAN_NAMES)
def test_a_shipped_generator_draws_repeatable_digits_in_its_range(name):
    gan = gan_mnist.pretrained(name)
    assert isinstance(gan, gan_mnist.GAN) and gan.conditional == (name == "conditional_dcgan")
    assert gan.self_conditioned == (name == "dcgan")
    images = gan.generate(6, seed=3)
    assert images.shape == (6, 28, 28, 1)
    assert images.min() >= -1.0 and images.max() <= 1.0
    np.testing.assert_array_equal(images, gan.generate(6, seed=3))
    assert not np.array_equal(images, gan.generate(6, seed=4))
    assert gan.config == gan_mnist.RunConfig.from_dict(shipped.record(name)["config"])


def test_the_shipped_records_hold_the_run_that_made_them():
    for name in shipped.GAN_NAMES:
        record = shipped.record(name)
        assert record["command"] == f"python tools/pretrain.py {name}"
        assert record["steps"] == record["config"]["steps"] == record["curve"][-1]["step"]
        # Records older than a setting lack its key; it takes its default.
        assert gan_mnist.RunConfig.from_dict(record["config"]) == pretrain.recipe(name)
        # The final scores are those of the curve's last row: the same draw of 10,000 digits.
        last = record["curve"][-1]
        assert record["scores"]["fid"] == pytest.approx(last["fid"], abs=1e-4)
        assert record["scores"]["score"] == pytest.approx(last["score"], abs=1e-4)
    assert shipped.record("conditional_dcgan")["scores"]["label_accuracy"] >= 0.98
    # The self-conditioned generator draws its clusters by the shares kept in its record.
    record = shipped.record("dcgan")
    frequencies = gan_mnist.pretrained("dcgan").cluster_frequencies.numpy()
    assert len(record["cluster_frequencies"]) == record["config"]["clusters"]
    np.testing.assert_allclose(frequencies, record["cluster_frequencies"], atol=1e-5)
    assert 0 < record["cluster_purity"] <= 1


def test_the_conditional_generator_draws_the_digits_asked_for():
    gan = gan_mnist.pretrained("conditional_dcgan")
    labels = np.repeat(np.arange(10), 30)
    images = gan.generate(len(labels), seed=0, labels=labels)
    accuracy = class_metrics.label_accuracy(images, labels, value_range=gan.value_range)
    assert accuracy >= 0.95
    sevens = gan.generate(20, seed=0, labels=7)
    assert class_metrics.label_accuracy(sevens, np.full(20, 7), value_range=(-1, 1)) >= 0.9
    with pytest.raises(ValueError, match="0-9"):
        gan.generate(2, labels=[3, 10])


def test_unknown_and_missing_generators_say_what_to_do(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="choose one of"):
        gan_mnist.pretrained("stylegan")
    monkeypatch.setattr(shipped, "GENERATORS_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="make pretrained"):
        gan_mnist.pretrained("dcgan")


def _tool_writing_to(tmp_path, monkeypatch):
    """Point the tool and ``pretrained`` at ``tmp_path``, score 200 digits; return a run folder."""
    monkeypatch.setattr(pretrain, "GENERATORS", tmp_path / "generators")
    monkeypatch.setattr(shipped, "GENERATORS_DIR", tmp_path / "generators")
    monkeypatch.setattr(pretrain, "SAMPLES", 200)
    run_dir = tmp_path / "run"
    return run_dir


def test_the_tool_makes_a_self_conditioned_generator_from_noise_alone(tmp_path, monkeypatch):
    run_dir = _tool_writing_to(tmp_path, monkeypatch)
    record = pretrain.make("dcgan", steps=10, run_dir=run_dir, evaluate_every=10)
    assert record["config"]["clusters"] == pretrain.SHIPPED_CLUSTERS
    # The trial keeps the recipe's decay at the same share of its steps (10,000 of 25,000).
    assert record["config"]["decay_start"] == 4
    assert "label_accuracy" not in record["scores"]
    gan = gan_mnist.pretrained("dcgan")
    trained, step = gan_mnist.Run(run_dir).load_gan()
    assert step == 10 and gan.self_conditioned
    np.testing.assert_array_equal(gan.generate(4, seed=1), trained.generate(4, seed=1))


def test_the_tool_trains_resumes_and_writes_a_loadable_generator(tmp_path, monkeypatch):
    run_dir = _tool_writing_to(tmp_path, monkeypatch)
    first = pretrain.make("plain_dcgan", steps=20, run_dir=run_dir, evaluate_every=10)
    assert [row["step"] for row in first["curve"]] == [10, 20]
    # Run again with more steps: the run resumes from its checkpoint and the curve goes on.
    record = pretrain.make("plain_dcgan", steps=30, run_dir=run_dir, evaluate_every=10)
    assert [row["step"] for row in record["curve"]] == [10, 20, 30]
    assert record["curve"][:2] == first["curve"]
    assert record["steps"] == 30 and 1 <= record["scores"]["score"] <= 10
    stored = json.loads((tmp_path / "generators" / "plain_dcgan.json").read_text())
    assert stored["scores"] == record["scores"]
    gan = gan_mnist.pretrained("plain_dcgan")
    trained, step = gan_mnist.Run(run_dir).load_gan()
    assert step == 30
    np.testing.assert_array_equal(gan.generate(4, seed=1), trained.generate(4, seed=1))


def test_the_conditional_recipe_decays_and_its_record_holds_the_styles(tmp_path, monkeypatch):
    run_dir = _tool_writing_to(tmp_path, monkeypatch)
    record = pretrain.make("conditional_dcgan", steps=10, run_dir=run_dir, evaluate_every=10)
    # The trial keeps the recipe's decay at the same share of its steps (10,000 of 25,000).
    assert record["config"]["decay_start"] == 4 and record["config"]["conditional"]
    assert 0 <= record["scores"]["label_accuracy"] <= 1
    styles = record["styles"]
    assert len(styles["ndb"]) == 10 and styles["ndb_total"] == sum(styles["ndb"])
    assert styles["floor_ndb_total"] > 0 and len(record["class_fid_floor_sets"]) == 10
    gan = gan_mnist.pretrained("conditional_dcgan")
    trained, _ = gan_mnist.Run(run_dir).load_gan()
    np.testing.assert_array_equal(gan.generate(4, seed=1, labels=2),
                                  trained.generate(4, seed=1, labels=2))


@pytest.mark.parametrize("name", shipped.FAMILY_NAMES)
def test_the_shipped_models_of_the_other_families_draw_like_the_gans(name):
    model = gan_mnist.pretrained(name)
    record = shipped.record(name)
    assert model.settings == dict(record["settings"], ema_decay=None)
    images = model.generate(6, seed=3)
    low, high = model.value_range
    assert images.shape == (6, 28, 28, 1) and images.min() >= low and images.max() <= high
    np.testing.assert_array_equal(images, model.generate(6, seed=3))
    assert not np.array_equal(images, model.generate(6, seed=4))
    assert record["command"] == f"python tools/pretrain.py {name}"
    assert record["steps"] == record["curve"][-1]["step"]
    settings, steps = pretrain_families.recipe(name)
    assert settings == record["settings"] and steps == record["steps"]
    assert record["scores"]["fid"] == pytest.approx(record["curve"][-1]["fid"], abs=1e-4)


@pytest.mark.parametrize("name", shipped.FAMILY_NAMES)
def test_the_tool_trains_resumes_exactly_and_ships_the_other_families(name, tmp_path,
                                                                      monkeypatch):
    _tool_writing_to(tmp_path, monkeypatch)
    first = pretrain_families.make(name, steps=10, run_dir=tmp_path / "run", evaluate_every=10)
    assert [row["step"] for row in first["curve"]] == [10]
    # Run again with more steps: it resumes from its checkpoint and the curve goes on, with the
    # numbers of a run that was never stopped; its final scores are the last row's.
    resumed = pretrain_families.make(name, steps=20, run_dir=tmp_path / "run",
                                     evaluate_every=10)
    assert [row["step"] for row in resumed["curve"]] == [10, 20]
    assert resumed["curve"][:1] == first["curve"]
    assert resumed["scores"]["fid"] == pytest.approx(resumed["curve"][-1]["fid"], abs=1e-4)
    # Scored at its end only, so the equality also shows that scoring at step 10 leaves the
    # training untouched.
    straight = pretrain_families.make(name, steps=20, run_dir=tmp_path / "straight",
                                      evaluate_every=20)
    for key in ("fid", "score", "precision", "recall"):  # To the diffusion model's 1e-8 noise.
        assert resumed["scores"][key] == pytest.approx(straight["scores"][key], abs=1e-3)
    model = gan_mnist.pretrained(name)
    assert model.generate(2, seed=0).shape == (2, 28, 28, 1)
    with pytest.raises(ValueError, match="multiple of evaluate_every"):
        pretrain_families.make(name, steps=25, run_dir=tmp_path / "odd", evaluate_every=10)
