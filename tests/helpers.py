"""Small stand-ins shared by the tests."""

import csv
import json

import keras
import numpy as np

from gan_mnist import history


class FakeGAN:
    """The little a history or guard callback needs from a GAN: a step and its records."""

    def __init__(self):
        self.step_counter = keras.Variable(0, dtype="int64")
        self.rows = []
        self.stop_training = False

    def run(self, values_per_step):
        """Advance one step per ``(d_loss, g_loss, d_real, d_fake)`` in ``values_per_step``."""
        self.rows = []
        for values in values_per_step:
            self.step_counter.assign_add(1)
            step = int(self.step_counter.numpy())
            self.rows.append(dict(zip(history.COLUMNS, (step, *values))))

    def latest_steps(self):
        return self.rows


def history_sources(data, folder):
    """The same history (a dict of lists) in every form ``read_history`` takes."""
    rows = [dict(zip(data, values)) for values in zip(*data.values())]
    csv_path = folder / "history.csv"
    with open(csv_path, "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(data))
        writer.writeheader()
        writer.writerows(rows)
    json_rows, json_columns = folder / "rows.json", folder / "columns.json"
    json_rows.write_text(json.dumps(rows))
    json_columns.write_text(json.dumps(data))
    with open(csv_path, newline="") as stream:
        string_rows = list(csv.DictReader(stream))

    class KerasHistory:
        history = data

    return data, rows, string_rows, KerasHistory(), csv_path, str(json_rows), json_columns


def random_history(count=120, seed=0):
    """A plausible history of ``count`` recorded steps (every 10th step) as a dict of lists."""
    rng = np.random.default_rng(seed)
    return {
        "step": list(range(0, 10 * count, 10)),
        "d_loss": list(1.4 + 0.2 * rng.standard_normal(count)),
        "g_loss": list(0.7 + 0.2 * rng.standard_normal(count)),
        "d_real": list(0.5 + 0.05 * rng.standard_normal(count)),
        "d_fake": list(0.5 + 0.05 * rng.standard_normal(count)),
    }
