"""Small stand-ins shared by the tests, and the command line run in child processes."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from gan_mnist import history

ENVIRONMENT = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")


class FakeGAN:
    """The little a history or guard callback needs from a GAN: a step and its records."""

    RECORDS = checked_records = history.RECORDS

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


# ---------------------------------------------------------------------------------------------
# The command line in child processes.


def default_signals():
    """Give a child the default disposition of the signals that tests send it.

    A test run started in the background of a non-interactive shell ignores Ctrl-C (SIGINT),
    as POSIX has it, and one under ``nohup`` ignores SIGHUP; their children would too. This is
    their ``preexec_fn``.
    """
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGABRT):
        signal.signal(number, signal.SIG_DFL)


def spawn(command, **options):
    """``subprocess.Popen(command, **options)`` for a child that the test may signal."""
    return subprocess.Popen(command, **{"env": ENVIRONMENT, "preexec_fn": default_signals,
                                        **options})


def gan_mnist(*arguments, timeout=300):
    """``python -m gan_mnist *arguments`` run to its end, its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "gan_mnist", *arguments], capture_output=True, text=True,
        env=ENVIRONMENT, timeout=timeout,
    )


def in_process(capsys, *arguments):
    """``gan-mnist *arguments`` run by ``cli.main`` in this process, as a completed process:
    the same code as a child's, without a TensorFlow start-up (about 4 s) of its own.
    """
    from gan_mnist import cli

    capsys.readouterr()
    status = cli.main(list(arguments))
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(arguments, status, captured.out, captured.err)


def start(*arguments, **options):
    """``python -m gan_mnist *arguments`` started with text pipes, ready to be signalled."""
    # Python's fault handler dumps every thread's stack on SIGABRT: see `finish`.
    return spawn(
        [sys.executable, "-m", "gan_mnist", *arguments], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=dict(ENVIRONMENT, PYTHONFAULTHANDLER="1"),
        **options,
    )


def finish(process, timeout=60):
    """``(stdout, stderr)`` of a started run once it exits; a run that hangs is aborted and
    fails the test with the stacks of its threads."""
    try:
        return process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)
        stdout, stderr = process.communicate(timeout=60)
        pytest.fail(f"the run did not exit within {timeout} s; its threads:\n{stdout}{stderr}")


def wait_for(condition, process, timeout=180):
    """Poll ``condition()`` until it holds; fail if the process ends first or time runs out."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the run ended early:\n{process.stdout.read()}{process.stderr.read()}")
        if time.monotonic() > deadline:
            pytest.fail("timed out waiting for the run")
        time.sleep(0.01)


def handles_stops(process):
    """Whether the started ``gan-mnist`` has its own SIGTERM handler yet, from /proc (``True``
    where there is none to ask). Until then Python itself is starting, and a signal finds no
    program to answer it."""
    try:
        status = Path(f"/proc/{process.pid}/status").read_text()
    except FileNotFoundError:
        return not Path("/proc/self/status").is_file() or process.poll() is not None
    caught = int(next(line for line in status.splitlines() if line.startswith("SigCgt:"))
                 .split()[1], 16)
    return bool(caught & 1 << (signal.SIGTERM - 1))


def checkpoint_step(run_dir):
    """The step of the newest checkpoint, by its index file (None if none)."""
    steps = [int(path.name[5:-6]) for path in Path(run_dir, "checkpoints").glob("ckpt-*.index")]
    return max(steps, default=None)
