"""Keras callbacks for GAN training: snapshots, per-step history, checkpoints, divergence guard.

They count training steps (generator updates), not epochs, as the classic write-ups do ("a 4x4
grid every 1000 iterations"). They work with ``gan_mnist.training.GAN``, whose
``latest_steps()`` gives one record per step even when many steps run per execution. A callback
with a ``step_interval`` fires at exact multiples of it: ``GAN.fit`` picks the number of steps
per execution so that every interval falls on an execution boundary.
"""

import csv
import io
import json
import math
import warnings
from pathlib import Path

import imageio.v3 as iio
import keras
import numpy as np
import tensorflow as tf

from gan_mnist import files, visualize

COLUMNS = ("step", "d_loss", "g_loss", "d_real", "d_fake")
FRAME_PATTERN = "step_{step:06d}.png"


class DivergenceError(RuntimeError):
    """Training produced a NaN or infinite loss."""


def _current_step(model):
    return int(model.step_counter.numpy())


def _check_interval(name, value, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)




# ---------------------------------------------------------------------------------------------
# Snapshots.


class Snapshots(keras.callbacks.Callback):
    """Save a grid of generated digits every ``every`` steps as ``directory/step_001000.png``.

    The digits come from one fixed latent batch (``latents``, or ``count`` vectors from
    ``model.sample_latent(count, seed)``), so the frames show the same digits evolving and can
    be played as a GIF (``gan_mnist.visualize.make_gif``). ``at_start`` adds step 0 when training
    starts from scratch and ``at_end`` the last step. Images are mapped from ``value_range`` to
    grey levels. ``paths`` lists the files written.
    """

    def __init__(self, directory, every, count=16, seed=0, latents=None, value_range=(-1.0, 1.0),
                 columns=None, at_start=True, at_end=True):
        super().__init__()
        self.directory = Path(directory)
        self.step_interval = _check_interval("every", every)
        self.count = _check_interval("count", count)
        self.seed = seed
        self.latents = None if latents is None else np.asarray(latents, dtype=np.float32)
        low, high = (float(value) for value in value_range)
        if not low < high:
            raise ValueError(f"value_range must be (low, high) with low < high, got {value_range}.")
        self.value_range = (low, high)
        self.columns = columns
        self.at_start = at_start
        self.at_end = at_end
        self.paths = []
        self._last_step = 0

    def on_train_begin(self, logs=None):
        if self.latents is None:
            self.latents = self.model.sample_latent(self.count, seed=self.seed)
        self._last_step = _current_step(self.model)
        if self.at_start and self._last_step == 0:
            self.save(0)

    def on_train_batch_end(self, batch, logs=None):
        step = _current_step(self.model)
        if step // self.step_interval > self._last_step // self.step_interval:
            if step % self.step_interval:
                warnings.warn(
                    f"Snapshot due at a multiple of {self.step_interval} saved at step {step}: "
                    "steps_per_execution does not divide the snapshot interval.",
                    stacklevel=2,
                )
            self.save(step)
        self._last_step = step

    def on_train_end(self, logs=None):
        step = _current_step(self.model)
        name = FRAME_PATTERN.format(step=step)
        if self.at_end and not (self.paths and self.paths[-1].name == name):
            self.save(step)

    def save(self, step):
        """Write the frame of ``step``; a diverged generator's frame is skipped."""
        images = keras.ops.convert_to_numpy(self.model.generator(self.latents, training=False))
        if not np.all(np.isfinite(images)):
            return None
        grid = visualize.tile_images(images, cols=self.columns, value_range=self.value_range)
        path = files.write_atomically(
            self.directory / FRAME_PATTERN.format(step=step),
            lambda temporary: iio.imwrite(temporary, grid, extension=".png"),
        )
        self.paths.append(path)
        return path


# ---------------------------------------------------------------------------------------------
# Per-step history.


def read_history(path):
    """A history file written by ``StepHistory`` as a dict of lists (``step`` as integers).

    A last CSV row cut short (a run killed while appending) is left out, so a resumed run
    continues a complete history.
    """
    path = Path(path)
    if path.suffix == ".json":
        with open(path) as stream:
            columns = json.load(stream)
        return {name: list(columns.get(name, [])) for name in COLUMNS}
    with open(path, newline="") as stream:
        text = stream.read()
    if text and not text.endswith("\n"):
        # A process killed mid-append leaves its last row cut short: drop that row.
        text = text[: text.rfind("\n") + 1]
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    return {
        name: [int(row[name]) if name == "step" else float(row[name]) for row in rows]
        for name in COLUMNS
    }


class StepHistory(keras.callbacks.Callback):
    """Write one row per training step (``COLUMNS``) to a ``.csv`` or ``.json`` file.

    CSV rows are appended after every execution, so the file is readable with
    ``csv.DictReader`` while training runs; JSON (a dict of lists for ``json.load``) is
    rewritten at the end of each epoch. With ``append`` an existing file is continued after
    dropping rows beyond the current step (those of a run that went past its last
    checkpoint); otherwise the file starts afresh. ``history`` holds this callback's rows as a
    dict of lists.
    """

    def __init__(self, path, append=False):
        super().__init__()
        self.path = Path(path)
        if self.path.suffix not in (".csv", ".json"):
            raise ValueError(f"The history file must end in .csv or .json, got {self.path.name}.")
        self.append = append
        self.history = {name: [] for name in COLUMNS}

    def on_train_begin(self, logs=None):
        step = _current_step(self.model)
        kept = {name: [] for name in COLUMNS}
        if self.append and self.path.is_file():
            earlier = read_history(self.path)
            keep = [index for index, number in enumerate(earlier["step"]) if number <= step]
            kept = {name: [earlier[name][index] for index in keep] for name in COLUMNS}
        self.history = kept
        self._write_all()

    def _write_all(self):
        if self.path.suffix == ".json":
            text = json.dumps(self.history)
            files.write_atomically(self.path, lambda temporary: Path(temporary).write_text(text))
            return

        def write(temporary):
            with open(temporary, "w", newline="") as stream:
                writer = csv.writer(stream)
                writer.writerow(COLUMNS)
                writer.writerows(zip(*(self.history[name] for name in COLUMNS)))

        files.write_atomically(self.path, write)

    def on_train_batch_end(self, batch, logs=None):
        rows = self.model.latest_steps()
        for row in rows:
            for name in COLUMNS:
                self.history[name].append(row[name])
        if self.path.suffix == ".csv" and rows:
            with open(self.path, "a", newline="") as stream:
                csv.writer(stream).writerows([row[name] for name in COLUMNS] for row in rows)

    def on_epoch_end(self, epoch, logs=None):
        if self.path.suffix == ".json":
            self._write_all()


# ---------------------------------------------------------------------------------------------
# Checkpoints.


def make_checkpoint(gan):
    """A ``tf.train.Checkpoint`` of everything training needs to continue exactly.

    The two networks (with their batch-norm statistics), both optimizers (moments and
    iteration counts), the step counter and the random seed: with counter-based random
    numbers the seed and the step fix every later batch and noise draw.
    """
    return tf.train.Checkpoint(
        generator=gan.generator,
        discriminator=gan.discriminator,
        d_optimizer=gan.d_optimizer,
        g_optimizer=gan.g_optimizer,
        step=gan.step_counter.value,
        random_seed=gan.random_seed.value,
    )


def restore_latest(gan, directory):
    """Restore the newest checkpoint in ``directory`` into a compiled GAN; return its step.

    Returns ``None`` when the folder holds no checkpoint.
    """
    latest = tf.train.latest_checkpoint(str(directory))
    if latest is None:
        return None
    make_checkpoint(gan).restore(latest).assert_consumed()
    return _current_step(gan)


class Checkpoints(keras.callbacks.Callback):
    """Save a checkpoint every ``every`` steps (and at the end) with ``tf.train.CheckpointManager``.

    Files are named ``ckpt-<step>`` and the newest ``keep`` are kept. A checkpoint is never
    written once a loss or a weight has become NaN or infinite, so the last one saved is
    always a good one. ``last_saved`` is the step of the newest checkpoint.
    """

    def __init__(self, directory, every=None, keep=3, at_end=True):
        super().__init__()
        self.directory = Path(directory)
        self.step_interval = _check_interval("every", every, allow_none=True)
        self.keep = _check_interval("keep", keep)
        self.at_end = at_end
        self.manager = None
        self.last_saved = None
        self._diverged = False
        self._last_step = 0

    def on_train_begin(self, logs=None):
        self.manager = tf.train.CheckpointManager(
            make_checkpoint(self.model), str(self.directory), max_to_keep=self.keep,
            checkpoint_name="ckpt",
        )
        latest = self.manager.latest_checkpoint
        self.last_saved = int(latest.rsplit("-", 1)[1]) if latest else None
        self._diverged = False
        self._last_step = _current_step(self.model)

    def _finite(self):
        rows = self.model.latest_steps()
        values = [row[name] for row in rows for name in COLUMNS[1:]]
        if not all(math.isfinite(value) for value in values):
            return False
        networks = (self.model.generator, self.model.discriminator)
        return all(
            np.all(np.isfinite(weight.numpy()))
            for network in networks
            for weight in network.weights
        )

    def save(self, step):
        """Save a checkpoint for ``step`` unless training has diverged."""
        self._diverged = self._diverged or not self._finite()
        if self._diverged or step == self.last_saved:
            return None
        path = self.manager.save(checkpoint_number=step)
        self.last_saved = step
        return path

    def on_train_batch_end(self, batch, logs=None):
        step = _current_step(self.model)
        every = self.step_interval
        if every and step // every > self._last_step // every:
            self.save(step)
        self._last_step = step

    def on_train_end(self, logs=None):
        if self.at_end:
            self.save(_current_step(self.model))


# ---------------------------------------------------------------------------------------------
# Divergence.


class DivergenceGuard(keras.callbacks.Callback):
    """Stop training with ``DivergenceError`` at the first step with a NaN or infinite metric."""

    def on_train_batch_end(self, batch, logs=None):
        for row in self.model.latest_steps():
            bad = {name: row[name] for name in COLUMNS[1:] if not math.isfinite(row[name])}
            if bad:
                self.model.stop_training = True
                values = ", ".join(f"{name} = {value}" for name, value in bad.items())
                raise DivergenceError(
                    f"Training diverged at step {row['step']}: {values}. Training stopped and "
                    "no checkpoint was written after it. Try a lower learning rate, another "
                    "loss or a different seed."
                )
