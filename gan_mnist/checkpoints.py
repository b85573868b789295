"""Checkpoints of a GAN: everything training needs to continue exactly, every N steps.

Files are ``tf.train.CheckpointManager``'s, named ``ckpt-<step>``; the newest few are kept.
With counter-based random numbers (``gan_mnist.engine``) the seed and the step fix every later
batch and noise draw, so a run restored at step ``s`` continues as if it had never stopped.

A checkpoint is trusted only once it is complete: ``Checkpoints`` flushes its files to the disk
before it counts one as saved, and ``restore_newest`` reads every tensor of a checkpoint (TensorFlow
checks each one's CRC32C) before restoring it, falling back to older ones when the newest is
damaged (cut short, corrupted, missing a file).
"""

import math
import os
import re
import shutil
from pathlib import Path

import numpy as np

from gan_mnist.backend import tf
from gan_mnist.callbacks import EveryNSteps
from gan_mnist.engine import check_integer

CHECKPOINT_NAME = "ckpt"


def make_checkpoint(gan):
    """A ``tf.train.Checkpoint`` of the two networks (with their batch-norm statistics), both
    optimizers (moments and iteration counts), the step counter, the random seed and, when the
    model keeps them, the average of the generator's (or the discriminator's) weights and the
    shares of its clusters.
    """
    parts = dict(
        generator=gan.generator,
        discriminator=gan.discriminator,
        d_optimizer=gan.d_optimizer,
        g_optimizer=gan.g_optimizer,
        step=gan.step_counter.value,
        random_seed=gan.random_seed.value,
    )
    if getattr(gan, "ema_generator", None) is not None:
        parts["ema_generator"] = gan.ema_generator
    if getattr(gan, "ema_discriminator", None) is not None:
        parts["ema_discriminator"] = gan.ema_discriminator
    if getattr(gan, "cluster_frequencies", None) is not None:
        parts["cluster_frequencies"] = gan.cluster_frequencies.value
    return tf.train.Checkpoint(**parts)


def step_of(path):
    """The step of a checkpoint path ``.../ckpt-<step>``."""
    return int(str(path).rsplit("-", 1)[1])


def steps(directory):
    """The steps of the checkpoints in ``directory`` (by their index files), newest first."""
    pattern = re.compile(rf"{CHECKPOINT_NAME}-(\d+)\.index")
    found = [
        int(match.group(1)) for path in Path(directory).glob(f"{CHECKPOINT_NAME}-*.index")
        if (match := pattern.fullmatch(path.name))
    ]
    return sorted(found, reverse=True)


def latest_step(directory):
    """The step of the newest checkpoint in ``directory``, or ``None`` when it holds none."""
    found = steps(directory)
    return found[0] if found else None


def damage(path):
    """Why the checkpoint at ``path`` (``.../ckpt-<step>``) cannot be restored, or ``None``.

    Reads every tensor, so a file cut short, a flipped byte (a CRC32C mismatch) or a missing
    data file shows here, before anything is restored.
    """
    try:
        reader = tf.train.load_checkpoint(str(path))
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except (tf.errors.OpError, IndexError, ValueError, OSError) as error:
        return " ".join(str(error).split("[Op:")[0].split())[:200] or type(error).__name__
    return None


class DamagedCheckpointsError(ValueError):
    """Checkpoints exist, but none of them can be restored."""


def restore_newest(gan, directory, report=print, at_most=None):
    """Restore the newest intact checkpoint (of step ``at_most`` at the latest); return its step.

    Damaged checkpoints are reported (``report(message)``) and skipped. Returns ``None`` when
    the folder holds no checkpoint; raises ``DamagedCheckpointsError`` when none can be used.
    """
    found = steps(directory)
    if not found:
        return None
    problems = []
    for step in found:
        path = Path(directory) / f"{CHECKPOINT_NAME}-{step}"
        if at_most is not None and step > at_most:
            problems.append(f"ckpt-{step} is later than step {at_most}, the end of the history")
            continue
        reason = damage(path)
        if reason is None:
            make_checkpoint(gan).restore(str(path)).assert_consumed()
            if problems:
                report(f"Using ckpt-{step}, the newest usable checkpoint in {directory}.")
            return int(gan.step_counter.numpy())
        problems.append(f"ckpt-{step} is damaged")
        report(f"Checkpoint ckpt-{step} in {directory} is damaged ({reason}); "
               "trying an older one.")
    raise DamagedCheckpointsError(
        f"No usable checkpoint in {directory} ({', '.join(problems)}). Start the run over "
        "(--overwrite, overwrite=True) or put back an intact copy of the folder."
    )


def restore_latest(gan, directory):
    """Restore the newest intact checkpoint in ``directory``; return its step (``None``: none)."""
    return restore_newest(gan, directory, report=lambda message: None)


def orphans(directory):
    """The data files in ``directory`` that no checkpoint index names, sorted.

    The ``CheckpointManager`` deletes an old checkpoint's index before its data, so a stop
    between the two leaves data that nothing can restore; no valid checkpoint needs them.
    """
    pattern = re.compile(rf"{CHECKPOINT_NAME}-(\d+)\.data-\d+-of-\d+")
    indexed = set(steps(directory))
    return sorted(
        path for path in Path(directory).glob(f"{CHECKPOINT_NAME}-*.data-*")
        if (match := pattern.fullmatch(path.name)) and int(match.group(1)) not in indexed
    )


def remove_orphans(directory, report=print):
    """Delete ``orphans(directory)``, saying so in one line (``report``); return their names."""
    names = [path.name for path in orphans(directory)]
    for name in names:
        (Path(directory) / name).unlink()
    if names:
        report(f"Removed {len(names)} checkpoint file{'s' * (len(names) > 1)} that no index "
               f"names in {directory} ({', '.join(names)}), left by a stop while an old "
               "checkpoint was being deleted.")
    return names


def discard_after(directory, step):
    """Delete the checkpoints after ``step`` (a resumed run's abandoned future) and half-written
    ones, and point TensorFlow's state file at what is left.
    """
    directory = Path(directory)
    for temporary in directory.glob(f"{CHECKPOINT_NAME}-*_temp*"):
        shutil.rmtree(temporary) if temporary.is_dir() else temporary.unlink()
    kept = [number for number in steps(directory) if number <= step]
    for number in steps(directory):
        if number > step:
            for path in directory.glob(f"{CHECKPOINT_NAME}-{number}.*"):
                path.unlink()
    if kept:
        names = [f"{CHECKPOINT_NAME}-{number}" for number in sorted(kept)]
        # The save times let the CheckpointManager go on rotating the checkpoints kept.
        times = [(directory / f"{name}.index").stat().st_mtime for name in names]
        logger = tf.get_logger()
        level = logger.level
        logger.setLevel("ERROR")  # Its deprecation notice is not the user's business.
        try:
            tf.compat.v1.train.update_checkpoint_state(
                str(directory), names[-1], all_model_checkpoint_paths=names,
                all_model_checkpoint_timestamps=times, last_preserved_timestamp=min(times) - 1,
            )
        finally:
            logger.setLevel(level)


def _flush_to_disk(prefix):
    """fsync the files of the checkpoint ``prefix`` and their folder."""
    folder = Path(prefix).parent
    for path in folder.glob(f"{Path(prefix).name}.*"):
        with open(path, "rb") as stream:
            os.fsync(stream.fileno())
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class Checkpoints(EveryNSteps):
    """Save a checkpoint every ``every`` steps (and at the end) into ``directory``.

    The newest ``keep`` are kept. A checkpoint is never written once a loss or a weight has
    become NaN or infinite, so the last one saved is always a good one. ``last_saved`` is the
    step of the newest checkpoint.
    """

    def __init__(self, directory, every=None, keep=3, at_end=True):
        super().__init__(every)
        self.directory = directory
        self.keep = check_integer("keep", keep, 1)
        self.at_end = at_end
        self.manager = None
        self.last_saved = None
        self._diverged = False

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.manager = tf.train.CheckpointManager(
            make_checkpoint(self.model), str(self.directory), max_to_keep=self.keep,
            checkpoint_name=CHECKPOINT_NAME,
        )
        latest = self.manager.latest_checkpoint
        self.last_saved = None if latest is None else step_of(latest)
        self._diverged = False

    def _finite(self):
        rows = self.model.latest_steps()
        values = [row[name] for row in rows for name in self.model.checked_records]
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
        try:
            path = self.manager.save(checkpoint_number=step)
        except tf.errors.OpError as error:
            # A full disk (or a folder that cannot be written): no half-written checkpoint
            # stays behind, and the failure is an OSError like every other write's.
            for temporary in Path(self.directory).glob(f"{CHECKPOINT_NAME}-{step}_temp*"):
                shutil.rmtree(temporary, ignore_errors=True)
            reason = str(error).split("; ")[-1].split(" [Op:")[0]
            raise OSError(f"{reason} while saving checkpoint ckpt-{step}") from None
        _flush_to_disk(path)
        self.last_saved = step
        return path

    def on_interval(self, step):
        self.save(step)

    def on_train_end(self, logs=None):
        if self.at_end:
            self.save(int(self.model.step_counter.numpy()))
