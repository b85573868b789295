"""Tests for gan_mnist.history: the StepHistory callback and the one history reader."""

import csv
import json
import math

import numpy as np
import pytest

from gan_mnist import history
from helpers import FakeGAN, history_sources, random_history


def test_records_are_the_columns_after_the_step():
    assert history.COLUMNS == ("step", "d_loss", "g_loss", "d_real", "d_fake")
    assert history.RECORDS == ("d_loss", "g_loss", "d_real", "d_fake")


# ---------------------------------------------------------------------------------------------
# Writing: StepHistory.


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_step_history_writes_one_readable_row_per_step(tmp_path, suffix):
    path = tmp_path / f"history{suffix}"
    model = FakeGAN()
    step_history = history.StepHistory(path)
    step_history.set_model(model)
    step_history.on_train_begin()
    for execution in range(3):
        model.run([(1.0 + execution, 0.5, 0.75, 0.25)] * 4)
        step_history.on_train_batch_end(execution)
    step_history.on_epoch_end(0)
    with open(path, newline="") as stream:
        if suffix == ".csv":
            rows = list(csv.DictReader(stream))
            columns = {name: [row[name] for row in rows] for name in rows[0]}
        else:
            columns = json.load(stream)
    assert list(columns) == list(history.COLUMNS)
    assert [int(step) for step in columns["step"]] == list(range(1, 13))
    assert [float(value) for value in columns["d_loss"]] == [1.0] * 4 + [2.0] * 4 + [3.0] * 4
    assert step_history.history["g_loss"] == [0.5] * 12
    assert history.read_history(path) == step_history.history


def test_step_history_append_drops_rows_beyond_the_current_step(tmp_path):
    path = tmp_path / "history.csv"
    model = FakeGAN()
    first = history.StepHistory(path)
    first.set_model(model)
    first.on_train_begin()
    model.run([(0.1 * step, 0.0, 0.5, 0.5) for step in range(10)])
    first.on_train_batch_end(0)

    model.step_counter.assign(6)  # As if restored from a checkpoint at step 6.
    second = history.StepHistory(path, append=True)
    second.set_model(model)
    second.on_train_begin()
    model.run([(9.0, 0.0, 0.5, 0.5)] * 2)
    second.on_train_batch_end(0)
    columns = history.read_history(path)
    assert columns["step"] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert columns["d_loss"][5:] == [0.5, 9.0, 9.0]

    with pytest.raises(ValueError, match=".csv or .json"):
        history.StepHistory(tmp_path / "history.txt")


def test_step_history_appends_to_a_file_without_rows(tmp_path):
    # A run killed before its first execution leaves the header alone.
    path = tmp_path / "history.csv"
    path.write_text("step,d_loss,g_loss,d_real,d_fake\r\n")
    assert history.read_history(path) == {name: [] for name in history.COLUMNS}
    model = FakeGAN()
    resumed = history.StepHistory(path, append=True)
    resumed.set_model(model)
    resumed.on_train_begin()
    model.run([(1.0, 2.0, 0.5, 0.5)])
    resumed.on_train_batch_end(0)
    assert history.read_history(path) == {
        "step": [1], "d_loss": [1.0], "g_loss": [2.0], "d_real": [0.5], "d_fake": [0.5]
    }


# ---------------------------------------------------------------------------------------------
# Reading: read_history.


def test_read_history_drops_a_row_cut_short(tmp_path):
    path = tmp_path / "history.csv"
    path.write_bytes(
        b"step,d_loss,g_loss,d_real,d_fake\r\n1,0.5,0.6,0.7,0.3\r\n2,0.4,0.6,0.7,0.3\r\n3,0."
    )
    columns = history.read_history(path)
    assert columns["step"] == [1, 2]
    assert columns["d_loss"] == [0.5, 0.4]


def test_read_history_reads_every_form_alike(tmp_path):
    data = random_history(30)
    sources = history_sources(data, tmp_path)
    for source in sources:
        columns = history.read_history(source)
        assert columns == data
        assert all(type(step) is int for step in columns["step"])
        assert all(type(value) is float for value in columns["d_loss"])


def test_read_history_reads_empty_cells_as_nan():
    columns = history.read_history(
        [{"d_loss": "1.5", "g_loss": "0.5", "d_real": ""}, {"d_loss": 2, "g_loss": 1}]
    )
    np.testing.assert_allclose(columns["d_loss"], [1.5, 2.0])
    assert np.isnan(columns["d_real"]).all()
    assert list(columns) == ["d_loss", "g_loss", "d_real"]
    assert math.isnan(history.read_history({"d_loss": [None, "nan"]})["d_loss"][1])


def test_read_history_without_rows_gives_empty_columns():
    assert history.read_history({"d_loss": [], "g_loss": []}) == {"d_loss": [], "g_loss": []}
    assert history.read_history([]) == {}


@pytest.mark.parametrize(
    "source, message",
    [
        ({"d_loss": [1.0, 2.0], "g_loss": [1.0]}, "different lengths"),
        ({"d_loss": ["1", "oops"], "g_loss": [1, 1]}, r"Column 'd_loss', row 1: 'oops'"),
        ({"step": [1, 2.5]}, r"Column 'step', row 1"),
        ({"step": [1, ""]}, r"Column 'step', row 1"),
        ([{"d_loss": 1.0}, 2.0], "list of row dicts"),
        (42, "got int"),
    ],
)
def test_read_history_rejects_bad_history(source, message):
    with pytest.raises(ValueError, match=message):
        history.read_history(source)


def test_read_history_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        history.read_history(tmp_path / "missing.csv")
    (tmp_path / "history.txt").write_text("d_loss,g_loss\n1,1\n")
    with pytest.raises(ValueError, match=".csv or .json"):
        history.read_history(tmp_path / "history.txt")
