"""The ``gan-mnist`` command line, also run as ``python -m gan_mnist``: its commands.

- ``train`` trains a GAN into a run folder (``gan_mnist.Run``); ``--resume`` continues one.
- ``sample`` draws digits from a run's latest checkpoint; ``evaluate`` prints the metrics of a
  run or of a ``.npy`` file of images as JSON; ``export`` writes a run's generator.
- ``data`` downloads or verifies MNIST; ``train-evaluator`` trains the metrics' classifier.

Results go to stdout, everything else (progress, notes, errors) to stderr. Every command ends
with a one-line message and a non-zero exit status on bad input. TensorFlow is loaded only by
the commands that need it, with its own C++ log lines hidden unless ``--verbose`` is given.
"""

import argparse
import json
import logging
import math
import os
import shlex
import sys
import time
from pathlib import Path

from gan_mnist import run_config, stops
from gan_mnist.arguments import PROG, UsageError, build_parser, one_line
from gan_mnist.backend import problem as backend_problem
from gan_mnist.choices import ARCHITECTURES as MODELS
from gan_mnist.choices import SMOOTHED_LOSSES

DEFAULT_PRESETS = {"mlp": "vanilla", "dcgan": "recommended"}
TRAINING_IMAGES = 60_000
# Without --snapshot-every / --checkpoint-every a run takes about 20 snapshots and 10
# checkpoints, at round intervals (1, 2 or 5 times a power of ten).
SNAPSHOTS_PER_RUN = 20
CHECKPOINTS_PER_RUN = 10


def _round_interval(value):
    """The largest of 1, 2, 5, 10, 20, 50, ... that is at most ``value`` (at least 1)."""
    if value < 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return max(factor * power for factor in (1, 2, 5) if factor * power <= value)


# ---------------------------------------------------------------------------------------------
# train.


def resolve_config(arguments):
    """The ``RunConfig`` and run folder of a ``train`` command (the preset fills the gaps)."""
    model = arguments.model
    preset = arguments.preset or DEFAULT_PRESETS[model]
    if preset not in MODELS[model]:
        raise UsageError(
            f"argument --preset: {preset!r} is not a preset of --model {model}; "
            f"choose from {', '.join(MODELS[model])}"
        )
    defaults = run_config.PRESET_SETTINGS[preset]
    loss = arguments.loss or defaults["loss"]
    if arguments.label_smoothing and loss not in SMOOTHED_LOSSES:
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
    if arguments.jit and arguments.deterministic:
        raise UsageError(
            "argument --jit: XLA cannot run with --deterministic (Keras turns it off under "
            "op determinism); drop one of them"
        )
    if arguments.steps is not None:
        steps = arguments.steps
    elif arguments.epochs is not None:
        steps = arguments.epochs * (TRAINING_IMAGES // batch_size)
    else:
        steps = defaults["steps"]
    if arguments.decay_start is not None and arguments.decay_start >= steps:
        raise UsageError(f"argument --decay-start: must be below the run's {steps:,} steps")
    given = dict(
        loss=arguments.loss, label_smoothing=arguments.label_smoothing,
        learning_rate=arguments.learning_rate, beta_1=arguments.beta_1,
        jit_compile=arguments.jit,
    )
    if arguments.conditional and preset == "classic":
        raise UsageError("argument --conditional: the classic DCGAN has no conditional version")
    if arguments.clusters and preset == "classic":
        raise UsageError("argument --clusters: the classic DCGAN has no conditional version")
    config = run_config.RunConfig.from_preset(
        preset, **{key: value for key, value in given.items() if value is not None},
        conditional=arguments.conditional, clusters=arguments.clusters,
        ema_decay=arguments.ema_decay, decay_start=arguments.decay_start,
        minibatch_std=arguments.minibatch_std,
        label_distribution=arguments.label_distribution,
        batch_size=batch_size, steps=steps, d_steps=arguments.d_steps,
        gradient_penalty=arguments.gradient_penalty, mode_seeking=arguments.mode_seeking,
        seed=arguments.seed,
        deterministic=arguments.deterministic,
        snapshot_every=arguments.snapshot_every or _round_interval(steps / SNAPSHOTS_PER_RUN),
        checkpoint_every=(
            arguments.checkpoint_every or _round_interval(steps / CHECKPOINTS_PER_RUN)
        ),
        eval_samples=arguments.eval_samples, tensorboard=arguments.tensorboard,
    )
    kind = f"conditional-{model}" if config.conditional else model
    if config.clusters:
        kind = f"clusters{config.clusters}-{model}"
    run_dir = arguments.run_dir or str(Path("runs") / f"{kind}-{preset}-{loss}-seed{config.seed}")
    return config, Path(run_dir)


def _kind(config):
    if config.clusters:
        return f"self-conditioned ({config.clusters} clusters) "
    return "conditional " * config.conditional


def _train(arguments):
    config, run_dir = resolve_config(arguments)
    arguments.resolved_run_dir = run_dir
    from gan_mnist import callbacks, data, training
    from gan_mnist.backend import keras

    images, labels = data.load_mnist("train")

    def announce(logs=None):
        step = int(progress.model.step_counter.numpy())
        start = f"continuing from step {step:,}" if step else "starting at step 0"
        print(
            f"Training {_kind(config)}{config.architecture} (preset "
            f"{config.preset}, loss {config.loss}) for "
            f"{config.steps:,} steps of batch {config.batch_size} into {run_dir}, {start}.",
            flush=True,
        )

    progress = callbacks.Progress(config.steps)
    arguments.progress = progress
    started = time.perf_counter()
    result = training.train(
        config, images, run_dir, labels=labels if config.conditional else None,
        resume=arguments.resume, overwrite=arguments.overwrite,
        callbacks=[keras.callbacks.LambdaCallback(on_train_begin=announce), progress],
        command=shlex.join([PROG] + arguments.argv),
    )
    seconds = time.perf_counter() - started
    trained = result.steps - (result.resumed_from or 0)
    if trained:
        print(f"Trained {trained:,} steps in {seconds:.0f} s; the run is at step {result.steps:,}.")
    else:
        print(f"Nothing to train: the run is already at step {result.steps:,}.")
    for name, description in result.outputs.items():
        print(f"  {run_dir / name}: {description}")
    return 0


# ---------------------------------------------------------------------------------------------
# sample, evaluate, data, train-evaluator.


def _sample(arguments):
    out = Path(arguments.out)
    if out.suffix.lower() not in (".png", ".npy"):
        raise UsageError(
            f"argument --out: give a .png (a grid) or .npy (the images) path, got {out}"
        )
    import numpy as np

    from gan_mnist import files, visualize
    from gan_mnist.run import Run

    from gan_mnist.conditioning import NUM_CLASSES, digits_in_rows

    gan, step = Run(arguments.run_dir).load_gan()
    if arguments.digit is not None and not gan.conditional:
        raise UsageError(f"argument --digit: {arguments.run_dir} is not a conditional run")
    if arguments.cluster is not None and not gan.self_conditioned:
        raise UsageError(f"argument --cluster: {arguments.run_dir} is not a self-conditioned run")
    if arguments.cluster is not None and arguments.cluster >= gan.classes:
        raise UsageError(f"argument --cluster: {arguments.run_dir} has clusters 0 to "
                         f"{gan.classes - 1}, not {arguments.cluster}")
    labels = None
    if gan.conditional:
        labels = digits_in_rows(arguments.n) if arguments.digit is None else arguments.digit
    images = gan.generate(arguments.n, seed=arguments.seed, labels=labels,
                          clusters=arguments.cluster, truncation=arguments.truncation)
    if out.suffix.lower() == ".png":
        columns = math.ceil(math.sqrt(arguments.n))
        if gan.conditional and arguments.digit is None:
            columns = math.ceil(arguments.n / NUM_CLASSES)  # One row per digit.
        visualize.save_grid(
            images, out, rows=math.ceil(arguments.n / columns), cols=columns,
            value_range=gan.value_range,
        )
    else:
        files.write_atomically(out, lambda temporary: np.save(temporary, images))
    which = "" if labels is None else (
        f" of digit {arguments.digit}" if arguments.digit is not None else ", 0s first"
    )
    if arguments.cluster is not None:
        which = f" of cluster {arguments.cluster}"
    truncated = "" if arguments.truncation == 1 else f", truncation {arguments.truncation:g}"
    print(f"Wrote {arguments.n} samples{which} (seed {arguments.seed}{truncated}) from step "
          f"{step:,} of {arguments.run_dir} to {out}.")
    return 0


def _evaluate(arguments):
    import numpy as np

    from gan_mnist import class_metrics, evaluator, metrics
    from gan_mnist.run import Run

    evaluator.load_evaluator()
    if arguments.images is not None:
        images = np.load(arguments.images, allow_pickle=False)
        n = arguments.n if arguments.n is not None else min(len(images), metrics.MAX_SAMPLES)
        scores = class_metrics.evaluate_images(images, n=n, reference=arguments.reference)
        record = dict(images=str(arguments.images), reference=arguments.reference, **scores)
    else:
        gan, step = Run(arguments.run_dir).load_gan()
        n = arguments.n if arguments.n is not None else metrics.MAX_SAMPLES
        scores = class_metrics.evaluate_gan(gan, n=n, reference=arguments.reference,
                                            seed=arguments.seed)
        record = dict(run_dir=str(arguments.run_dir), step=step, seed=arguments.seed,
                      reference=arguments.reference, **scores)
    print(json.dumps(record, indent=2))
    return 0


def _data(arguments):
    from gan_mnist import data

    folder = data.download_mnist(arguments.dir)
    for split in data.FILES:
        images, _ = data.load_mnist(split, folder)
        print(f"{split}: {len(images):,} images, checksums verified, in {folder}")
    return 0


def _train_evaluator(arguments):
    from gan_mnist import config

    output = Path(arguments.output)
    shipped = config.PACKAGE_DIR / "evaluator.keras"
    if output.resolve() == shipped.resolve() and not arguments.force:
        raise UsageError(
            f"argument --output: {output} is the evaluator shipped in the package, which every "
            "metric of the series is measured with; add --force to replace it"
        )
    from gan_mnist import evaluator

    record = evaluator.train_evaluator(
        output, arguments.seed, arguments.epochs, arguments.batch_size
    )
    print(json.dumps(record, indent=2))
    return 0


def _export(arguments):
    out = Path(arguments.out)
    if out.suffix != ".keras":
        raise UsageError(f"argument --out: give a path ending in .keras, got {out}")
    from gan_mnist import files
    from gan_mnist.run import Run

    gan, step = Run(arguments.run_dir).load_gan()
    files.write_atomically(out, lambda temporary: gan.generator.save(temporary))
    print(f"Wrote the generator of {arguments.run_dir} at step {step:,} to {out} (latent "
          f"{gan.latent} of {gan.latent_dim}, images in {list(gan.value_range)}).")
    return 0


# ---------------------------------------------------------------------------------------------
# Entry point.


COMMANDS = {
    "train": _train, "sample": _sample, "evaluate": _evaluate, "export": _export,
    "data": _data, "train-evaluator": _train_evaluator,
}


class _Notes(logging.Handler):
    """The package's notes (faults it worked around) as ``note: ...`` lines on stderr."""

    def emit(self, record):
        print(f"note: {one_line(record.getMessage())}", file=sys.stderr, flush=True)


def _show_notes():
    logger = logging.getLogger("gan_mnist")
    if not any(isinstance(handler, _Notes) for handler in logger.handlers):
        logger.addHandler(_Notes())
        logger.propagate = False


def _hide_tensorflow_logs(native):
    """Keep TensorFlow's own log lines off the terminal; Python's stderr keeps its messages.

    Its Python warnings go below ERROR; with ``native``, file descriptor 2, where its C++ and
    absl write (some of them before any setting can silence them), goes to /dev/null, and
    ``sys.stderr`` writes to a copy of the real one.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    if native:
        sys.stderr.flush()
        # sys.stderr moves first: a stop at any point of this still has its message seen.
        sys.stderr = os.fdopen(os.dup(2), "w", buffering=1, errors="backslashreplace")
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        os.close(null)


def _run_command(arguments, guard):
    """Parse ``arguments.argv`` into ``arguments`` and run the command; its exit status."""
    _show_notes()
    parser = build_parser()
    parser.parse_args(arguments.argv, namespace=arguments)
    if backend_problem() is not None and arguments.command != "data":
        print(f"error: {backend_problem()}", file=sys.stderr)
        return 1
    if not arguments.verbose:
        _hide_tensorflow_logs(native=guard.at_once)
    try:
        return COMMANDS[arguments.command](arguments)
    except UsageError as error:
        arguments.command_parser.error(str(error))
    except (OSError, ValueError, RuntimeError) as error:
        if guard.stopped is not None:
            raise  # Set off by the stop, which main reports.
        print(f"error: {one_line(error)}", file=sys.stderr)
        return 1


def main(argv=None):
    """Run one command and return its exit status: 0, 1 on errors, or 128 + the signal number
    when stopped at any moment (130 for Ctrl-C, 143 for kill, 129 for a closed terminal; see
    ``stops``). Bad arguments exit with status 2.
    """
    arguments = argparse.Namespace(argv=sys.argv[1:] if argv is None else list(argv))
    with stops.Stops(arguments, at_once=argv is None) as guard:
        try:
            return _run_command(arguments, guard)
        except BaseException as error:
            if not guard.caused(error):
                raise
            return guard.report(error)
