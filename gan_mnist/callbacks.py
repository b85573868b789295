"""Keras callbacks for GAN training: snapshots, progress, TensorBoard logs, divergence guard,
and a time budget.

They count training steps (generator updates), not epochs, as the classic write-ups do ("a 4x4
grid every 1000 iterations"), and read one record per step from ``GAN.latest_steps()`` even when
many steps run per execution. A callback with a ``step_interval`` fires at exact multiples of it:
``GAN.fit`` sizes its executions so that every interval falls on an execution boundary. The
history file and checkpoints have callbacks of their own (``gan_mnist.history.StepHistory``,
``gan_mnist.checkpoints.Checkpoints``). ``TimeBudget`` works with any Keras model: it stops
training on the clock, to compare models at an equal budget of time.
"""

import math
import re
import sys
import time
import warnings
from pathlib import Path

import imageio.v3 as iio
import numpy as np

from gan_mnist import files, visualize
from gan_mnist.backend import keras, tf
from gan_mnist.engine import check_integer
from gan_mnist.history import RECORDS

FRAME_PATTERN = "step_{step:06d}.png"
FRAME_NAME = re.compile(r"step_(\d{6,})\.png")
# TensorBoard's scalar and image plugins read summaries with this metadata (plugin data
# version 0). Writing them with `tf.summary.write` works without the `tensorboard` package,
# which TensorFlow 2.21 no longer installs; it is only needed to view the logs.
SCALAR_METADATA = tf.compat.v1.SummaryMetadata(
    plugin_data=tf.compat.v1.SummaryMetadata.PluginData(plugin_name="scalars")
)
IMAGE_METADATA = tf.compat.v1.SummaryMetadata(
    plugin_data=tf.compat.v1.SummaryMetadata.PluginData(plugin_name="images")
)


class DivergenceError(RuntimeError):
    """Training produced a NaN or infinite loss."""


def _step(model):
    return int(model.step_counter.numpy())


def frame_steps(directory):
    """The snapshot frames in ``directory`` as ``(step, path)`` pairs in step order."""
    return sorted(
        (int(match.group(1)), path)
        for path in Path(directory).glob("step_*.png")
        if (match := FRAME_NAME.fullmatch(path.name))
    )


# A conditional GAN's frames show one row per digit, 0 to 9, of this many columns.
CONDITIONAL_COLUMNS = 8


def snapshot_grid(model, latents, columns=None):
    """The GAN's digits for fixed ``latents`` as one uint8 grid; ``None`` if it diverged.

    A conditional GAN draws row ``r`` of the grid as digit ``r``; a self-conditioned one draws
    the same cluster ids in every frame.
    """
    if model.conditional:
        columns = CONDITIONAL_COLUMNS
        labels = tf.constant(np.arange(len(latents), dtype=np.int32) // columns)
        images = model.sampler([tf.constant(latents), labels], training=False)
    elif getattr(model, "self_conditioned", False):
        clusters = tf.constant(model.draw_clusters(len(latents), seed=0))
        images = model.sampler([tf.constant(latents), clusters], training=False)
    else:
        images = model.sampler(latents, training=False)
    images = keras.ops.convert_to_numpy(images)
    if not np.all(np.isfinite(images)):
        return None
    return visualize.tile_images(images, cols=columns, value_range=model.value_range)


class EveryNSteps(keras.callbacks.Callback):
    """Calls ``on_interval(step)`` each time training passes a multiple of ``every`` steps.

    ``every=None`` never does. ``GAN.fit`` ends an execution on every multiple of the callback's
    ``step_interval``, so ``step`` is the multiple itself.
    """

    def __init__(self, every):
        super().__init__()
        self.step_interval = None if every is None else check_integer("every", every, 1)
        self._last_step = 0

    def on_train_begin(self, logs=None):
        self._last_step = _step(self.model)

    def on_train_batch_end(self, batch, logs=None):
        step, every = _step(self.model), self.step_interval
        if every and step // every > self._last_step // every:
            if step % every:
                warnings.warn(
                    f"{type(self).__name__} due at a multiple of {every} ran at step {step}: "
                    "steps_per_execution does not divide the interval.",
                    stacklevel=2,
                )
            self.on_interval(step)
        self._last_step = step

    def on_interval(self, step):
        raise NotImplementedError


class _FixedLatentGrids(EveryNSteps):
    """A grid from one fixed latent batch every ``every`` steps (and at the start and end)."""

    def __init__(self, every, count=16, seed=0, latents=None, at_start=True, at_end=True):
        super().__init__(check_integer("every", every, 1))
        self.count = check_integer("count", count, 1)
        self.seed = seed
        self.latents = None if latents is None else np.asarray(latents, dtype=np.float32)
        self.at_start, self.at_end = at_start, at_end
        self.columns = None
        self.saved_step = None

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self.latents is None:
            count = 10 * CONDITIONAL_COLUMNS if self.model.conditional else self.count
            self.latents = self.model.sample_latent(count, seed=self.seed)
        if self.at_start and self._last_step == 0:
            self.on_interval(0)

    def on_train_end(self, logs=None):
        step = _step(self.model)
        if self.at_end and step != self.saved_step:
            self.on_interval(step)

    def on_interval(self, step):
        grid = snapshot_grid(self.model, self.latents, self.columns)
        if grid is not None:
            self.write(step, grid)
            self.saved_step = step

    def write(self, step, grid):
        raise NotImplementedError


class Snapshots(_FixedLatentGrids):
    """Save a grid of generated digits every ``every`` steps as ``directory/step_001000.png``.

    The digits come from one fixed latent batch (``latents``, or ``count`` vectors from
    ``model.sample_latent(count, seed)``), so the frames show the same digits evolving and can
    be played as a GIF (``gan_mnist.animation.make_gif``). ``at_start`` adds step 0 when
    training starts from scratch and ``at_end`` the last step; a diverged generator's frame is
    skipped. ``paths`` lists the files written.
    """

    def __init__(self, directory, every, count=16, seed=0, latents=None, columns=None,
                 at_start=True, at_end=True):
        super().__init__(every, count, seed, latents, at_start, at_end)
        self.directory = Path(directory)
        self.columns = columns
        self.paths = []

    def write(self, step, grid):
        path = files.write_atomically(
            self.directory / FRAME_PATTERN.format(step=step),
            lambda temporary: iio.imwrite(temporary, grid, extension=".png"),
        )
        self.paths.append(path)


class TensorBoardLogger(_FixedLatentGrids):
    """TensorBoard logs in ``directory``: the records of every step and the snapshot grid.

    Writes ``d_loss``, ``g_loss``, ``d_real`` and ``d_fake`` for each training step and, like
    ``Snapshots``, a grid of ``count`` digits from a fixed latent batch every ``every`` steps,
    as ``samples``. View with ``tensorboard --logdir DIRECTORY``.
    """

    def __init__(self, directory, every, count=16, seed=0):
        super().__init__(every, count, seed)
        self.directory = Path(directory)
        self.writer = None

    def on_train_begin(self, logs=None):
        self.writer = writer = tf.summary.create_file_writer(str(self.directory))

        # One call per execution writes all its steps: a summary op called from Python costs
        # about 0.25 ms, as much as a whole MLP training step.
        @tf.function(input_signature=[
            tf.TensorSpec([None], tf.int64), tf.TensorSpec([None, len(RECORDS)], tf.float32),
        ])
        def write_scalars(steps, values):
            with writer.as_default():
                for index in tf.range(tf.shape(steps)[0]):
                    for column, name in enumerate(RECORDS):
                        tf.summary.write(
                            name, values[index, column], step=steps[index], metadata=SCALAR_METADATA
                        )

        self.write_scalars = write_scalars
        super().on_train_begin(logs)

    def write(self, step, grid):
        # The image plugin's tensor: width, height, then the PNG-encoded images.
        tensor = tf.stack([
            tf.constant(str(grid.shape[1])),
            tf.constant(str(grid.shape[0])),
            tf.image.encode_png(grid[..., np.newaxis]),
        ])
        with self.writer.as_default():
            tf.summary.write("samples", tensor, step=step, metadata=IMAGE_METADATA)

    def on_train_batch_end(self, batch, logs=None):
        rows = self.model.latest_steps()
        if rows:
            self.write_scalars(
                np.array([row["step"] for row in rows], dtype=np.int64),
                np.array([[row[name] for name in RECORDS] for row in rows], dtype=np.float32),
            )
        super().on_train_batch_end(batch, logs)
        self.writer.flush()

    def on_train_end(self, logs=None):
        super().on_train_end(logs)
        self.writer.close()


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
        self.reported_tenth = _step(self.model) * 10 // self.total_steps
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
        means = {name: np.mean([row[name] for row in rows]) for name in RECORDS}
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


class DivergenceGuard(keras.callbacks.Callback):
    """Stop training with ``DivergenceError`` at the first step with a NaN or infinite value
    among the records that must stay finite (``engine.Trainer.checked_records``).
    """

    def on_train_batch_end(self, batch, logs=None):
        for row in self.model.latest_steps():
            bad = {name: row[name] for name in self.model.checked_records
                   if not math.isfinite(row[name])}
            if bad:
                self.model.stop_training = True
                values = ", ".join(f"{name} = {value}" for name, value in bad.items())
                raise DivergenceError(
                    f"Training diverged at step {row['step']}: {values}. Training stopped and "
                    "no checkpoint was written after it. Try a lower learning rate, another "
                    "loss or a different seed."
                )


class TimeBudget(keras.callbacks.Callback):
    """Stop training once ``seconds`` of wall-clock time have passed since training began.

    For comparing models at an equal budget of time rather than of steps: train with
    ``fit(..., epochs=<large>, callbacks=[TimeBudget(seconds)])`` and training ends at the first
    batch end after the budget is spent (with ``steps_per_execution=k``, within ``k`` steps of
    it). The clock starts in ``on_train_begin``, so compiling the first step is part of the
    budget. ``steps`` (the batches trained) and ``seconds`` (the time used, a little over the
    budget) are set as training goes; ``exhausted`` says whether the budget stopped it.
    ``marks`` holds ``(seconds, steps)`` at the end of every call, from which ``pace`` gives the
    steps per second in each part of the budget and ``longest_call`` the slowest call: what a
    stall would show.
    """

    def __init__(self, seconds):
        super().__init__()
        if (isinstance(seconds, bool) or not isinstance(seconds, (int, float, np.integer,
                                                                    np.floating))
                or not math.isfinite(seconds) or seconds <= 0):
            raise ValueError(f"seconds must be a positive, finite number, got {seconds!r}.")
        self.budget = float(seconds)
        self.steps = 0
        self.seconds = 0.0
        self.exhausted = False
        self.marks = []
        self._start = None
        self._done_before_epoch = 0

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()
        self.steps, self.seconds, self.exhausted = 0, 0.0, False
        self.marks = []
        self._done_before_epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._done_before_epoch = self.steps

    def on_train_batch_end(self, batch, logs=None):
        # Keras passes the index of the epoch's last batch run: with many steps per execution,
        # one call covers several. An epoch's last call may run fewer than that many, but Keras
        # still reports it as a whole call: no epoch has more batches than `params["steps"]`.
        in_epoch = batch + 1
        if (self.params or {}).get("steps"):
            in_epoch = min(in_epoch, self.params["steps"])
        self.steps = self._done_before_epoch + in_epoch
        self.seconds = time.perf_counter() - self._start
        self.marks.append((self.seconds, self.steps))
        if self.seconds >= self.budget:
            self.exhausted = True
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self._start is not None:
            self.seconds = time.perf_counter() - self._start

    def pace(self, parts=4):
        """Steps per second in each of ``parts`` equal parts of the budget (by the calls that
        ended in each part; NaN for a part in which no call ended).
        """
        rates, previous = [], (0.0, 0)
        for part in range(1, parts + 1):
            end = self.budget * part / parts if part < parts else math.inf
            inside = [mark for mark in self.marks if mark[0] <= end and mark[0] > previous[0]]
            if not inside:
                rates.append(math.nan)
                continue
            seconds, steps = inside[-1]
            rates.append((steps - previous[1]) / (seconds - previous[0]))
            previous = inside[-1]
        return rates

    def longest_call(self, skip_first=True):
        """``(seconds, steps)`` of the slowest call (after the first, which compiles, unless
        ``skip_first`` is False), or None before two calls.
        """
        gaps = [(seconds - before_seconds, steps - before_steps)
                for (before_seconds, before_steps), (seconds, steps)
                in zip([(0.0, 0)] + self.marks[:-1], self.marks)]
        gaps = gaps[1:] if skip_first else gaps
        return max(gaps, default=None)
