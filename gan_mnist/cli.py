"""The ``gan-mnist`` command line, also run as ``python -m gan_mnist``.

- ``train`` trains a GAN into a run folder: ``config.json``, ``history.csv``, ``checkpoints/``,
  ``frames/``, ``progress.gif``, ``losses.png``, ``samples.png`` and ``metrics.json``, plus
  TensorBoard logs with ``--tensorboard``. ``--resume`` continues an interrupted run.
- ``sample`` draws digits from a run's latest checkpoint; ``evaluate`` prints its metrics as JSON.
- ``data`` downloads or verifies MNIST; ``train-evaluator`` trains the metrics' classifier.

Every command ends with a one-line message and a non-zero exit status on bad input.
"""

import argparse
import json
import math
import platform
import re
import shlex
import signal
import sys
import threading
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

import gan_mnist
from gan_mnist import callbacks, data, files, losses, metrics, models, seeding, training, visualize

PROG = "gan-mnist"
MODELS = {"mlp": models.MLP_PRESETS, "dcgan": models.DCGAN_PRESETS}
DEFAULT_PRESETS = {"mlp": "vanilla", "dcgan": "recommended"}
TRAINING_IMAGES = 60_000
# Without --snapshot-every / --checkpoint-every a run takes about 20 snapshots and 10
# checkpoints, at round intervals (1, 2 or 5 times a power of ten).
SNAPSHOTS_PER_RUN = 20
CHECKPOINTS_PER_RUN = 10
# samples.png shows 64 digits from a seed other than the snapshots' (seed 0), so they differ
# from the GIF's digits.
SAMPLE_COUNT = 64
SAMPLE_SEED = 1
EVALUATION_SEED = 0
MAX_GIF_FRAMES = 60
FRAME_NAME = re.compile(r"step_(\d{6,})\.png")
# The settings a resumed run must share with the run it continues. The number of steps may
# change (to extend a run), and so may speed and output options.
RESUME_KEYS = (
    "model", "preset", "loss", "label_smoothing", "batch_size", "learning_rate", "beta_1",
    "latent", "latent_dim", "value_range", "d_steps", "gradient_penalty", "seed",
)
# TensorBoard's scalar and image plugins read summaries with this metadata (plugin data
# version 0). Writing them with `tf.summary.write` works without the `tensorboard` package,
# which TensorFlow 2.21 no longer installs; it is only needed to view the logs.
SCALAR_METADATA = tf.compat.v1.SummaryMetadata(
    plugin_data=tf.compat.v1.SummaryMetadata.PluginData(plugin_name="scalars")
)
IMAGE_METADATA = tf.compat.v1.SummaryMetadata(
    plugin_data=tf.compat.v1.SummaryMetadata.PluginData(plugin_name="images")
)


class Stopped(KeyboardInterrupt):
    """SIGTERM (``kill``), raised as an exception so that it stops a run as Ctrl-C does."""


# ---------------------------------------------------------------------------------------------
# Small helpers.


def _one_line(error):
    return " ".join(str(error).split())


def _round_interval(value):
    """The largest of 1, 2, 5, 10, 20, 50, ... that is at most ``value`` (at least 1)."""
    if value < 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return max(factor * power for factor in (1, 2, 5) if factor * power <= value)






def _versions():
    return dict(
        python=platform.python_version(),
        tensorflow=tf.__version__,
        keras=keras.__version__,
        numpy=np.__version__,
        gan_mnist=gan_mnist.__version__,
    )


def _latest_checkpoint_step(run_dir):
    latest = tf.train.latest_checkpoint(str(Path(run_dir) / "checkpoints"))
    return int(latest.rsplit("-", 1)[1]) if latest else None


# ---------------------------------------------------------------------------------------------
# Callbacks for the command line's runs.


class Progress(keras.callbacks.Callback):
    """A progress line on ``stream``: rewritten in place on a terminal, else every 10%.

    Shows the step, the mean losses and discriminator outputs of the latest execution, the time
    per step (from the end of the first execution, which includes compiling) and the time left.
    """

    def __init__(self, total_steps, stream=None):
        super().__init__()
        self.total_steps = total_steps
        self.stream = stream if stream is not None else sys.stderr
        self.interactive = self.stream.isatty()
        self.open_line = False

    def on_train_begin(self, logs=None):
        step = int(keras.ops.convert_to_numpy(self.model.step_counter))
        self.reported_tenth = step * 10 // self.total_steps
        self.timer = None

    def on_train_batch_end(self, batch, logs=None):
        rows = self.model.latest_steps()
        if not rows:
            return
        step = rows[-1]["step"]
        now = time.perf_counter()
        timing = ""
        if self.timer is None:
            self.timer = (now, step)
        elif step > self.timer[1]:
            seconds_per_step = (now - self.timer[0]) / (step - self.timer[1])
            left = round(seconds_per_step * (self.total_steps - step))
            timing = f"  {1000 * seconds_per_step:.1f} ms/step, {left // 60}:{left % 60:02d} left"
        means = {name: np.mean([row[name] for row in rows]) for name in training.RECORD_NAMES}
        # Three decimals, or three significant digits for the huge losses of a diverging run.
        d_loss, g_loss = (
            f"{value:.3f}" if abs(value) < 1000 else f"{value:.3g}"
            for value in (means["d_loss"], means["g_loss"])
        )
        line = (
            f"step {step:,}/{self.total_steps:,} ({100 * step // self.total_steps}%)  "
            f"d_loss {d_loss}  g_loss {g_loss}  "
            f"D(x) {means['d_real']:.2f}  D(G(z)) {means['d_fake']:.2f}{timing}"
        )
        if self.interactive:
            self.stream.write(f"\r{line}\x1b[K")
            self.open_line = True
        elif step * 10 // self.total_steps > self.reported_tenth or step == self.total_steps:
            self.reported_tenth = step * 10 // self.total_steps
            self.stream.write(line + "\n")
        self.stream.flush()

    def on_train_end(self, logs=None):
        self.end_line()

    def end_line(self):
        """End the line being rewritten, so that the next message starts on its own line."""
        if self.open_line:
            self.stream.write("\n")
            self.stream.flush()
            self.open_line = False


class TensorBoardLogger(keras.callbacks.Callback):
    """TensorBoard logs in ``directory``: the four metrics of every step and a sample grid.

    Writes ``d_loss``, ``g_loss``, ``d_real`` and ``d_fake`` for each training step and, every
    ``every`` steps (and at the start and end), ``samples``: a grid of ``count`` digits from a
    fixed latent batch, as in the snapshots. View with ``tensorboard --logdir DIRECTORY``.
    """

    def __init__(self, directory, every, count=16, seed=0, value_range=(-1.0, 1.0)):
        super().__init__()
        self.directory = Path(directory)
        self.step_interval = every
        self.count = count
        self.seed = seed
        self.value_range = tuple(value_range)
        self.writer = None

    def on_train_begin(self, logs=None):
        self.writer = writer = tf.summary.create_file_writer(str(self.directory))

        # One call per execution writes all its steps: a summary op called from Python costs
        # about 0.25 ms, as much as a whole MLP training step.
        @tf.function(input_signature=[
            tf.TensorSpec([None], tf.int64),
            tf.TensorSpec([None, len(training.RECORD_NAMES)], tf.float32),
        ])
        def write_scalars(steps, values):
            with writer.as_default():
                for index in tf.range(tf.shape(steps)[0]):
                    for column, name in enumerate(training.RECORD_NAMES):
                        tf.summary.write(
                            name, values[index, column], step=steps[index], metadata=SCALAR_METADATA
                        )

        self.write_scalars = write_scalars
        self.latents = self.model.sample_latent(self.count, seed=self.seed)
        self.last_step = int(keras.ops.convert_to_numpy(self.model.step_counter))
        self.image_step = None
        if self.last_step == 0:
            self.write_image(0)

    def write_image(self, step):
        images = keras.ops.convert_to_numpy(self.model.generator(self.latents, training=False))
        if not np.all(np.isfinite(images)):
            return
        grid = visualize.tile_images(images, value_range=self.value_range)
        # The image plugin's tensor: width, height, then the PNG-encoded images.
        tensor = tf.stack([
            tf.constant(str(grid.shape[1])),
            tf.constant(str(grid.shape[0])),
            tf.image.encode_png(grid[..., np.newaxis]),
        ])
        with self.writer.as_default():
            tf.summary.write("samples", tensor, step=step, metadata=IMAGE_METADATA)
        self.image_step = step

    def on_train_batch_end(self, batch, logs=None):
        rows = self.model.latest_steps()
        if rows:
            self.write_scalars(
                np.array([row["step"] for row in rows], dtype=np.int64),
                np.array([[row[name] for name in training.RECORD_NAMES] for row in rows],
                         dtype=np.float32),
            )
        step = rows[-1]["step"] if rows else self.last_step
        if step // self.step_interval > self.last_step // self.step_interval:
            self.write_image(step)
        self.last_step = step
        self.writer.flush()

    def on_train_end(self, logs=None):
        step = int(keras.ops.convert_to_numpy(self.model.step_counter))
        if step != self.image_step:
            self.write_image(step)
        self.writer.close()


# ---------------------------------------------------------------------------------------------
# train.


def resolve_settings(arguments):
    """Every setting of a ``train`` command, with the preset's values for those left out."""
    model = arguments.model
    preset = arguments.preset or DEFAULT_PRESETS[model]
    if preset not in MODELS[model]:
        raise UsageError(
            f"argument --preset: {preset!r} is not a preset of --model {model}; "
            f"choose from {', '.join(MODELS[model])}"
        )
    defaults = models.preset_settings(preset)
    loss = arguments.loss or defaults["loss"]
    if arguments.label_smoothing is not None:
        label_smoothing = arguments.label_smoothing
    elif losses.get(loss).supports_label_smoothing:
        label_smoothing = defaults["label_smoothing"]
    else:
        # The leaky preset smooths its labels, which only the logistic losses support.
        label_smoothing = 0.0
    if label_smoothing and not losses.get(loss).supports_label_smoothing:
        raise UsageError(
            f"argument --label-smoothing: only the minimax and non_saturating losses smooth "
            f"labels, not --loss {loss}"
        )
    batch_size = arguments.batch_size or defaults["batch_size"]
    if batch_size > TRAINING_IMAGES:
        raise UsageError(
            f"argument --batch-size: at most {TRAINING_IMAGES:,} (the training set), "
            f"got {batch_size:,}"
        )
    if arguments.steps is not None:
        steps = arguments.steps
    elif arguments.epochs is not None:
        steps = arguments.epochs * (TRAINING_IMAGES // batch_size)
    else:
        steps = defaults["steps"]
    if arguments.jit and arguments.deterministic:
        raise UsageError(
            "argument --jit: XLA cannot run with --deterministic (Keras turns it off under "
            "op determinism); drop one of them"
        )
    seed = arguments.seed
    run_dir = arguments.run_dir or str(Path("runs") / f"{model}-{preset}-{loss}-seed{seed}")
    return dict(
        model=model,
        preset=preset,
        loss=loss,
        label_smoothing=float(label_smoothing),
        steps=steps,
        epochs=arguments.epochs,
        batch_size=batch_size,
        learning_rate=arguments.learning_rate or defaults["learning_rate"],
        beta_1=defaults["beta_1"] if arguments.beta_1 is None else arguments.beta_1,
        latent=defaults["latent"],
        latent_dim=defaults["latent_dim"],
        value_range=list(defaults["value_range"]),
        d_steps=arguments.d_steps,
        gradient_penalty=arguments.gradient_penalty,
        seed=seed,
        deterministic=arguments.deterministic,
        jit_compile="auto" if arguments.jit is None else arguments.jit,
        snapshot_every=arguments.snapshot_every or _round_interval(steps / SNAPSHOTS_PER_RUN),
        snapshot_count=16,
        snapshot_seed=0,
        checkpoint_every=(
            arguments.checkpoint_every or _round_interval(steps / CHECKPOINTS_PER_RUN)
        ),
        keep_checkpoints=3,
        tensorboard=arguments.tensorboard,
        eval_samples=arguments.eval_samples,
        run_dir=run_dir,
    )


def check_run_dir(run_dir, settings, resume):
    """Refuse to overwrite a run, or to resume one trained with other settings.

    Returns the run's stored config when resuming, else ``None``.
    """
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise ValueError(f"The run folder {run_dir} is a file; choose another --run-dir.")
    if not run_dir.is_dir() or not any(run_dir.iterdir()):
        return None
    if not resume:
        raise ValueError(
            f"The run folder {run_dir} is not empty; add --resume to continue that run, or "
            "choose another --run-dir."
        )
    config_path = run_dir / "config.json"
    if not config_path.is_file():
        raise ValueError(
            f"{run_dir} holds files but no config.json, so it is not a run of `{PROG} train`; "
            "choose another --run-dir."
        )
    stored = json.loads(config_path.read_text())
    # Compared as JSON, where tuples are lists.
    wanted = json.loads(json.dumps({key: settings[key] for key in RESUME_KEYS}))
    differences = [
        f"{key} {stored.get(key)!r} (this command: {wanted[key]!r})"
        for key in RESUME_KEYS
        if stored.get(key) != wanted[key]
    ]
    if differences:
        raise ValueError(
            f"Cannot resume {run_dir}: it was trained with {'; '.join(differences)}. Repeat "
            "the run's settings (see its config.json) or choose another --run-dir."
        )
    return stored


def _frames(frames_dir):
    """The run's snapshot files in step order, thinned to at most ``MAX_GIF_FRAMES``."""
    frames = sorted(
        (int(match.group(1)), path)
        for path in Path(frames_dir).glob("step_*.png")
        if (match := FRAME_NAME.fullmatch(path.name))
    )
    if len(frames) > MAX_GIF_FRAMES:
        keep = np.unique(np.linspace(0, len(frames) - 1, MAX_GIF_FRAMES).round().astype(int))
        frames = [frames[index] for index in keep]
    return [path for _, path in frames]


def write_outputs(result, settings, stream=None):
    """Write progress.gif, losses.png, samples.png and metrics.json; return what was written."""
    stream = stream if stream is not None else sys.stdout
    run_dir = result.run_dir
    written = {}
    frames = _frames(result.frames_dir)
    if frames:
        visualize.make_gif(frames, run_dir / "progress.gif", duration=150, scale=2)
        written["progress.gif"] = f"{len(frames)} frames"
    name = f"{settings['model']} {settings['preset']}, {settings['loss']}"
    figure = visualize.plot_losses(
        result.history_path, loss=settings["loss"], probabilities=True,
        title=f"{name}, {result.steps:,} steps",
    )
    files.write_atomically(
        run_dir / "losses.png", lambda temporary: figure.savefig(temporary, format="png", dpi=100)
    )
    written["losses.png"] = "loss curves"
    visualize.save_grid(
        result.gan.generate(SAMPLE_COUNT, seed=SAMPLE_SEED), run_dir / "samples.png",
        rows=8, cols=8, title=f"{name}, step {result.steps:,}",
        value_range=settings["value_range"],
    )
    written["samples.png"] = f"{SAMPLE_COUNT} digits"
    if settings["eval_samples"]:
        try:
            metrics.load_evaluator()
        except FileNotFoundError as error:
            print(f"No metrics.json: {_one_line(error)}", file=stream)
        else:
            scores = metrics.evaluate(
                result.gan, n=settings["eval_samples"], seed=EVALUATION_SEED
            )
            record = dict(step=result.steps, seed=EVALUATION_SEED, reference="test", **scores)
            files.write_text(run_dir / "metrics.json", json.dumps(record, indent=2) + "\n")
            written["metrics.json"] = (
                f"Frechet distance {scores['fid']:.2f} (real digits {scores['floor_fid']:.2f}), "
                f"classifier score {scores['score']:.2f} "
                f"(real digits {scores['floor_score']:.2f}), {scores['classes_seen']} classes seen"
            )
    return written


def _train(arguments):
    settings = resolve_settings(arguments)
    run_dir = Path(settings["run_dir"])
    arguments.resolved_run_dir = run_dir
    stored = check_run_dir(run_dir, settings, arguments.resume)
    images, _ = data.load_mnist("train")

    resumed_from = _latest_checkpoint_step(run_dir) if stored else None
    config = dict(
        settings,
        command=shlex.join([PROG] + arguments.argv),
        versions=_versions(),
        resumed_from=(stored.get("resumed_from", []) if stored else [])
        + ([resumed_from] if resumed_from else []),
    )
    run_dir.mkdir(parents=True, exist_ok=True)
    files.write_text(run_dir / "config.json", json.dumps(config, indent=2) + "\n")

    seeding.set_seed(settings["seed"], deterministic=settings["deterministic"])
    generator, discriminator = models.build(settings["preset"])
    progress = Progress(settings["steps"])
    arguments.progress = progress
    run_callbacks = [progress]
    if settings["tensorboard"]:
        run_callbacks.append(TensorBoardLogger(
            run_dir / "tensorboard", settings["snapshot_every"], count=settings["snapshot_count"],
            seed=settings["snapshot_seed"], value_range=settings["value_range"],
        ))
    start = f"continuing from step {resumed_from:,}" if resumed_from else "starting at step 0"
    print(
        f"Training {settings['model']} (preset {settings['preset']}, loss {settings['loss']}) "
        f"for {settings['steps']:,} steps of batch {settings['batch_size']} into {run_dir}, "
        f"{start}.",
        flush=True,
    )
    started = time.perf_counter()
    result = training.train(
        generator, discriminator, images, settings["steps"], preset=settings["preset"],
        loss=settings["loss"], run_dir=run_dir, batch_size=settings["batch_size"],
        learning_rate=settings["learning_rate"], beta_1=settings["beta_1"],
        label_smoothing=settings["label_smoothing"], d_steps=settings["d_steps"],
        gradient_penalty=settings["gradient_penalty"],
        snapshot_every=settings["snapshot_every"], snapshot_count=settings["snapshot_count"],
        snapshot_seed=settings["snapshot_seed"], checkpoint_every=settings["checkpoint_every"],
        keep_checkpoints=settings["keep_checkpoints"], resume=arguments.resume,
        seed=settings["seed"], jit_compile=settings["jit_compile"], verbose=0,
        callbacks=run_callbacks,
    )
    seconds = time.perf_counter() - started
    trained = result.steps - (result.resumed_from or 0)
    if trained:
        print(f"Trained {trained:,} steps in {seconds:.0f} s; the run is at step {result.steps:,}.")
    else:
        print(f"Nothing to train: the run is already at step {result.steps:,}.")
    for name, description in write_outputs(result, settings).items():
        print(f"  {run_dir / name}: {description}")
    return 0


# ---------------------------------------------------------------------------------------------
# sample, evaluate, data, train-evaluator.


def load_run(run_dir):
    """The GAN of a run folder at its latest checkpoint: ``(gan, config, step)``."""
    run_dir = Path(run_dir)
    config_path = run_dir / "config.json"
    if not config_path.is_file():
        raise FileNotFoundError(
            f"No config.json in {run_dir}: not a run folder of `{PROG} train`. Check --run-dir."
        )
    config = json.loads(config_path.read_text())
    missing = [key for key in RESUME_KEYS if key not in config]
    if missing:
        raise ValueError(
            f"{config_path} lacks the settings {missing}; it was not written by {PROG} train."
        )
    generator, discriminator = models.build(config["preset"])
    gan = training.GAN(generator, discriminator, latent=config["latent"], seed=config["seed"])

    def adam():
        return keras.optimizers.Adam(config["learning_rate"], beta_1=config["beta_1"])

    # Compiled like the run, so that the checkpoint (optimizers included) restores exactly.
    gan.compile(adam(), adam(), loss=config["loss"], jit_compile=False)
    step = callbacks.restore_latest(gan, run_dir / "checkpoints")
    if step is None:
        raise FileNotFoundError(
            f"No checkpoint in {run_dir / 'checkpoints'} yet: the run stopped before its first "
            f"one. Continue it with `{PROG} train ... --resume`."
        )
    return gan, config, step


def _sample(arguments):
    out = Path(arguments.out)
    if out.suffix.lower() not in (".png", ".npy"):
        raise UsageError(
            f"argument --out: give a .png (a grid) or .npy (the images) path, got {out}"
        )
    gan, config, step = load_run(arguments.run_dir)
    images = gan.generate(arguments.n, seed=arguments.seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".png":
        columns = math.ceil(math.sqrt(arguments.n))
        visualize.save_grid(
            images, out, rows=math.ceil(arguments.n / columns), cols=columns,
            value_range=config["value_range"],
        )
    else:
        files.write_atomically(out, lambda temporary: np.save(temporary, images))
    print(f"Wrote {arguments.n} samples (seed {arguments.seed}) from step {step:,} of "
          f"{arguments.run_dir} to {out}.")
    return 0


def _evaluate(arguments):
    metrics.load_evaluator()
    gan, _, step = load_run(arguments.run_dir)
    scores = metrics.evaluate(
        gan, n=arguments.n, reference=arguments.reference, seed=arguments.seed
    )
    record = dict(run_dir=str(arguments.run_dir), step=step, seed=arguments.seed,
                  reference=arguments.reference, **scores)
    print(json.dumps(record, indent=2))
    return 0


def _data(arguments):
    folder = data.download_mnist(arguments.dir)
    for split in data.FILES:
        images, _ = data.load_mnist(split, folder)
        print(f"{split}: {len(images):,} images, checksums verified, in {folder}")
    return 0


def _train_evaluator(arguments):
    record = metrics.train_evaluator(
        arguments.output, arguments.seed, arguments.epochs, arguments.batch_size
    )
    print(json.dumps(record, indent=2))
    return 0


# ---------------------------------------------------------------------------------------------
# The parser.


class UsageError(ValueError):
    """A bad combination of arguments, reported like argparse's own errors (exit status 2)."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line: the problem and where to find help."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {_one_line(message)} (see {self.prog} --help)\n")


def _integer(minimum, maximum=None):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f"from {minimum:,} to {maximum:,}" if maximum else f"of at least {minimum}"
            raise argparse.ArgumentTypeError(f"expected an integer {bounds}, got {text}")
        return value

    return parse


def _number(low, high=None, low_inclusive=True):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        too_low = value < low if low_inclusive else value <= low
        if not math.isfinite(value) or too_low or (high is not None and value >= high):
            upper = "inf" if high is None else f"{high:g}"
            bounds = f"{'[' if low_inclusive else '('}{low:g}, {upper})"
            raise argparse.ArgumentTypeError(f"expected a number in {bounds}, got {text}")
        return value

    return parse


def _add_train(commands):
    train = commands.add_parser(
        "train", help="train a GAN into a run folder",
        description=(
            "Train a GAN on the 60,000 MNIST training digits into a run folder: config.json, "
            "history.csv (one row per step), checkpoints/, frames/, progress.gif, losses.png, "
            "samples.png and metrics.json. Settings left out come from the preset. Stop it "
            "with Ctrl-C (or kill) and run the same command with --resume to continue."
        ),
    )
    train.add_argument("--model", required=True, choices=sorted(MODELS),
                       help="mlp: the fully connected GAN; dcgan: the convolutional one")
    train.add_argument("--preset", choices=models.PRESETS,
                       help="vanilla or leaky for mlp, classic or recommended for dcgan "
                            "(default: vanilla for mlp, recommended for dcgan)")
    train.add_argument("--loss", choices=losses.NAMES, help="the GAN loss (default: the preset's)")
    train.add_argument("--label-smoothing", type=_number(0.0, 1.0), metavar="S",
                       help="one-sided label smoothing for the minimax and non_saturating "
                            "losses (default: the preset's)")
    length = train.add_mutually_exclusive_group()
    length.add_argument("--steps", type=_integer(1), metavar="N",
                        help="generator updates in the whole run (default: the preset's)")
    length.add_argument("--epochs", type=_integer(1), metavar="E",
                        help="passes over the training set: E * (60000 // batch size) steps")
    train.add_argument("--batch-size", type=_integer(1), metavar="B",
                       help="digits per step (default: the preset's)")
    train.add_argument("--learning-rate", type=_number(0.0, low_inclusive=False), metavar="LR",
                       help="Adam's learning rate for both networks (default: the preset's)")
    train.add_argument("--beta-1", type=_number(0.0, 1.0), metavar="B1",
                       help="Adam's beta_1 (default: the preset's)")
    train.add_argument("--d-steps", type=_integer(1), default=1, metavar="K",
                       help="discriminator updates per generator update (default: 1; 5 for "
                            "WGAN-GP)")
    train.add_argument("--gradient-penalty", type=_number(0.0), default=0.0, metavar="W",
                       help="weight of the WGAN-GP gradient penalty (default: 0; 10 for WGAN-GP)")
    train.add_argument("--seed", type=_integer(0), default=0,
                       help="seeds the weights, batches and noise (default: 0)")
    train.add_argument("--run-dir", metavar="DIR",
                       help="the run folder (default: runs/MODEL-PRESET-LOSS-seedSEED)")
    train.add_argument("--resume", action="store_true",
                       help="continue the run in --run-dir from its last checkpoint")
    train.add_argument("--snapshot-every", type=_integer(1), metavar="N",
                       help="steps between snapshot frames (default: about 20 per run)")
    train.add_argument("--checkpoint-every", type=_integer(1), metavar="N",
                       help="steps between checkpoints (default: about 10 per run)")
    train.add_argument("--jit", action=argparse.BooleanOptionalAction, default=None,
                       help="compile the train step with XLA (default: for MLPs only, where "
                            "it is faster on a CPU)")
    train.add_argument("--deterministic", action="store_true",
                       help="TensorFlow op determinism: bit-identical repeats, slower and "
                            "without XLA (default: off)")
    train.add_argument("--tensorboard", action="store_true",
                       help="also write TensorBoard logs (metrics and samples) to "
                            "DIR/tensorboard")
    train.add_argument("--eval-samples", type=_integer(0, metrics.MAX_SAMPLES),
                       default=metrics.MAX_SAMPLES, metavar="N",
                       help="samples scored for metrics.json (default: 10,000; 0: no metrics)")
    train.set_defaults(run=_train, command_parser=train)


def build_parser():
    parser = Parser(
        prog=PROG,
        description="Train GANs on MNIST, sample from them and score them.",
        epilog=f"Run `{PROG} COMMAND --help` for the options of a command.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_train(commands)

    sample = commands.add_parser(
        "sample", help="draw digits from a trained run",
        description="Draw digits from the latest checkpoint of a run folder.",
    )
    sample.add_argument("--run-dir", required=True, metavar="DIR", help="a run folder of train")
    sample.add_argument("--n", type=_integer(1), default=SAMPLE_COUNT,
                        help=f"number of digits (default: {SAMPLE_COUNT})")
    sample.add_argument("--seed", type=_integer(0), default=0,
                        help="seed of the latent vectors (default: 0)")
    sample.add_argument("--out", required=True, metavar="PATH",
                        help="a .png for a grid of the digits, or .npy for the images themselves")
    sample.set_defaults(run=_sample, command_parser=sample)

    evaluate = commands.add_parser(
        "evaluate", help="score a trained run (JSON on stdout)",
        description=(
            "Score the latest checkpoint of a run folder with gan_mnist.metrics: Frechet and "
            "kernel distances, classifier score and class coverage, each with the value real "
            "digits get (floor_*). Prints JSON."
        ),
    )
    evaluate.add_argument("--run-dir", required=True, metavar="DIR", help="a run folder of train")
    evaluate.add_argument("--n", type=_integer(2, metrics.MAX_SAMPLES), default=metrics.MAX_SAMPLES,
                          help="number of samples (default: 10,000)")
    evaluate.add_argument("--seed", type=_integer(0), default=EVALUATION_SEED,
                          help="seed of the samples (default: 0)")
    evaluate.add_argument("--reference", choices=metrics.REFERENCES, default="test",
                          help="the MNIST split compared against (default: test)")
    evaluate.set_defaults(run=_evaluate, command_parser=evaluate)

    data_command = commands.add_parser(
        "data", help="download or verify the MNIST files",
        description="Download the MNIST files that are missing and verify their checksums.",
    )
    data_command.add_argument(
        "--dir", default=None, help="data folder (default: $GAN_MNIST_DATA_DIR or data/)"
    )
    data_command.set_defaults(run=_data, command_parser=data_command)

    evaluator = commands.add_parser(
        "train-evaluator", help="train the MNIST classifier behind the metrics",
        description="Train the evaluator that gan_mnist.metrics uses, check it and save it.",
    )
    settings = metrics.EVALUATOR_SETTINGS
    evaluator.add_argument("--seed", type=_integer(0), default=settings["seed"])
    evaluator.add_argument("--epochs", type=_integer(1), default=settings["epochs"])
    evaluator.add_argument("--batch-size", type=_integer(1), default=settings["batch_size"])
    evaluator.add_argument("--output", default=None,
                           help="a .keras path (default: the file shipped in the package)")
    evaluator.set_defaults(run=_train_evaluator, command_parser=evaluator)
    return parser


# ---------------------------------------------------------------------------------------------
# Entry point.


def _stop(signal_number, frame):
    raise Stopped()


def _interrupted(arguments):
    """The message for a stopped command: for train, how to continue the run."""
    progress = getattr(arguments, "progress", None)
    if progress is not None:
        progress.end_line()
    run_dir = getattr(arguments, "resolved_run_dir", None)
    if run_dir is None:
        return "Interrupted."
    step = _latest_checkpoint_step(run_dir)
    if step is None:
        return f"Interrupted before the first checkpoint of {run_dir}; --resume will start it over."
    command = [PROG] + arguments.argv + ([] if arguments.resume else ["--resume"])
    return (f"Interrupted; the last checkpoint of {run_dir} is step {step:,}. "
            f"Continue with: {shlex.join(command)}")


def main(argv=None):
    """Run one command and return its exit status: 0, 1 on errors, or 128 + the signal number
    when stopped (130 for Ctrl-C, 143 for kill). Bad arguments exit with status 2.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    arguments = parser.parse_args(argv)
    arguments.argv = argv
    # `kill` (SIGTERM) stops a run like Ctrl-C, with the same message on how to continue.
    handle_term = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _stop) if handle_term else None
    try:
        return arguments.run(arguments)
    except KeyboardInterrupt as error:
        print(_interrupted(arguments), file=sys.stderr)
        return 128 + (signal.SIGTERM if isinstance(error, Stopped) else signal.SIGINT)
    except UsageError as error:
        arguments.command_parser.error(str(error))
    except (OSError, ValueError, RuntimeError) as error:
        print(f"error: {_one_line(error)}", file=sys.stderr)
        return 1
    finally:
        if handle_term:
            signal.signal(signal.SIGTERM, previous)
