"""``Run``: a run folder as an object that owns its layout.

::

    RUN/
    ├── config.json    the RunConfig, plus the command, the versions and the resumed steps
    ├── history.csv    one row per step: step, d_loss, g_loss, d_real, d_fake
    ├── checkpoints/   ckpt-<step>.* (the newest few)
    ├── frames/        step_000000.png ...: digits from fixed noise every snapshot_every steps
    ├── progress.gif   the frames as an animation
    ├── losses.png     the loss curves and discriminator outputs
    ├── samples.png    64 digits from fresh noise
    ├── metrics.json   the metrics of gan_mnist.metrics.evaluate (with eval_samples > 0)
    ├── clusters.npz   a self-conditioned run's clusters (gan_mnist.clustering)
    └── tensorboard/   TensorBoard logs (with tensorboard=True)

A run of InfoGAN or of the semi-supervised GAN (``gan_mnist.learner_config``) keeps its config
(which names its model), its history (with the model's own records), checkpoints, losses.png,
samples.png (InfoGAN's: 100 digits, one row per categorical code) and, with eval_samples, its
paper's scores in metrics.json (``gan_mnist.learners``); no frames, GIF, clusters or TensorBoard
logs. ``gan_mnist.train(config, images, run_dir)`` and the command line both go through it.
"""

import contextlib
import fcntl
import json
import logging
import os
import platform
import shutil
import socket
import sys
import time
from pathlib import Path

import numpy as np

from gan_mnist import animation, callbacks, checkpoints, conditioning, files, history, visualize
from gan_mnist.choices import EVALUATION_SEED, SAMPLE_COUNT, SAMPLE_SEED
from gan_mnist.gan import build_gan
from gan_mnist.learner_config import NAMES, config_from_dict
from gan_mnist.run_config import RunConfig

MAX_GIF_FRAMES = 60
# samples.png shows SAMPLE_COUNT digits from a seed other than the snapshots' (seed 0), so
# they differ from the GIF's digits; metrics.json scores samples of EVALUATION_SEED.
# config.json's entries that describe the run rather than configure it.
RECORD_KEYS = ("command", "versions", "resumed_from")
# The writer's lock: a file whose flock(2) lock the kernel drops when its holder dies.
LOCK_NAME = ".lock"
logger = logging.getLogger("gan_mnist")


class RunInUseError(RuntimeError):
    """Another process is writing into the run folder."""


def note(message):
    """Tell the user about a fault the package worked around (on the ``gan_mnist`` logger)."""
    logger.warning(message)


def versions():
    """The versions of Python and the libraries a run was made with."""
    import gan_mnist
    from gan_mnist.backend import keras, tf

    return dict(python=platform.python_version(), tensorflow=tf.__version__,
                keras=keras.__version__, numpy=np.__version__, gan_mnist=gan_mnist.__version__)


class Run:
    """The run folder ``directory`` (see the module for its layout)."""

    def __init__(self, directory):
        self.directory = Path(directory)
        self.config_path = self.directory / "config.json"
        self.history_path = self.directory / "history.csv"
        self.checkpoints_dir = self.directory / "checkpoints"
        self.frames_dir = self.directory / "frames"
        self.tensorboard_dir = self.directory / "tensorboard"
        self.gif_path = self.directory / "progress.gif"
        self.losses_path = self.directory / "losses.png"
        self.samples_path = self.directory / "samples.png"
        self.metrics_path = self.directory / "metrics.json"
        self.clusters_path = self.directory / "clusters.npz"

    def __repr__(self):
        return f"Run({str(self.directory)!r})"

    # -----------------------------------------------------------------------------------------
    # Reading.

    def is_empty(self):
        """Whether the folder is missing or holds nothing (but its lock)."""
        return not self.directory.is_dir() or all(
            path.name == LOCK_NAME for path in self.directory.iterdir()
        )

    def record(self):
        """``config.json`` as a dict: the config's settings and the run's record."""
        if not self.config_path.is_file():
            raise FileNotFoundError(
                f"No config.json in {self.directory}: not a run folder of gan_mnist.train or "
                "`gan-mnist train`. Check the folder."
            )
        try:
            return json.loads(self.config_path.read_text())
        except json.JSONDecodeError as error:
            raise ValueError(f"{self.config_path} is not valid JSON ({error}).") from None

    def config(self):
        """The run's config, read from ``config.json``: a GAN's ``RunConfig``, or the
        ``InfoGANConfig`` or ``SemiSupervisedConfig`` of the model it names
        (``learner_config.config_from_dict``).
        """
        settings = {key: value for key, value in self.record().items() if key not in RECORD_KEYS}
        try:
            return config_from_dict(settings)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"{self.config_path} does not hold the settings of this version of gan_mnist "
                f"({error}); train a new run."
            ) from None

    def clustering(self):
        """A self-conditioned run's ``clustering.Clustering``, from ``clusters.npz``."""
        from gan_mnist.clustering import Clustering

        return Clustering.load(self.clusters_path)

    def latest_step(self):
        """The step of the newest checkpoint, or ``None``."""
        return checkpoints.latest_step(self.checkpoints_dir)

    def history(self):
        """The per-step history, a dict of lists (see ``gan_mnist.history.read_history``)."""
        return history.read_history(self.history_path)

    def frames(self, limit=None):
        """The snapshot files in step order, thinned evenly to at most ``limit``."""
        frames = [path for _, path in callbacks.frame_steps(self.frames_dir)]
        if limit is not None and len(frames) > limit:
            keep = np.unique(np.linspace(0, len(frames) - 1, limit).round().astype(int))
            frames = [frames[index] for index in keep]
        return frames

    def load_gan(self, networks=None):
        """The run's GAN at its newest checkpoint: ``(gan, step)``.

        ``networks`` are the run's own ``(generator, discriminator)`` when it was trained with
        networks of its own rather than its preset's. An InfoGAN or semi-supervised run gives
        its ``InfoGAN`` or ``SemiSupervisedGAN`` (``learners.build``; the semi-supervised one
        reads its labelled digits from the MNIST training set again).
        """
        config = self.config()
        if isinstance(config, RunConfig):
            gan = build_gan(config.replace(jit_compile=False), networks)
        else:
            gan = _build_learner(config)
        step = checkpoints.restore_newest(gan, self.checkpoints_dir, note)
        if step is None:
            raise FileNotFoundError(
                f"No checkpoint in {self.checkpoints_dir} yet: the run stopped before its first "
                "one. Continue it with resume=True (`gan-mnist train ... --resume`)."
            )
        return gan, step

    # -----------------------------------------------------------------------------------------
    # Writing.

    @contextlib.contextmanager
    def lock(self):
        """Hold the folder's one-writer lock while the block runs.

        A second writer gets ``RunInUseError`` naming the process that holds the lock. A lock
        left by a process that died is taken over, with a note.
        """
        if self.directory.exists() and not self.directory.is_dir():
            raise ValueError(f"The run folder {self.directory} is a file; choose another folder.")
        self.directory.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RunInUseError(
                    f"The run folder {self.directory} is in use by {_holder(descriptor)}; wait "
                    "for it to finish (or stop it) and try again."
                ) from None
            if os.fstat(descriptor).st_size:
                note(f"Took over the lock of {self.directory} left by {_holder(descriptor)}, "
                     "which is no longer running.")
            os.ftruncate(descriptor, 0)
            holder = dict(pid=os.getpid(), host=socket.gethostname(),
                          command=" ".join(sys.argv)[:200], started=time.strftime("%Y-%m-%d %H:%M:%S"))
            os.pwrite(descriptor, json.dumps(holder).encode(), 0)
            try:
                yield self
            finally:
                # Released on every way out, errors and Ctrl-C too: only a writer that died
                # leaves its name for the next one to take over.
                os.ftruncate(descriptor, 0)
        finally:
            os.close(descriptor)

    def restore(self, gan):
        """Restore the newest intact checkpoint that the history reaches; return its step.

        Damaged checkpoints and a damaged history are noted and worked around: the history is
        kept up to its first bad row, and the run goes back to the newest good checkpoint no
        later than that. Everything after the step resumed from (checkpoints, frames, history
        rows) is dropped, so the resumed run writes each step exactly once, and the data files
        of checkpoints whose index a stop already deleted are removed (``checkpoints.orphans``).
        ``None``: no checkpoint yet.
        """
        columns = ("step",) + tuple(gan.RECORDS)
        kept, problem = history.read_run_history(self.history_path, columns)
        if problem:
            note(f"{problem[0].upper()}{problem[1:]}; keeping steps 1-{len(kept['step']):,}.")
        checkpoints.remove_orphans(self.checkpoints_dir, note)
        step = checkpoints.restore_newest(gan, self.checkpoints_dir, note,
                                          at_most=len(kept["step"]))
        if step is None:
            return None
        checkpoints.discard_after(self.checkpoints_dir, step)
        self.clear(after_step=step)
        history.write_csv(self.history_path,
                          {name: values[:step] for name, values in kept.items()}, columns)
        return step

    def start(self, config, resume=False, overwrite=False):
        """Get the folder ready for training ``config``; return the stored record or ``None``.

        A non-empty folder is refused unless ``resume`` (its config must be of the same model
        and match ``config`` in its ``resume_keys()``) or ``overwrite`` (its outputs are deleted
        first).
        """
        if self.is_empty():
            return None
        if not resume and not overwrite:
            raise ValueError(
                f"The run folder {self.directory} is not empty; continue that run with --resume "
                "(resume=True), start it over with --overwrite (overwrite=True), or choose "
                "another folder."
            )
        if not self.config_path.is_file():
            raise ValueError(
                f"{self.directory} holds files but no config.json, so it is not a run folder "
                "of gan_mnist; choose another folder."
            )
        if overwrite:
            self.clear()
            return None
        stored = self.config()
        if type(stored) is not type(config):
            raise ValueError(
                f"Cannot resume {self.directory}: it holds a run of {_model_name(stored)}, not "
                f"of {_model_name(config)}. Choose another folder."
            )
        differences = config.differences(stored)
        if differences:
            listed = "; ".join(
                f"{key} {stored!r} (this run: {wanted!r})"
                for key, (wanted, stored) in differences.items()
            )
            raise ValueError(
                f"Cannot resume {self.directory}: it was trained with {listed}. Repeat the run's "
                "settings (see its config.json) or choose another folder."
            )
        return self.record()

    def clear(self, after_step=None):
        """Delete the run's outputs: all of them, or only the frames after ``after_step``.

        Temporary files that a killed writer left behind go too.
        """
        for folder in (self.directory, self.frames_dir):
            for leftover in folder.glob(".*.part-*"):
                leftover.unlink()
        for step, frame in callbacks.frame_steps(self.frames_dir):
            if after_step is None or step > after_step:
                frame.unlink()
        if after_step is not None:
            return
        for folder in (self.checkpoints_dir, self.tensorboard_dir):
            if folder.is_dir():
                shutil.rmtree(folder)
        for path in (self.history_path, self.config_path, self.gif_path, self.losses_path,
                     self.samples_path, self.metrics_path, self.clusters_path):
            path.unlink(missing_ok=True)

    def write_config(self, config, command=None, resumed_from=()):
        """Write ``config.json``: the config, the command, the versions, the resumed steps."""
        record = dict(config.to_dict(), command=command, versions=versions(),
                      resumed_from=list(resumed_from))
        files.write_text(self.config_path, json.dumps(record, indent=2) + "\n")

    def write_outputs(self, gan, config):
        """Write progress.gif, losses.png, samples.png and metrics.json; describe each."""
        written = {}
        frames = self.frames(MAX_GIF_FRAMES)
        if frames:
            animation.make_gif(frames, self.gif_path, duration=150, scale=2)
            written["progress.gif"] = f"{len(frames)} frames"
        step = int(gan.step_counter.numpy())
        name = f"{config.architecture} {config.preset}, {config.loss}"
        figure = visualize.plot_losses(
            self.history_path, loss=config.loss, probabilities=True, title=f"{name}, {step:,} steps"
        )
        files.write_atomically(
            self.losses_path, lambda temporary: figure.savefig(temporary, format="png", dpi=100)
        )
        written["losses.png"] = "loss curves"
        if gan.conditional:
            # One row per digit, 0 to 9.
            count, rows = 100, 10
            images = gan.generate(count, seed=SAMPLE_SEED, labels=conditioning.digits_in_rows(100))
        else:
            count, rows = SAMPLE_COUNT, 8
            images = gan.generate(count, seed=SAMPLE_SEED)
        visualize.save_grid(images, self.samples_path, rows=rows, cols=count // rows,
                            title=f"{name}, step {step:,}", value_range=gan.value_range)
        written["samples.png"] = f"{count} digits"
        if config.eval_samples and (summary := self.write_metrics(gan, config.eval_samples)):
            written["metrics.json"] = summary
        return written

    def write_metrics(self, gan, n):
        """Score ``n`` samples into metrics.json; return a one-line summary (``None``: no
        evaluator to score with, which is noted).
        """
        from gan_mnist import class_metrics, evaluator

        try:
            evaluator.load_evaluator()
        except FileNotFoundError as error:
            note(f"No metrics.json: {' '.join(str(error).split())}")
            return None
        scores = class_metrics.evaluate_gan(gan, n=n, seed=EVALUATION_SEED)
        record = dict(step=int(gan.step_counter.numpy()), seed=EVALUATION_SEED,
                      reference="test", **scores)
        files.write_text(self.metrics_path, json.dumps(record, indent=2) + "\n")
        accuracy = (f", label accuracy {scores['label_accuracy']:.1%}"
                    if "label_accuracy" in scores else "")
        return (
            f"Frechet distance {scores['fid']:.2f} (real digits {scores['floor_fid']:.2f}), "
            f"classifier score {scores['score']:.2f} (real digits {scores['floor_score']:.2f}), "
            f"precision {scores['precision']:.2f} and recall {scores['recall']:.2f} (real digits "
            f"{scores['floor_precision']:.2f} and {scores['floor_recall']:.2f}), "
            f"{scores['classes_seen']} classes seen, worst class {scores['worst_class']} at "
            f"{scores['worst_class_ratio']:.1f}x its floor{accuracy}"
        )


def _model_name(config):
    return "a GAN" if isinstance(config, RunConfig) else NAMES[config.model]


def _build_learner(config):
    """The untrained model of an InfoGAN or semi-supervised config, to restore a run into (its
    initial weights are overwritten, so nothing is seeded).
    """
    from gan_mnist import data, learners

    if config.model == "semi_supervised":
        return learners.build(config, *data.load_mnist("train"))
    return learners.build(config)


def _holder(descriptor):
    """Who holds (or held) a lock, from the lock file's JSON."""
    try:
        holder = json.loads(os.pread(descriptor, 4096, 0) or b"{}")
        return (f"process {holder['pid']} on {holder['host']} ({holder['command']}, since "
                f"{holder['started']})")
    except (ValueError, KeyError, TypeError):
        return "another process"
