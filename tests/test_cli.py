"""The command line end to end: train, refuse, resume after a kill, sample, evaluate, errors, help.

Commands run as ``python -m gan_mnist`` in subprocesses on tiny budgets (an MLP for 60 steps;
``--no-jit`` where XLA is not what a test is about: its compile costs each run about 2 s);
MNIST comes from ``$GAN_MNIST_DATA_DIR``. Argument errors, ``--help``, refusals and the scoring
commands run in-process (``cli.main``, as ``python -m gan_mnist`` calls it), where they cost no
TensorFlow start-up (about 4 s on 2 cores), and so do the runs whose process is not the point
(the resume after a kill, once the killed and interrupted children are done; ``--overwrite``).
"""

import csv
import importlib.metadata
import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import imageio.v3 as iio
import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_mnist import Run, __version__, cli, data, train_arguments
from helpers import (ENVIRONMENT, checkpoint_step, finish, gan_mnist, in_process, start,
                     wait_for)

STEPS = 60
TRAIN = [
    "train", "--model", "mlp", "--steps", str(STEPS), "--snapshot-every", "20",
    "--checkpoint-every", "20", "--eval-samples", "200",
]
RECORDS = ("d_loss", "g_loss", "d_real", "d_fake")
COMMANDS = ("train", "sample", "evaluate", "export", "data", "train-evaluator")


def assert_ok(completed):
    assert completed.returncode == 0, completed.stdout + completed.stderr


def assert_one_line_error(completed, code=None):
    """A non-zero exit whose last line of stderr is the whole message, and no traceback."""
    assert completed.returncode != 0 if code is None else completed.returncode == code
    assert "Traceback" not in completed.stderr
    last = completed.stderr.strip().splitlines()[-1]
    assert last.startswith(("error: ", "gan-mnist")), completed.stderr
    return last


def history_steps(run_dir):
    with open(run_dir / "history.csv", newline="") as stream:
        return [int(row["step"]) for row in csv.DictReader(stream)]


def events(directory):
    """TensorBoard summaries as ``{tag: [(step, plugin, tensor)]}``."""
    found = {}
    for path in sorted(Path(directory).glob("events.out.tfevents.*")):
        for record in tf.data.TFRecordDataset(str(path)):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                plugin = value.metadata.plugin_data.plugin_name
                found.setdefault(value.tag, []).append(
                    (event.step, plugin, tf.make_ndarray(value.tensor))
                )
    return found


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("cli") / "mlp"
    completed = gan_mnist(*TRAIN, "--run-dir", str(run_dir), "--tensorboard")
    assert_ok(completed)
    return run_dir, completed


# ---------------------------------------------------------------------------------------------
# train.


def test_train_writes_the_run_folder(trained):
    run_dir, completed = trained
    names = {path.name for path in run_dir.iterdir()}
    assert {"config.json", "history.csv", "checkpoints", "frames", "progress.gif", "losses.png",
            "samples.png", "metrics.json", "tensorboard"} <= names

    config = json.loads((run_dir / "config.json").read_text())
    assert config["preset"] == "vanilla"
    # The vanilla preset's settings, resolved.
    assert config["loss"] == "non_saturating" and config["batch_size"] == 128
    assert config["g_learning_rate"] == config["d_learning_rate"] == 0.001
    assert config["value_range"] == [0.0, 1.0]
    assert config["steps"] == STEPS and config["seed"] == 0 and config["deterministic"] is False
    assert set(config["versions"]) == {"python", "tensorflow", "keras", "numpy", "gan_mnist"}
    assert config["versions"]["tensorflow"] == tf.__version__
    assert config["command"].startswith("gan-mnist train --model mlp")

    assert history_steps(run_dir) == list(range(1, STEPS + 1))
    assert checkpoint_step(run_dir) == STEPS
    assert sorted(path.name for path in (run_dir / "frames").iterdir()) == [
        f"step_{step:06d}.png" for step in (0, 20, 40, 60)
    ]
    assert iio.imread(run_dir / "progress.gif", index=None).shape[0] == 4
    for picture in ("losses.png", "samples.png"):
        assert iio.imread(run_dir / picture).ndim == 3

    scores = json.loads((run_dir / "metrics.json").read_text())
    assert scores["step"] == STEPS and scores["n"] == 200
    assert {"fid", "kid", "score", "classes_seen", "floor_fid", "precision", "recall", "density",
            "coverage", "floor_recall", "class_recall", "worst_recall_class"} <= set(scores)
    # Sixty steps of a GAN are far from digits; real digits are far closer to the test set.
    assert scores["fid"] > 5 * scores["floor_fid"]

    assert "step 60/60 (100%)" in completed.stderr
    assert f"Trained {STEPS} steps" in completed.stdout


def test_train_writes_tensorboard_logs(trained):
    run_dir, _ = trained
    found = events(run_dir / "tensorboard")
    history = {name: [] for name in RECORDS}
    with open(run_dir / "history.csv", newline="") as stream:
        for row in csv.DictReader(stream):
            for name in RECORDS:
                history[name].append(float(row[name]))
    for name in RECORDS:
        assert [step for step, _, _ in found[name]] == list(range(1, STEPS + 1))
        assert {plugin for _, plugin, _ in found[name]} == {"scalars"}
        np.testing.assert_allclose([float(value) for _, _, value in found[name]], history[name],
                                   rtol=1e-6)
    images = found["samples"]
    assert [step for step, _, _ in images] == [0, 20, 40, 60]
    step, plugin, tensor = images[-1]
    assert plugin == "images" and list(tensor[:2]) == [b"118", b"118"]
    # The last image is the last snapshot frame.
    image = tf.image.decode_png(tensor[2]).numpy()[..., 0]
    np.testing.assert_array_equal(image, iio.imread(run_dir / "frames" / "step_000060.png"))


def test_train_refuses_a_non_empty_run_folder(trained, capsys):
    run_dir, _ = trained
    before = (run_dir / "history.csv").read_bytes()
    completed = in_process(capsys, *TRAIN, "--run-dir", str(run_dir))
    message = assert_one_line_error(completed, code=1)
    assert "not empty" in message and "--resume" in message
    assert (run_dir / "history.csv").read_bytes() == before


def test_resume_refuses_other_settings(trained, capsys):
    run_dir, _ = trained
    completed = in_process(capsys, *TRAIN, "--run-dir", str(run_dir), "--loss", "least_squares",
                           "--resume")
    message = assert_one_line_error(completed, code=1)
    assert "loss 'non_saturating'" in message and "least_squares" in message
    assert history_steps(run_dir) == list(range(1, STEPS + 1))


def test_resume_after_a_killed_run(tmp_path, capsys):
    run_dir = tmp_path / "killed"
    # Far more steps than the test waits for: the runs are stopped once checkpoints exist.
    long_run = [
        "train", "--model", "mlp", "--no-jit", "--steps", "1000000", "--snapshot-every", "100",
        "--checkpoint-every", "20", "--eval-samples", "0", "--run-dir", str(run_dir),
    ]
    process = start(*long_run)
    try:
        wait_for(lambda: checkpoint_step(run_dir) is not None, process)
        process.kill()
        process.wait(timeout=60)
    finally:
        process.kill()
    assert process.returncode == -signal.SIGKILL
    killed_at = checkpoint_step(run_dir)

    # The same command with --resume continues; Ctrl-C stops it with a hint on how to go on.
    process = start(*long_run, "--resume")
    try:
        # Interrupt three checkpoints on, in steady training. (`start` resets SIGINT, which a
        # test run started in the background of a shell ignores and would pass on.)
        wait_for(lambda: (checkpoint_step(run_dir) or 0) > killed_at + 40, process)
        process.send_signal(signal.SIGINT)
        _, stderr = finish(process)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    interrupted_at = checkpoint_step(run_dir)
    last = stderr.strip().splitlines()[-1]
    assert f"last checkpoint of {run_dir} is step {interrupted_at:,}" in last
    assert last.endswith("--resume") and "Continue with: gan-mnist train --model mlp" in last

    final = interrupted_at + 40
    long_run[long_run.index("--steps") + 1] = str(final)
    completed = in_process(capsys, *long_run, "--resume")  # The runs above were the children.
    assert_ok(completed)
    assert f"continuing from step {interrupted_at:,}" in completed.stdout
    assert "Took over the lock" not in completed.stderr  # Ctrl-C released it; a kill cannot.
    # One history row per step: the rows written after each checkpoint were dropped.
    assert history_steps(run_dir) == list(range(1, final + 1))
    assert checkpoint_step(run_dir) == final
    frames = sorted(int(path.stem[5:]) for path in (run_dir / "frames").glob("step_*.png"))
    assert frames[0] == 0 and frames[-1] == final and all(step <= final for step in frames)
    config = json.loads((run_dir / "config.json").read_text())
    assert config["resumed_from"] == [killed_at, interrupted_at] and config["steps"] == final


# ---------------------------------------------------------------------------------------------
# sample and evaluate.


def test_sample_writes_arrays_and_grids(trained, tmp_path, capsys):
    run_dir, _ = trained
    arrays = tmp_path / "digits.npy"
    completed = gan_mnist("sample", "--run-dir", str(run_dir), "--n", "5", "--seed", "3",
                          "--out", str(arrays))
    assert_ok(completed)
    assert f"from step {STEPS}" in completed.stdout
    # The same digits as the restored GAN draws here from the same seed.
    gan, step = Run(run_dir).load_gan()
    assert step == STEPS
    images = np.load(arrays)
    assert images.shape == (5, 28, 28, 1)
    np.testing.assert_allclose(images, gan.generate(5, seed=3), atol=1e-6)
    assert not np.allclose(images, gan.generate(5, seed=4), atol=1e-3)

    grid = tmp_path / "grid.png"
    assert cli.main(["sample", "--run-dir", str(run_dir), "--n", "10", "--out", str(grid)]) == 0
    assert iio.imread(grid).ndim == 3


def test_evaluate_prints_the_metrics_as_json(trained, capsys):
    run_dir, _ = trained
    completed = in_process(capsys, "evaluate", "--run-dir", str(run_dir), "--n", "200")
    assert_ok(completed)
    scores = json.loads(completed.stdout)
    assert scores["step"] == STEPS and scores["n"] == 200
    # The same samples and reference as train's metrics.json, so the same numbers.
    written = json.loads((run_dir / "metrics.json").read_text())
    for name in ("fid", "kid", "score", "classes_seen", "floor_fid", "precision", "recall",
                 "density", "coverage", "floor_coverage"):
        assert scores[name] == pytest.approx(written[name], rel=1e-6)


def test_evaluate_scores_a_file_of_images(tmp_path, capsys):
    digits = tmp_path / "digits.npy"
    np.save(digits, data.load_mnist("train")[0][-300:])
    completed = in_process(capsys, "evaluate", "--images", str(digits))
    assert_ok(completed)
    scores = json.loads(completed.stdout)
    assert scores["n"] == 300 and scores["classes_seen"] == 10 and scores["images"] == str(digits)
    assert 0.5 < scores["recall"] <= 1 and 0.5 < scores["floor_recall"] <= 1

    np.save(digits, np.zeros((300, 27, 28), np.uint8))
    assert "shape" in assert_one_line_error(in_process(capsys, "evaluate", "--images", str(digits)),
                                            1)


def test_overwrite_starts_a_run_over(tmp_path, capsys):
    run_dir = tmp_path / "over"
    short = ["train", "--model", "mlp", "--no-jit", "--steps", "4", "--eval-samples", "0"]
    assert_ok(in_process(capsys, *short, "--run-dir", str(run_dir)))
    completed = in_process(capsys, *short, "--steps", "3", "--run-dir", str(run_dir),
                           "--overwrite")
    assert_ok(completed)
    assert history_steps(run_dir) == [1, 2, 3] and checkpoint_step(run_dir) == 3


# ---------------------------------------------------------------------------------------------
# Settings, errors and help, in-process.


def parse_config(*arguments):
    return cli.resolve_config(cli.build_parser().parse_args(["train", *arguments]))


def test_settings_default_to_the_model_s_preset():
    mlp, run_dir = parse_config("--model", "mlp")
    assert (mlp.preset, mlp.loss, mlp.steps, mlp.batch_size) == (
        "vanilla", "non_saturating", 100_000, 128
    )
    assert run_dir == Path("runs") / "mlp-vanilla-non_saturating-seed0"
    dcgan, run_dir = parse_config("--model", "dcgan", "--seed", "7")
    assert (dcgan.preset, dcgan.g_learning_rate, dcgan.d_beta_1) == ("recommended", 2e-4, 0.5)
    assert str(run_dir).endswith("dcgan-recommended-non_saturating-seed7")
    # About 20 snapshots and 10 checkpoints at round intervals.
    assert (dcgan.snapshot_every, dcgan.checkpoint_every) == (200, 500)
    # The command line trains fast by default; --deterministic for bit-identical repeats.
    assert dcgan.deterministic is False and parse_config("--model", "mlp", "--deterministic")[
        0].deterministic is True


def test_epochs_count_passes_over_the_training_set():
    assert parse_config("--model", "dcgan", "--epochs", "3")[0].steps == 3 * (60_000 // 64)
    assert parse_config("--model", "mlp", "--epochs", "2", "--batch-size", "100")[0].steps == 1200


def test_decay_start_lowers_both_learning_rates_from_that_step():
    config, _ = parse_config("--model", "dcgan", "--steps", "30000", "--decay-start", "10000")
    assert (config.decay_start, config.steps) == (10_000, 30_000)
    assert parse_config("--model", "mlp")[0].decay_start is None


def test_label_smoothing_follows_the_loss():
    assert parse_config("--model", "mlp", "--preset", "leaky")[0].label_smoothing == 0.1
    # The leaky preset smooths labels, which the hinge loss does not take.
    leaky_hinge, _ = parse_config("--model", "mlp", "--preset", "leaky", "--loss", "hinge")
    assert leaky_hinge.label_smoothing == 0.0


def test_round_intervals():
    assert [train_arguments.round_interval(value) for value in (0.4, 1, 3, 7, 10, 150, 499, 5000)] == [
        1, 1, 2, 5, 10, 100, 200, 5000
    ]


@pytest.mark.parametrize(
    "arguments, expected",
    [
        ([], "required: COMMAND"),
        (["fit"], "invalid choice: 'fit'"),
        (["train"], "required: --model"),
        (["train", "--model", "gan"], "invalid choice: 'gan'"),
        (["train", "--model", "mlp", "--preset", "classic"], "not a preset of --model mlp"),
        (["train", "--model", "mlp", "--steps", "0"], "--steps: expected an integer of at least 1"),
        (["train", "--model", "mlp", "--steps", "10", "--epochs", "1"], "not allowed with"),
        (["train", "--model", "mlp", "--label-smoothing", "1"], "--label-smoothing"),
        (["train", "--model", "mlp", "--loss", "hinge", "--label-smoothing", "0.1"], "hinge"),
        (["train", "--model", "dcgan", "--jit", "--deterministic"], "--deterministic"),
        (["train", "--model", "mlp", "--batch-size", "60001"], "at most 60,000"),
        (["train", "--model", "mlp", "--eval-samples", "20000"], "--eval-samples"),
        (["sample", "--run-dir", "runs/x"], "required: --out"),
        (["sample", "--run-dir", "runs/x", "--out", "digits.jpg"], ".png"),
        (["evaluate", "--run-dir", "runs/x", "--n", "1"], "--n"),
        (["evaluate"], "one of the arguments --run-dir --images is required"),
        (["evaluate", "--run-dir", "runs/x", "--images", "x.npy"], "not allowed with"),
        (["train", "--model", "mlp", "--resume", "--overwrite"], "not allowed with"),
        (["train", "--model", "dcgan", "--decay-start", "5000"], "below the run's 5,000 steps"),
        (["train", "--model", "dcgan", "--decay-start", "-1"], "--decay-start"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(arguments, expected, capsys):
    with pytest.raises(SystemExit) as exit:
        cli.main(arguments)
    assert exit.value.code == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("gan-mnist") and expected in lines[0]
    assert captured.out == ""


def test_missing_run_folder_is_one_line(tmp_path, capsys):
    assert cli.main(["evaluate", "--run-dir", str(tmp_path / "none")]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: No config.json")


def test_bad_arguments_in_a_subprocess_end_without_a_traceback(tmp_path):
    completed = gan_mnist("sample", "--run-dir", str(tmp_path), "--out", str(tmp_path / "x.png"))
    assert "not a run folder" in assert_one_line_error(completed, code=1)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_of_each_command(command, capsys):
    with pytest.raises(SystemExit) as exit:
        cli.main([command, "--help"])
    assert exit.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: gan-mnist {command} ")


def test_help_and_version_answer_without_starting_tensorflow():
    completed = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import sys
        from gan_mnist import cli
        for arguments in (["--help"], ["train", "--help"], ["--version"]):
            try:
                cli.main(arguments)
            except SystemExit as exit:
                assert exit.code == 0
        print(sorted(name for name in ("tensorflow", "keras") if name in sys.modules))
    """)], capture_output=True, text=True, env=ENVIRONMENT, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines()[-1] == "[]"
    assert f"gan-mnist {__version__}" in completed.stdout


def test_tensorflow_log_lines_are_hidden_unless_verbose(trained):
    _, completed = trained
    assert "absl" not in completed.stderr and "I0000" not in completed.stderr
    # Everything on stderr is the package's own: progress lines only.
    assert all(line.startswith("step ") for line in completed.stderr.splitlines())
    verbose = gan_mnist("--verbose", "sample", "--run-dir", str(trained[0]), "--n", "1",
                        "--out", str(trained[0].parent / "one.npy"))
    assert_ok(verbose)
    assert len(verbose.stderr.strip().splitlines()) > 0


def test_another_keras_backend_is_one_line_naming_the_fix(tmp_path):
    environment = dict(ENVIRONMENT, KERAS_BACKEND="jax")
    completed = subprocess.run(
        [sys.executable, "-m", "gan_mnist", "sample", "--run-dir", str(tmp_path), "--out",
         str(tmp_path / "x.png")], capture_output=True, text=True, env=environment, timeout=60,
    )
    last = assert_one_line_error(completed, code=1)
    assert "KERAS_BACKEND is 'jax'" in last and "KERAS_BACKEND=tensorflow" in last
    imported = subprocess.run([sys.executable, "-c", "import gan_mnist; gan_mnist.GAN"],
                              capture_output=True, text=True, env=environment, timeout=60)
    assert "ImportError: gan_mnist runs on Keras' TensorFlow backend" in imported.stderr


def test_export_writes_a_generator_that_loads_in_safe_mode(trained, tmp_path):
    run_dir, _ = trained
    out = tmp_path / "generator.keras"
    completed = gan_mnist("export", "--run-dir", str(run_dir), "--out", str(out))
    assert_ok(completed)
    assert f"at step {STEPS}" in completed.stdout and not list(tmp_path.glob(".*part*"))
    generator = keras.saving.load_model(out, safe_mode=True)
    gan, _ = Run(run_dir).load_gan()
    latents = gan.sample_latent(4, seed=0)
    np.testing.assert_allclose(generator(latents), gan.generator(latents), atol=1e-6)


def test_train_evaluator_never_replaces_the_shipped_one_unasked(capsys):
    shipped = Path(cli.__file__).parent / "evaluator.keras"
    before = shipped.read_bytes()
    with pytest.raises(SystemExit) as exit:
        cli.main(["train-evaluator", "--output", str(shipped)])
    assert exit.value.code == 2 and "--force" in capsys.readouterr().err
    assert shipped.read_bytes() == before


def test_console_script_is_declared():
    scripts = importlib.metadata.entry_points(group="console_scripts")
    script = next((entry for entry in scripts if entry.name == "gan-mnist"), None)
    if script is None:
        pytest.skip("gan_mnist is not installed, so its console script is not either")
    # Its entry point handles Ctrl-C and kill before it imports the command line.
    entry = importlib.import_module("gan_mnist.__main__")
    assert script.value == "gan_mnist.__main__:run" and script.load() is entry.run
