"""Ctrl-C, kill and a hang-up at any moment: every stop ends within seconds with its one line and
status 130, 143 or 129, no traceback and no file half-written under its final name, and a run stopped again
and again, then continued as the message says, ends with the uninterrupted run's history.

The moments are seeded and random within each phase: start-up (imports, data, building),
tracing, training (with its checkpoints and frames) and the end of a run (GIF, plots, metrics),
of fresh, resumed and overwriting runs, and of sample, evaluate and export; hang-up, Ctrl-C and
kill take turns, and every fourth stop gets a second signal on its heels. GAN_MNIST_INTERRUPTS sets
how many stops (default 4; 20 for the long form) and GAN_MNIST_INTERRUPT_SEED their moments.
"""

import json
import os
import random
import shlex
import shutil
import signal
import time
import zipfile
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from gan_mnist import checkpoints, cli, data, history, train
from helpers import (checkpoint_step, default_signals, finish, gan_mnist, handles_stops, start,
                     wait_for)

INTERRUPTS = int(os.environ.get("GAN_MNIST_INTERRUPTS", "4"))
SEED = int(os.environ.get("GAN_MNIST_INTERRUPT_SEED", "22"))
STEPS = 120
TRAIN = ["train", "--model", "mlp", "--steps", str(STEPS), "--snapshot-every", "20",
         "--checkpoint-every", "20", "--eval-samples", "100", "--no-jit"]
# The moments, in turn: a train phase, or another command on a finished run.
TURNS = ("training", "start-up", "other", "end", "tracing")
OTHERS = ("sample", "evaluate", "export")
EXIT_SECONDS = 10  # From the signal to the end of the process.
STATUS = {signal.SIGHUP: 129, signal.SIGINT: 130, signal.SIGTERM: 143}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished run (for sample, evaluate and export) and its history, the uninterrupted
    one of ``TRAIN``, trained here without metrics."""
    config, _ = cli.resolve_config(cli.build_parser().parse_args(TRAIN))
    run_dir = tmp_path_factory.mktemp("interrupts") / "finished"
    result = train(config.replace(eval_samples=0), data.load_mnist("train")[0], run_dir)
    return run_dir, result.history


def rows(path):
    """The rows of a history file (0 when there is none)."""
    try:
        return max(path.read_bytes().count(b"\n") - 1, 0)
    except FileNotFoundError:
        return 0


def written_since(path, moment):
    try:
        return path.stat().st_mtime >= moment
    except FileNotFoundError:
        return False


def await_moment(process, phase, rng, run_dir=None, launched=None, resumed_at=0, spread=6.0):
    """Wait for a random moment of ``phase`` of the started ``process`` (a train command into
    ``run_dir`` started at ``launched``, resuming at step ``resumed_at``; or another command,
    ``spread`` seconds long); describe it, or return ``None`` if the process ended first."""
    history_path = run_dir and run_dir / "history.csv"
    if phase == "training":
        target = rng.randrange(resumed_at + 1, STEPS)
        ready, pause, what = (lambda: written_since(history_path, launched)
                              and rows(history_path) >= target), 0.0, f"at step {target}"
    elif phase == "tracing":  # From the history's first rewrite: restoring, building, tracing.
        ready, pause = (lambda: written_since(history_path, launched)), rng.uniform(0, 1.5)
        what = f"{pause:.2f} s after the history was rewritten"
    elif phase == "end":
        ready = lambda: written_since(history_path, launched) and rows(history_path) >= STEPS
        pause = rng.uniform(0, 4.0)
        what = f"{pause:.2f} s after the last step"
    else:  # Start-up (imports, data, building), or a whole command other than train.
        ready, pause = (lambda: True), rng.uniform(0, spread)
        what = f"{pause:.2f} s after Python's start-up"
    deadline = time.monotonic() + 300
    while not (handles_stops(process) and ready()):
        if process.poll() is not None:
            return None
        assert time.monotonic() < deadline, f"{phase} never came"
        time.sleep(0.005)
    time.sleep(pause)
    return f"{phase}, {what}"


def stop(process, number, again=None):
    """Send signal ``number``, and another stop ``again`` seconds later unless ``None``;
    ``(stdout, stderr, seconds to the exit)``."""
    sent = time.monotonic()
    process.send_signal(number)
    if again is not None:
        time.sleep(again)
        process.send_signal(signal.SIGINT if number == signal.SIGTERM else signal.SIGTERM)
    stdout, stderr = finish(process, timeout=60)
    return stdout, stderr, time.monotonic() - sent


def check_whole(run_dir):
    """Every file of ``run_dir`` under its final name is whole (temporaries aside)."""
    for path in sorted(run_dir.rglob("*")):
        if path.is_dir() or path.name.startswith(".") or "_temp" in str(path):
            continue
        if path.suffix in (".png", ".gif"):
            iio.imread(path)
        elif path.suffix == ".json":
            json.loads(path.read_text())
        elif path.name == "history.csv":
            assert history.read_run_history(path)[1] is None, path
        elif path.suffix == ".index":
            assert checkpoints.damage(path.with_suffix("")) is None, path


def temporaries(folder):
    return [path for path in folder.rglob("*")
            if ".part-" in path.name or "_temp" in path.name]


def done(stdout):
    """Whether a command got to the end of its work, by its output."""
    return any(word in stdout for word in ("Trained", "Nothing to train", "Wrote")) or (
        stdout.lstrip().startswith("{"))  # evaluate's JSON


def check_stopped(process, stdout, stderr, seconds, *numbers):
    """The checks of a stop by signals ``numbers``; its last line."""
    assert "Traceback" not in stderr, stderr
    assert seconds < EXIT_SECONDS, f"exited {seconds:.1f} s after the signal"
    *before, last = stderr.strip().splitlines() or [""]
    # Nothing else on stderr but progress lines and notes.
    assert all(line.startswith(("step ", "note: ")) for line in before if line), stderr
    # Of two signals at once, Python runs the handler of the lower number first.
    statuses = [STATUS[number] for number in numbers]
    # Once the command is over, a signal just ends the process.
    ended = [-number for number in numbers]
    if done(stdout):  # Too late to stop anything.
        assert process.returncode in [0, *statuses, *ended], stderr
        return last if last.startswith("Interrupted") else "finished first"
    assert last.startswith("Interrupted"), stderr
    # A stop ends with its status; a second signal can come once its line is said.
    assert process.returncode in statuses + ended * (len(numbers) > 1), stderr
    return last


def seen(stdout, stderr):
    """How far a command got, by its output."""
    if done(stdout):
        return "done"
    if f"step {STEPS}/{STEPS}" in stderr:
        return "end"
    if "\nstep " in f"\n{stderr}":
        return "training"
    return "tracing" if "Training " in stdout else "start-up"


def continuation(last, command, run_dir):
    """The command that the stop's message says continues the run."""
    if "Continue with: " in last:
        given = shlex.split(last.split("Continue with: ", 1)[1])
        assert given[0] == "gan-mnist"
        return given[1:]
    if last == "Interrupted.":  # Nothing of this command's in the folder: run it again.
        return command
    assert last == (f"Interrupted before the first checkpoint of {run_dir}; --resume will "
                    "start it over.")
    assert checkpoint_step(run_dir) is None
    return [part for part in command if part != "--overwrite"] + ["--resume"]


def test_stops_at_random_moments_resume_to_the_uninterrupted_history(finished, tmp_path):
    reference_dir, reference = finished
    rng = random.Random(SEED)
    run_dir = tmp_path / "run"
    command = [*TRAIN, "--run-dir", str(run_dir)]
    log, pending, completed = [], False, 0
    durations = {}  # Of the other commands, run once through first.

    def trained():
        """The run is trained to the end: its history is the uninterrupted one, step for step."""
        kept, problem = history.read_run_history(run_dir / "history.csv")
        assert problem is None and kept == reference, "\n".join(log)
        assert checkpoint_step(run_dir) == STEPS

    def complete():
        """The run is finished: trained, its outputs written, no temporary left."""
        trained()
        assert not temporaries(run_dir)
        frames = sorted(int(path.stem[5:]) for path in (run_dir / "frames").glob("step_*.png"))
        assert frames == list(range(0, STEPS + 1, 20))
        assert json.loads((run_dir / "metrics.json").read_text())["step"] == STEPS
        check_whole(run_dir)

    for turn in range(INTERRUPTS):
        phase = TURNS[turn % len(TURNS)]
        number = tuple(STATUS)[turn % 3]  # Hang-up, Ctrl-C and kill in turn.
        again = rng.uniform(0, 0.3) if turn % 4 == 2 else None
        if phase == "other":
            name = OTHERS[turn // len(TURNS) % len(OTHERS)]
            out = tmp_path / {"sample": f"digits{turn}.{rng.choice(['png', 'npy'])}",
                              "export": f"generator{turn}.keras"}.get(name, "none")
            arguments = [name, "--run-dir", str(reference_dir)]
            arguments += ["--n", "100"] if name != "export" else []
            arguments += [] if name == "evaluate" else ["--out", str(out)]
            if name not in durations:
                began = time.monotonic()
                assert gan_mnist(*arguments).returncode == 0
                durations[name] = time.monotonic() - began
                out.unlink(missing_ok=True)
            process = start(*arguments)
            moment = await_moment(process, phase, rng, spread=durations[name])
        else:
            resumed_at = (checkpoint_step(run_dir) or 0) if "--resume" in command else 0
            if phase in ("training", "tracing") and resumed_at == STEPS:
                # Stopped in its last outputs: nothing left to train, so start it over.
                trained()
                command, resumed_at = [*TRAIN, "--run-dir", str(run_dir), "--overwrite"], 0
            arguments = command
            launched = time.time()
            process = start(*arguments)
            moment = await_moment(process, phase, rng, run_dir, launched, resumed_at)
        try:
            if moment is None:  # Done before the moment came.
                stdout, stderr = finish(process, timeout=300)
                seconds = 0.0
            else:
                stdout, stderr, seconds = stop(process, number, again)
        finally:
            process.kill()
        if moment is None:
            assert process.returncode == 0 and "Traceback" not in stderr, stderr
            last = "finished first"
        else:
            second = signal.SIGINT if number == signal.SIGTERM else signal.SIGTERM
            last = check_stopped(process, stdout, stderr, seconds,
                                 *sorted({number, second}) if again else [number])
        flags = [flag for flag in ("--resume", "--overwrite") if flag in arguments]
        log.append(f"{turn}: {shlex.join(arguments[:1] + flags)} "
                   f"{signal.Signals(number).name}{' twice' * (again is not None)} in "
                   f"{moment or phase}, seen {seen(stdout, stderr)}: exit {process.returncode} "
                   f"{seconds:.2f} s after the signal: {last}".replace(str(tmp_path), "TMP"))
        print(log[-1])

        if phase == "other":
            if done(stdout) or out.exists():  # The whole file, or none.
                if out.suffix == ".npy":
                    assert np.load(out).shape == (100, 28, 28, 1)
                elif out.suffix == ".png":
                    iio.imread(out)
                elif out.suffix == ".keras":
                    assert zipfile.ZipFile(out).testzip() is None
            if again is None:
                assert not temporaries(tmp_path), "\n".join(log)
            assert done(stdout) or last == "Interrupted."
            continue
        check_whole(run_dir)
        if done(stdout):
            complete()
            completed, pending = completed + 1, False
            command = [*TRAIN, "--run-dir", str(run_dir), "--overwrite"]  # Start it over.
            continue
        if last.startswith("Interrupted; "):
            assert f"of {run_dir} is step {checkpoint_step(run_dir):,}." in last
        command, pending = continuation(last, command, run_dir), True

    if pending or not completed:  # Continue the run as the last message said, uninterrupted.
        finished_run = gan_mnist(*command)
        assert finished_run.returncode == 0 and "Traceback" not in finished_run.stderr, (
            finished_run.stderr)
        complete()
        completed += 1
    print(f"{INTERRUPTS} stops, {completed} runs finished")


def ignore_ctrl_c_and_hang_ups():
    """A background job of a shell, under ``nohup``: Ctrl-C and SIGHUP ignored from the start."""
    default_signals()
    for number in (signal.SIGINT, signal.SIGHUP):
        signal.signal(number, signal.SIG_IGN)


def test_a_background_job_under_nohup_ignores_ctrl_c_and_hang_ups_but_stops_for_kill(tmp_path):
    run_dir = tmp_path / "background"
    process = start(
        "train", "--model", "mlp", "--steps", "1000000", "--checkpoint-every", "20",
        "--eval-samples", "0", "--no-jit", "--run-dir", str(run_dir),
        preexec_fn=ignore_ctrl_c_and_hang_ups,
    )
    try:
        deadline = time.monotonic() + 300
        while not handles_stops(process):
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.005)
        for number in (signal.SIGINT, signal.SIGHUP):  # In start-up,
            process.send_signal(number)
        while checkpoint_step(run_dir) is None:
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        for number in (signal.SIGINT, signal.SIGHUP):  # and in training.
            process.send_signal(number)
        time.sleep(1)
        assert process.poll() is None
        stdout, stderr, seconds = stop(process, signal.SIGTERM)
    finally:
        process.kill()
    last = check_stopped(process, stdout, stderr, seconds, signal.SIGTERM)
    assert f"the last checkpoint of {run_dir} is step {checkpoint_step(run_dir):,}" in last


def loading(process, library):
    """Whether the started process has mapped ``library`` into its memory (Linux)."""
    try:
        return library in Path(f"/proc/{process.pid}/maps").read_text()
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not Path("/proc/self/maps").is_file(), reason="needs Linux's /proc")
@pytest.mark.parametrize("resume", [False, True], ids=["fresh", "resumed"])
def test_ctrl_c_while_tensorflow_loads_ends_at_once_with_its_line(finished, tmp_path, resume):
    run_dir = tmp_path / "run"
    if resume:
        shutil.copytree(finished[0], run_dir)
    process = start(*TRAIN, "--run-dir", str(run_dir), *["--resume"] * resume)
    try:
        # TensorFlow's import goes on for seconds after its core library is mapped.
        wait_for(lambda: loading(process, "_pywrap_tensorflow_internal"), process, timeout=120)
        stdout, stderr, seconds = stop(process, signal.SIGINT)
    finally:
        process.kill()
    last = check_stopped(process, stdout, stderr, seconds, signal.SIGINT)
    # A module cut short in its import is never imported again, to say where the run is.
    assert seconds < 2
    if resume:
        assert last.startswith(f"Interrupted; the last checkpoint of {run_dir} is step {STEPS}.")
    else:
        assert last == "Interrupted." and not run_dir.exists()
