"""Whole runs of InfoGAN and the semi-supervised GAN: their configs (gan_mnist.learner_config),
``gan_mnist.train`` into run folders that resume exactly, and the command line's
``--model infogan`` and ``semi-supervised``."""

import json

import keras
import numpy as np
import pytest

import gan_mnist
from gan_mnist import Run, cli, history, infogan, learner_config, learners, train, train_arguments
from gan_mnist import semi_supervised as ss
from gan_mnist.learner_config import InfoGANConfig, SemiSupervisedConfig
from gan_mnist.run_config import RunConfig
from helpers import in_process

# Networks small enough for a test: a few seconds a run on 2 cores.
TINY_INFO = InfoGANConfig(widths=(8, 8, 16), batch_size=32, steps=12, checkpoint_every=6,
                          steps_per_execution=3)
TINY_SEMI = SemiSupervisedConfig(d_widths=(32, 16), g_widths=(16,), labels=20, batch_size=20,
                                 initialize_on=50, steps=12, checkpoint_every=6,
                                 steps_per_execution=3)


@pytest.fixture(scope="module")
def digits():
    images, labels = gan_mnist.load_mnist("train")
    return images[:600], labels[:600]


# ---------------------------------------------------------------------------------------------
# The configs.


def test_the_defaults_are_the_papers_as_the_models_know_them():
    info, semi = InfoGANConfig(), SemiSupervisedConfig()
    assert (info.noise_dim, info.categories, info.continuous, info.widths, info.leak) == (
        infogan.NOISE_DIM, infogan.CATEGORIES, infogan.CONTINUOUS, infogan.WIDTHS, infogan.LEAK)
    assert (info.info_weight, info.d_learning_rate, info.g_learning_rate, info.batch_size,
            info.steps) == (1.0, 2e-4, 1e-3, 128, 5000)
    assert (semi.d_widths, semi.g_widths, semi.noise_dim, semi.labels, semi.batch_size,
            semi.learning_rate, semi.unsupervised_weight) == (
        ss.D_WIDTHS, ss.G_WIDTHS, ss.NOISE_DIM, 100, 100, 0.003, 0.5)


@pytest.mark.parametrize("config", [TINY_INFO, TINY_SEMI, InfoGANConfig(init_std=0.02)])
def test_a_config_round_trips_through_json_and_names_its_model(config):
    values = json.loads(config.to_json())
    assert values["model"] == config.model
    assert learner_config.config_from_dict(values) == config


def test_settings_without_a_model_are_a_gan_s_and_an_unknown_model_is_refused():
    assert isinstance(learner_config.config_from_dict(RunConfig().to_dict()), RunConfig)
    with pytest.raises(ValueError, match="Unknown model 'vae'"):
        learner_config.config_from_dict(dict(model="vae"))
    with pytest.raises(ValueError, match=r"Unknown setting\(s\) \['loss'\] for InfoGANConfig"):
        learner_config.config_from_dict(dict(model="infogan", loss="hinge"))


@pytest.mark.parametrize("kind, changes, message", [
    (InfoGANConfig, dict(widths=(8, 8)), "widths must be three sizes"),
    (InfoGANConfig, dict(widths=(8, 0, 8)), "widths must be an integer of at least 1, got 0"),
    (InfoGANConfig, dict(leak=1.0), r"leak must be a number in \[0, 1\)"),
    (InfoGANConfig, dict(init_std=0.0), r"init_std must be a number in \(0, inf\)"),
    (InfoGANConfig, dict(info_weight=-1), "info_weight must be a number"),
    (InfoGANConfig, dict(categories=1), "categories must be an integer of at least 2"),
    (InfoGANConfig, dict(model="semi_supervised"), "model must be 'infogan'"),
    (InfoGANConfig, dict(eval_samples=10_001), "of the 10,000 test digits"),
    (InfoGANConfig, dict(eval_samples=31), "eval_samples must be 0 or at least 32 for InfoGAN"),
    (SemiSupervisedConfig, dict(labels=15), "labels must be a multiple of 10"),
    (SemiSupervisedConfig, dict(labels=0), "labels must be an integer of at least 10"),
    (SemiSupervisedConfig, dict(d_widths=()), "d_widths must hold at least one layer"),
    (SemiSupervisedConfig, dict(ema_decay=1.0), r"ema_decay must be a number in \(0, 1\)"),
    (SemiSupervisedConfig, dict(steps=0), "steps must be an integer of at least 1"),
    (SemiSupervisedConfig, dict(deterministic="yes"), "deterministic must be True or False"),
])
def test_bad_settings_are_refused_by_name(kind, changes, message):
    with pytest.raises(ValueError, match=message):
        kind(**changes)


def test_a_resumed_run_may_change_its_length_and_speed_but_not_its_game():
    assert TINY_INFO.differences(TINY_INFO.replace(steps=99, checkpoint_every=1,
                                                   deterministic=False, eval_samples=90)) == {}
    assert TINY_SEMI.differences(TINY_SEMI.replace(label_seed=3, labels=30)) == {
        "labels": (20, 30), "label_seed": (None, 3)}
    with pytest.raises(ValueError, match="A SemiSupervisedConfig is not compared with a "
                                         "RunConfig"):
        TINY_SEMI.differences(RunConfig())


def test_the_labelled_digits_are_chosen_by_the_seed_unless_a_label_seed_is_given():
    assert SemiSupervisedConfig(seed=3).labelled_seed == 3
    assert SemiSupervisedConfig(seed=3, label_seed=0).labelled_seed == 0
    # The infogan batch-statistics floor is the model's own.
    assert learner_config.MIN_INFOGAN_SCORED == infogan.MIN_STATISTICS_BATCH


# ---------------------------------------------------------------------------------------------
# Training into run folders.


def _weights(model):
    """Every weight of the model's networks, the semi-supervised GAN's weight average too."""
    networks = [model.generator, model.discriminator]
    networks += [network for network in [getattr(model, "ema_discriminator", None)] if network]
    return [np.asarray(weight) for network in networks for weight in network.weights]


@pytest.mark.parametrize("config", [TINY_INFO, TINY_SEMI], ids=["infogan", "semi_supervised"])
def test_a_stopped_run_resumes_to_the_same_losses_and_weights(config, digits, tmp_path):
    images, labels = digits
    labels = labels if config.model == "semi_supervised" else None
    straight = train(config, images, tmp_path / "straight", labels=labels)
    train(config.replace(steps=6), images, tmp_path / "resumed", labels=labels)
    resumed = train(config, images, tmp_path / "resumed", labels=labels, resume=True)
    assert resumed.resumed_from == 6 and resumed.steps == straight.steps == 12
    assert list(straight.history) == ["step", *straight.gan.RECORDS]
    for name in straight.gan.RECORDS:
        np.testing.assert_array_equal(resumed.history[name], straight.history[name])
    for before, after in zip(_weights(straight.gan), _weights(resumed.gan)):
        np.testing.assert_array_equal(before, after)
    header = (tmp_path / "resumed" / "history.csv").read_text().splitlines()[0]
    assert header == ",".join(["step", *straight.gan.RECORDS])
    assert set(straight.outputs) == {"losses.png", "samples.png"}
    loaded, step = Run(tmp_path / "resumed").load_gan()
    assert step == 12 and type(loaded) is type(straight.gan)
    for before, after in zip(_weights(straight.gan), _weights(loaded)):
        np.testing.assert_array_equal(before, after)


def test_a_config_builds_the_model_its_module_builds_with_the_same_settings(digits):
    # Settings away from the defaults, so that one passed to the wrong place shows.
    images, labels = digits
    info = TINY_INFO.replace(noise_dim=5, categories=4, continuous=3, leak=0.2, init_std=0.05,
                             info_weight=0.7, d_learning_rate=3e-4, g_learning_rate=2e-3, seed=3,
                             checkpoint_every=None)
    semi = TINY_SEMI.replace(noise_dim=7, unsupervised_weight=0.3, learning_rate=0.002,
                             ema_decay=0.99, label_seed=5, seed=4, initialize_on=40,
                             checkpoint_every=None)
    gan_mnist.set_seed(3)
    expected = [infogan.build(noise_dim=5, categories=4, continuous=3, widths=(8, 8, 16),
                              info_weight=0.7, d_rate=3e-4, g_rate=2e-3, seed=3,
                              steps_per_execution=3, leak=0.2, init_std=0.05)]
    chosen = ss.labelled_subset(labels, 2, 5)
    gan_mnist.set_seed(4)
    expected.append(ss.build(images[chosen], labels[chosen], d_widths=(32, 16), g_widths=(16,),
                             noise_dim=7, learning_rate=0.002, unsupervised_weight=0.3,
                             ema_decay=0.99, seed=4, steps_per_execution=3,
                             initialize_on=images[:40]))
    for config, reference, given in ((info, expected[0], None), (semi, expected[1], labels)):
        result = train(config, images, labels=given)
        reference.fit(images, batch_size=config.batch_size, steps_per_epoch=12, verbose=0)
        for name in reference.RECORDS:
            np.testing.assert_array_equal(result.history[name], reference.step_history[name])
        for built, made in zip(_weights(result.gan), _weights(reference)):
            np.testing.assert_array_equal(built, made)


def test_the_semi_supervised_run_keeps_the_labels_of_as_many_digits_of_each_class(digits):
    images, labels = digits
    model = learners.build(TINY_SEMI.replace(labels=30, label_seed=4), images, labels)
    kept = np.asarray(model.labelled_labels)
    assert np.bincount(kept, minlength=10).tolist() == [3] * 10
    chosen = ss.labelled_subset(labels, 3, 4)
    np.testing.assert_array_equal(np.asarray(model.labelled_images)[..., 0],
                                  images[chosen] / np.float32(255))


def test_the_baseline_on_the_labels_alone_trains_though_it_records_no_generator(digits,
                                                                                 tmp_path):
    images, labels = digits
    result = train(TINY_SEMI.replace(unsupervised_weight=0.0, eval_samples=100), images,
                   tmp_path / "alone", labels=labels)
    assert result.steps == 12
    # Its NaN records are not taken for a divergence: the checkpoints are written.
    assert Run(tmp_path / "alone").latest_step() == 12
    assert np.isnan(result.history["g_loss"]).all()
    assert np.isfinite(result.history["supervised_loss"]).all()
    assert json.loads((tmp_path / "alone" / "metrics.json").read_text())["test_digits"] == 100


def test_the_scores_of_the_papers_go_to_metrics_json(digits, tmp_path):
    images, _ = digits
    result = train(TINY_INFO.replace(eval_samples=200), images, tmp_path / "info")
    metrics = json.loads((tmp_path / "info" / "metrics.json").read_text())
    assert metrics["step"] == 12 and metrics["test_digits"] == 200
    assert 0 <= metrics["category_error"] <= 1
    assert sorted(metrics["code_correlations"]) == ["c2", "c3"]
    assert "categorical code" in result.outputs["metrics.json"]


def test_what_the_runs_may_not_take_is_refused_before_the_folder_is_touched(digits, tmp_path):
    images, labels = digits
    with pytest.raises(ValueError, match="InfoGAN learns without labels"):
        train(TINY_INFO, images, tmp_path / "a", labels=labels)
    with pytest.raises(ValueError, match="pass the images .an array. and their labels"):
        train(TINY_SEMI, images, tmp_path / "b")
    with pytest.raises(ValueError, match="networks and clustering are a GAN's"):
        train(TINY_INFO, images, tmp_path / "c", networks=(None, None))
    with pytest.raises(ValueError, match="pass run_dir as well"):
        train(TINY_INFO.replace(eval_samples=40), images)
    with pytest.raises(ValueError, match="fewer than the 7 asked for of each"):
        train(TINY_SEMI.replace(labels=70), images[:60], tmp_path / "d", labels=labels[:60],
              overwrite=True)
    with pytest.raises(ValueError, match="The labels must be digits"):
        train(TINY_SEMI, images, tmp_path / "e", labels=labels + 0.5)
    assert not any((tmp_path / name).exists() for name in "abcde")


def test_a_folder_of_one_model_is_not_resumed_as_another(digits, tmp_path):
    images, labels = digits
    train(TINY_SEMI.replace(steps=3), images, tmp_path / "run", labels=labels)
    with pytest.raises(ValueError, match="holds a run of the semi-supervised GAN, not of "
                                         "InfoGAN"):
        train(TINY_INFO, images, tmp_path / "run", resume=True)
    with pytest.raises(ValueError, match="holds a run of the semi-supervised GAN, not of a GAN"):
        train(RunConfig(steps=3), images, tmp_path / "run", resume=True)
    with pytest.raises(ValueError, match="Cannot resume .*labels 20 .this run: 30."):
        train(TINY_SEMI.replace(labels=30), images, tmp_path / "run", labels=labels,
              resume=True)


# ---------------------------------------------------------------------------------------------
# The command line.


def test_the_command_line_trains_resumes_samples_scores_and_exports_an_infogan(capsys,
                                                                              tmp_path):
    run_dir = tmp_path / "info"
    common = ["train", "--model", "infogan", "--widths", "8", "8", "16", "--batch-size", "32",
              "--eval-samples", "100", "--run-dir", str(run_dir)]
    first = in_process(capsys, *common, "--steps", "4")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(f"Training InfoGAN (widths 8 8 16, lambda 1) for 4 steps of "
                                f"batch 32 into {run_dir}, starting at step 0.")
    resumed = in_process(capsys, *common, "--steps", "8", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "continuing from step 4" in resumed.stdout and "metrics.json: categorical code" in (
        resumed.stdout)
    config = Run(run_dir).config()
    assert config == InfoGANConfig(widths=(8, 8, 16), batch_size=32, steps=8, seed=0,
                                   deterministic=False, checkpoint_every=1, eval_samples=100)
    columns = ("step",) + infogan.InfoGAN.RECORDS
    assert history.read_run_history(run_dir / "history.csv", columns)[0]["step"] == [*range(1, 9)]
    with pytest.raises(ValueError, match="is not a history of gan_mnist"):
        history.read_run_history(run_dir / "history.csv")  # A GAN's columns.
    sample = in_process(capsys, "sample", "--run-dir", str(run_dir), "--n", "20", "--out",
                        str(tmp_path / "digits.npy"))
    assert sample.returncode == 0, sample.stderr
    assert "20 samples, one row per categorical code" in sample.stdout
    assert np.load(tmp_path / "digits.npy").shape == (20, 28, 28, 1)
    scores = in_process(capsys, "evaluate", "--run-dir", str(run_dir), "--n", "100")
    record = json.loads(scores.stdout)
    assert (record["step"], record["test_digits"]) == (8, 100) and "category_error" in record
    with pytest.raises(SystemExit):
        cli.main(["evaluate", "--run-dir", str(run_dir), "--n", "10"])
    assert "argument --n: at least 32 for an InfoGAN run" in capsys.readouterr().err
    export = in_process(capsys, "export", "--run-dir", str(run_dir), "--out",
                        str(tmp_path / "generator.keras"))
    assert export.returncode == 0, export.stderr
    generator = keras.saving.load_model(tmp_path / "generator.keras", safe_mode=True)
    assert generator.input_shape == (None, 74)


def test_the_command_line_trains_the_semi_supervised_gan_into_its_own_folder(capsys, tmp_path,
                                                                              monkeypatch):
    monkeypatch.chdir(tmp_path)
    done = in_process(capsys, "train", "--model", "semi-supervised", "--labels", "20",
                      "--steps", "3", "--eval-samples", "50", "--seed", "2")
    assert done.returncode == 0, done.stderr
    run_dir = tmp_path / "runs" / "semi-supervised-20labels-seed2"
    config = Run(run_dir).config()
    assert (config.labels, config.labelled_seed, config.seed, config.steps) == (20, 2, 2, 3)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["test_digits"] == 50 and 0 <= metrics["test_error"] <= 1
    sample = in_process(capsys, "sample", "--run-dir", str(run_dir), "--n", "9", "--out",
                        "digits.png")
    assert sample.returncode == 0 and (tmp_path / "digits.png").is_file()
    scores = json.loads(in_process(capsys, "evaluate", "--run-dir", str(run_dir), "--n",
                                   "50").stdout)
    assert scores["test_error"] == metrics["test_error"]
    with pytest.raises(SystemExit):
        cli.main(["evaluate", "--run-dir", str(run_dir), "--reference", "train"])
    assert "scored on the test digits only" in capsys.readouterr().err


@pytest.mark.parametrize("arguments, expected", [
    (["--model", "infogan"], (InfoGANConfig(deterministic=False, checkpoint_every=500,
                                            eval_samples=10_000), "runs/infogan-seed0")),
    (["--model", "infogan", "--widths", "32", "64", "512", "--info-weight", "2", "--seed", "1"],
     (InfoGANConfig(widths=(32, 64, 512), info_weight=2.0, seed=1, deterministic=False,
                    checkpoint_every=500, eval_samples=10_000),
      "runs/infogan-32-64-512-seed1")),
    (["--model", "semi-supervised", "--learning-rate", "0.001", "--label-seed", "4",
      "--unsupervised-weight", "0", "--steps", "50", "--deterministic"],
     (SemiSupervisedConfig(learning_rate=0.001, label_seed=4, unsupervised_weight=0.0,
                           steps=50, checkpoint_every=5, eval_samples=10_000),
      "runs/supervised-100labels-labelseed4-seed0")),
])
def test_the_command_line_s_options_reach_the_config_and_name_the_folder(arguments, expected):
    parsed = cli.build_parser().parse_args(["train", *arguments])
    config, run_dir = train_arguments.resolve_config(parsed)
    assert (config, str(run_dir)) == expected


@pytest.mark.parametrize("arguments, message", [
    (["train", "--model", "infogan", "--loss", "hinge"],
     "argument --loss: --model infogan does not take it"),
    (["train", "--model", "infogan", "--learning-rate", "0.1"],
     "argument --learning-rate: --model infogan does not take it"),
    (["train", "--model", "semi-supervised", "--widths", "8", "8", "8"],
     "argument --widths: --model semi-supervised does not take it"),
    (["train", "--model", "dcgan", "--labels", "100"],
     "argument --labels: --model dcgan does not take it"),
    (["train", "--model", "semi-supervised", "--labels", "15"],
     "argument --labels: a multiple of 10"),
    (["train", "--model", "infogan", "--no-jit"],
     "argument --jit/--no-jit: --model infogan does not take it"),
    (["train", "--model", "semi-supervised", "--clusters", "5"],
     "argument --clusters: --model semi-supervised does not take it"),
    (["train", "--model", "semi-supervised", "--info-weight", "2"],
     "argument --info-weight: --model semi-supervised does not take it"),
    (["train", "--model", "mlp", "--unsupervised-weight", "0"],
     "argument --unsupervised-weight: --model mlp does not take it"),
])
def test_options_of_other_models_are_refused_in_one_line(capsys, arguments, message):
    with pytest.raises(SystemExit) as stop:
        cli.main(arguments)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_a_sample_option_of_the_gans_is_refused_for_these_runs(capsys, digits, tmp_path):
    train(TINY_INFO.replace(steps=2), digits[0], tmp_path / "info")
    with pytest.raises(SystemExit) as stop:
        cli.main(["sample", "--run-dir", str(tmp_path / "info"), "--digit", "3", "--out",
                  str(tmp_path / "x.png")])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "--model infogan, which does not take it" in err
    assert not (tmp_path / "x.png").exists()
