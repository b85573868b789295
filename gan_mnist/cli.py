"""The ``gan-mnist`` command line, also run as ``python -m gan_mnist``: its commands.

- ``train`` trains a GAN, InfoGAN or the semi-supervised GAN into a run folder
  (``gan_mnist.Run``; its settings from ``gan_mnist.train_arguments``); ``--resume`` continues
  one.
- ``sample`` draws digits from a run's latest checkpoint; ``evaluate`` prints the metrics of a
  run or of a ``.npy`` file of images as JSON (for InfoGAN and the semi-supervised GAN, their
  papers' scores); ``export`` writes a run's generator.
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

from gan_mnist import learner_config, run_config, stops
from gan_mnist.arguments import PROG, UsageError, build_parser, one_line
from gan_mnist.backend import problem as backend_problem
from gan_mnist.train_arguments import describe, resolve_config, takes_labels

# ---------------------------------------------------------------------------------------------
# train.


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
            f"Training {describe(config)} for {config.steps:,} steps of batch "
            f"{config.batch_size} into {run_dir}, {start}.",
            flush=True,
        )

    progress = callbacks.Progress(config.steps)
    arguments.progress = progress
    started = time.perf_counter()
    result = training.train(
        config, images, run_dir, labels=labels if takes_labels(config) else None,
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

    run = Run(arguments.run_dir)
    if not isinstance(run.config(), run_config.RunConfig):
        return _sample_learner(arguments, run, out)
    gan, step = run.load_gan()
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


def _sample_learner(arguments, run, out):
    """``sample`` from an InfoGAN run (one row per categorical code) or a semi-supervised one."""
    import numpy as np

    from gan_mnist import files, learners, visualize

    config = run.config()
    for dest, unset in (("digit", None), ("cluster", None), ("truncation", 1.0)):
        if getattr(arguments, dest) != unset:
            raise UsageError(f"argument --{dest}: {arguments.run_dir} is a run of --model "
                             f"{learner_config.COMMAND_NAMES[config.model]}, which does not take "
                             "it")
    model, step = run.load_gan()
    images, rows = learners.draw(model, arguments.n, seed=arguments.seed)
    if out.suffix.lower() == ".png":
        visualize.save_grid(images, out, rows=rows, cols=math.ceil(arguments.n / rows),
                            value_range=(0.0, 1.0))
    else:
        files.write_atomically(out, lambda temporary: np.save(temporary, images))
    which = ", one row per categorical code" if config.model == "infogan" else ""
    print(f"Wrote {arguments.n} samples{which} (seed {arguments.seed}) from step {step:,} of "
          f"{arguments.run_dir} to {out}.")
    return 0


def _evaluate_learner(arguments, run, config):
    """``evaluate`` an InfoGAN or semi-supervised run: the paper's scores on the test digits."""
    from gan_mnist import data, learners

    if arguments.reference != "test":
        raise UsageError(f"argument --reference: {arguments.run_dir} is scored on the test "
                         "digits only")
    if (isinstance(config, learner_config.InfoGANConfig) and arguments.n is not None
            and arguments.n < learner_config.MIN_INFOGAN_SCORED):
        raise UsageError(f"argument --n: at least {learner_config.MIN_INFOGAN_SCORED} for an "
                         "InfoGAN run (Q reads digits by batch statistics)")
    model, step = run.load_gan()
    images, labels = data.load_mnist("test")
    found = learners.scores(model, config, images, labels, n=arguments.n, seed=arguments.seed)
    return dict(run_dir=str(arguments.run_dir), step=step, seed=arguments.seed, **found)


def _evaluate(arguments):
    import numpy as np

    from gan_mnist import class_metrics, evaluator, metrics
    from gan_mnist.run import Run

    if arguments.run_dir is not None:
        run = Run(arguments.run_dir)
        config = run.config()
        if not isinstance(config, run_config.RunConfig):
            print(json.dumps(_evaluate_learner(arguments, run, config), indent=2))
            return 0
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

    run = Run(arguments.run_dir)
    gan, step = run.load_gan()
    files.write_atomically(out, lambda temporary: gan.generator.save(temporary))
    config = run.config()
    if isinstance(config, learner_config.InfoGANConfig):
        inputs = (f"noise of {config.noise_dim} uniform in [-1, 1], a one-hot code of "
                  f"{config.categories} and {config.continuous} continuous codes, concatenated")
    elif isinstance(config, learner_config.SemiSupervisedConfig):
        inputs = f"noise of {config.noise_dim} uniform in [0, 1]"
    else:
        inputs = f"latent {gan.latent} of {gan.latent_dim}"
    print(f"Wrote the generator of {arguments.run_dir} at step {step:,} to {out} ({inputs}, "
          f"images in {list(gan.value_range)}).")
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
