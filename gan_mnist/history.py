"""The per-step training history: its columns, the callback that writes it, the one reader.

A history holds one row per training step (generator update): the step (1 for the first
update) and what the model records (a GAN's ``RECORDS``: both losses and the mean discriminator
outputs on real and generated images; InfoGAN and the semi-supervised GAN add a loss). Runs
write it as ``history.csv`` (appended while training, readable at any time) or as a JSON dict
of lists; ``read_history`` reads those files and the in-memory forms alike.
"""

import csv
import io
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from gan_mnist import files
from gan_mnist.backend import keras

COLUMNS = ("step", "d_loss", "g_loss", "d_real", "d_fake")
# What a training step records, after its step number.
RECORDS = COLUMNS[1:]


def _columns_of_rows(rows, names=None):
    """Row dicts as ``{name: values}``, over ``names`` or every key in order; gaps are None."""
    if names is None:
        names = dict.fromkeys(name for row in rows for name in row)
    return {name: [row.get(name) for row in rows] for name in names}


def _read_file(path):
    """The columns of a ``.csv`` or ``.json`` history file, cells as stored."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No history file at {path}.")
    suffix = path.suffix.lower()
    if suffix == ".json":
        with open(path) as stream:
            return json.load(stream)
    if suffix != ".csv":
        raise ValueError(f"History files must be .csv or .json, got {path.name}.")
    with open(path, newline="") as stream:
        text = stream.read()
    if text and not text.endswith("\n"):
        # A process killed mid-append leaves its last row cut short: drop that row.
        text = text[: text.rfind("\n") + 1]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = list(reader)
    return _columns_of_rows(rows, reader.fieldnames or [])


def _cell(value, column, row):
    """One cell as a float (NaN when empty), or as an int in the ``step`` column."""
    if value is None or (isinstance(value, str) and not value.strip()):
        number = math.nan
    else:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"Column {column!r}, row {row}: {value!r} is not a number.") from None
    if column != "step":
        return number
    if not number.is_integer():
        raise ValueError(f"Column 'step', row {row}: {value!r} is not a whole step number.")
    return int(number)


def read_history(source):
    """A per-step history as ``{column: list}``: ``step`` as ints, the other columns as floats.

    ``source`` is a dict of lists (``{"step": [...], "d_loss": [...], ...}``), a list of row
    dicts (as ``csv.DictReader`` gives them; strings are parsed), a Keras ``History``, or the
    path of a ``.csv`` or ``.json`` file holding either form, such as ``StepHistory`` writes. A
    last CSV row cut short (a run killed while appending) is left out, so a resumed run
    continues a complete history. Empty cells become NaN; a history without rows gives empty
    lists. Cells that are not numbers and columns of different lengths raise ``ValueError``.
    """
    history = _read_file(source) if isinstance(source, (str, os.PathLike)) else source
    if not isinstance(history, Mapping) and isinstance(getattr(history, "history", None), Mapping):
        history = history.history
    if isinstance(history, Mapping):
        columns = {str(name): np.ravel(values).tolist() for name, values in history.items()}
    elif isinstance(history, (list, tuple)) and all(isinstance(row, Mapping) for row in history):
        columns = _columns_of_rows(history)
    else:
        raise ValueError(
            "history must be a dict of lists, a list of row dicts, a Keras History or a "
            f".csv/.json path, got {type(history).__name__}."
        )
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"History columns have different lengths: {lengths}.")
    return {
        name: [_cell(value, name, row) for row, value in enumerate(values)]
        for name, values in columns.items()
    }


def read_run_history(path, columns=COLUMNS):
    """A run's ``history.csv`` up to its first damaged row: ``(history, problem)``.

    The rows must be ``columns`` (a GAN's ``COLUMNS``, or ``step`` and another model's
    ``RECORDS``) with steps 1, 2, 3, ... in order; reading stops at the first row that is not (a
    foreign or damaged row, a step written twice or skipped) and ``problem`` says where and why
    (``None`` when the whole file is sound). A last row cut short by a kill is left out
    silently. A missing file is an empty history; a file whose header is not ``columns`` raises
    ``ValueError``.
    """
    columns = tuple(columns)
    history = {name: [] for name in columns}
    path = Path(path)
    if not path.is_file():
        return history, None
    text = path.read_text(errors="replace")
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    lines = text.splitlines()
    if lines and tuple(lines[0].split(",")) != columns:
        raise ValueError(
            f"{path} is not a history of gan_mnist: its header is {lines[0][:80]!r}, not "
            f"{','.join(columns)!r}. Move it away (or start the run over)."
        )
    for number, line in enumerate(lines[1:], start=2):
        cells = line.split(",")
        expected = len(history["step"]) + 1
        try:
            if len(cells) != len(columns):
                raise ValueError(f"{len(cells)} cells instead of {len(columns)}")
            step = int(cells[0])
            values = [float(cell) for cell in cells[1:]]
        except ValueError as error:
            return history, f"line {number} of {path} is damaged ({error})"
        if step != expected:
            return history, (
                f"line {number} of {path} holds step {step} where step {expected} belongs"
            )
        history["step"].append(step)
        for name, value in zip(columns[1:], values):
            history[name].append(value)
    return history, None


def write_csv(path, history, columns=COLUMNS):
    """Write a history (a dict of lists of ``columns``) as CSV, atomically."""

    def write(temporary):
        with open(temporary, "w", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(columns)
            writer.writerows(zip(*(history[name] for name in columns)))

    files.write_atomically(path, write)


class StepHistory(keras.callbacks.Callback):
    """Write one row per training step to a ``.csv`` or ``.json`` file: ``step`` and the
    model's ``RECORDS`` (a GAN's: ``COLUMNS``).

    CSV rows are appended after every execution, so the file is readable with
    ``csv.DictReader`` while training runs; JSON (a dict of lists for ``json.load``) is
    rewritten at the end of each epoch. With ``append`` an existing file is continued after
    dropping rows beyond the current step (those of a run that went past its last
    checkpoint); otherwise the file starts afresh. ``history`` holds this callback's rows as a
    dict of lists. The model gives its new rows with ``latest_steps()``: dicts of its columns.
    """

    def __init__(self, path, append=False):
        super().__init__()
        self.path = Path(path)
        if self.path.suffix not in (".csv", ".json"):
            raise ValueError(f"The history file must end in .csv or .json, got {self.path.name}.")
        self.append = append
        self.columns = COLUMNS
        self.history = {name: [] for name in COLUMNS}

    def on_train_begin(self, logs=None):
        self.columns = ("step",) + tuple(self.model.RECORDS)
        step = int(self.model.step_counter.numpy())
        kept = {name: [] for name in self.columns}
        if self.append and self.path.is_file():
            earlier = read_history(self.path)
            keep = [index for index, number in enumerate(earlier["step"]) if number <= step]
            kept = {name: [earlier[name][index] for index in keep] for name in self.columns}
        self.history = kept
        self._write_all()

    def _write_all(self):
        if self.path.suffix == ".json":
            files.write_text(self.path, json.dumps(self.history))
        else:
            write_csv(self.path, self.history, self.columns)

    def on_train_batch_end(self, batch, logs=None):
        rows = self.model.latest_steps()
        for row in rows:
            for name in self.columns:
                self.history[name].append(row[name])
        if self.path.suffix == ".csv" and rows:
            text = io.StringIO(newline="")
            csv.writer(text).writerows([row[name] for name in self.columns] for row in rows)
            with open(self.path, "ab", buffering=0) as stream:
                end = stream.seek(0, os.SEEK_END)
                data = memoryview(text.getvalue().encode())
                try:
                    while data:
                        data = data[stream.write(data):]
                except OSError:
                    # A full disk: take back the rows half written, so that the file ends on a
                    # whole row, then report the failure.
                    stream.truncate(end)
                    raise

    def on_epoch_end(self, epoch, logs=None):
        if self.path.suffix == ".json":
            self._write_all()
