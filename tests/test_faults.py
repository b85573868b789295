"""Fault injection on run folders, done for real in temporary folders.

Checkpoints cut short and corrupted, a history with damaged and foreign rows, a full disk (a
size-limited tmpfs where the machine lets us mount one, an injected write failure otherwise),
two writers at once, a stale lock, and runs killed with SIGKILL at random points. After every
fault the run resumes, and its history equals an uninterrupted run's, step for step. The
command-line runs go without XLA (``--no-jit``): its compile would cost each about 2 s.
"""

import errno
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from gan_mnist import Run, RunConfig, checkpoints, data, history, train
from gan_mnist.run import LOCK_NAME, RunInUseError
from gan_mnist.training import RunWriteError
from helpers import ENVIRONMENT, FakeGAN, gan_mnist, in_process, spawn, start

CONFIG = RunConfig.from_preset(
    "leaky", latent_dim=8, generator_widths=(8,), discriminator_widths=(8,), batch_size=16,
    steps=40, snapshot_every=10, checkpoint_every=10, jit_compile=False,
)


@pytest.fixture(scope="module")
def digits():
    return data.load_mnist("test")[0][:256]


@pytest.fixture(scope="module")
def straight(digits):
    """The history of the uninterrupted run that every faulty run must end up equal to."""
    return train(CONFIG.replace(snapshot_every=None, checkpoint_every=None), digits).history


@pytest.fixture
def notes(caplog):
    caplog.set_level("WARNING", logger="gan_mnist")
    return caplog


def data_file(run_dir, step):
    return next((Path(run_dir) / "checkpoints").glob(f"ckpt-{step}.data-*"))


def cut_short(path):
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])


def flip_a_byte(path):
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 3] ^= 0xFF
    path.write_bytes(bytes(raw))


def one_line_error(completed):
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "Traceback" not in completed.stderr
    last = completed.stderr.strip().splitlines()[-1]
    assert last.startswith("error: "), completed.stderr
    return last


# ---------------------------------------------------------------------------------------------
# Damaged checkpoints.


@pytest.mark.parametrize("damage", [cut_short, flip_a_byte])
def test_a_damaged_newest_checkpoint_is_reported_and_an_older_one_used(
    damage, digits, straight, notes, tmp_path
):
    train(CONFIG.replace(steps=30), digits, tmp_path)
    damage(data_file(tmp_path, 30))
    resumed = train(CONFIG, digits, tmp_path, resume=True)
    assert resumed.resumed_from == 20
    assert any("ckpt-30" in message and "damaged" in message for message in notes.messages)
    assert resumed.history == straight
    assert checkpoints.steps(tmp_path / "checkpoints") == [40, 30, 20]
    assert checkpoints.damage(tmp_path / "checkpoints" / "ckpt-30") is None  # Saved anew.


@pytest.mark.parametrize("rotation", [1, 2])
def test_a_stop_while_an_old_checkpoint_is_deleted_leaves_data_the_next_start_removes(
    rotation, digits, straight, notes, monkeypatch, tmp_path
):
    # TensorFlow's CheckpointManager deletes an old checkpoint's index, then its data: a stop
    # between the two, in the rotation-th deletion, leaves data that no index names.
    from tensorflow.python.checkpoint import checkpoint_management

    delete, deletions = checkpoint_management._delete_file_if_exists, []

    def stopped_before_the_data(filespec):
        if ".data-" in filespec:
            deletions.append(filespec)
            if len(deletions) == rotation:
                raise KeyboardInterrupt
        delete(filespec)

    monkeypatch.setattr(checkpoint_management, "_delete_file_if_exists",
                        stopped_before_the_data)
    config = CONFIG.replace(keep_checkpoints=2)
    with pytest.raises(KeyboardInterrupt):
        train(config, digits, tmp_path)
    monkeypatch.undo()
    left = [path.name for path in checkpoints.orphans(tmp_path / "checkpoints")]
    assert left == [f"ckpt-{10 * rotation}.data-00000-of-00001"]
    newest = checkpoints.steps(tmp_path / "checkpoints")
    assert newest == [10 * rotation + 20, 10 * rotation + 10]

    resumed = train(config, digits, tmp_path, resume=True)
    assert resumed.resumed_from == newest[0] and resumed.history == straight
    removed = [message for message in notes.messages if message.startswith("Removed")]
    assert len(removed) == 1 and left[0] in removed[0]
    assert checkpoints.orphans(tmp_path / "checkpoints") == []
    for step in checkpoints.steps(tmp_path / "checkpoints"):  # Valid checkpoints untouched.
        assert checkpoints.damage(tmp_path / "checkpoints" / f"ckpt-{step}") is None


def test_no_intact_checkpoint_is_one_clear_error(digits, tmp_path):
    train(CONFIG.replace(steps=20), digits, tmp_path)
    for step in (10, 20):
        flip_a_byte(data_file(tmp_path, step))
    with pytest.raises(checkpoints.DamagedCheckpointsError, match="No usable checkpoint in"):
        train(CONFIG, digits, tmp_path, resume=True)
    with pytest.raises(checkpoints.DamagedCheckpointsError, match="overwrite"):
        Run(tmp_path).load_gan()


def test_the_command_line_reports_damaged_checkpoints_in_one_line(tmp_path, capsys):
    run_dir = tmp_path / "cli"
    short = ["--model", "mlp", "--no-jit", "--checkpoint-every", "10", "--eval-samples", "0",
             "--run-dir", str(run_dir)]
    # The command line's code in this process, then the last error from a child's exit.
    assert in_process(capsys, "train", "--steps", "20", *short).returncode == 0
    cut_short(data_file(run_dir, 20))
    sampled = in_process(capsys, "sample", "--run-dir", str(run_dir), "--n", "4",
                         "--out", str(tmp_path / "digits.npy"))
    assert sampled.returncode == 0, sampled.stderr
    assert "note: Checkpoint ckpt-20" in sampled.stderr and "from step 10" in sampled.stdout
    resumed = in_process(capsys, "train", "--steps", "30", *short, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "continuing from step 10" in resumed.stdout
    for step in (10, 20, 30):
        flip_a_byte(data_file(run_dir, step))
    last = one_line_error(gan_mnist("train", "--steps", "40", *short, "--resume"))
    assert f"No usable checkpoint in {run_dir / 'checkpoints'}" in last and "--overwrite" in last


# ---------------------------------------------------------------------------------------------
# A history you can trust.


def test_a_damaged_history_row_is_a_reported_repair(digits, straight, notes, tmp_path):
    train(CONFIG.replace(steps=30), digits, tmp_path)
    lines = (tmp_path / "history.csv").read_text().splitlines(keepends=True)
    lines[26] = "26,0.5,garbage,0.5,0.5\r\n"  # Line 27 holds step 26.
    (tmp_path / "history.csv").write_text("".join(lines))
    resumed = train(CONFIG, digits, tmp_path, resume=True)
    assert any("Line 27" in message and "keeping steps 1-25" in message
               for message in notes.messages)
    assert resumed.resumed_from == 20 and resumed.history == straight


def test_a_step_written_twice_or_skipped_never_shifts_steps(digits, straight, tmp_path):
    train(CONFIG.replace(steps=30), digits, tmp_path)
    lines = (tmp_path / "history.csv").read_text().splitlines(keepends=True)
    del lines[15]  # Step 15 is skipped: the rows after it are not trusted.
    (tmp_path / "history.csv").write_text("".join(lines))
    kept, problem = history.read_run_history(tmp_path / "history.csv")
    assert kept["step"] == list(range(1, 15)) and "holds step 16 where step 15 belongs" in problem
    resumed = train(CONFIG, digits, tmp_path, resume=True)
    assert resumed.resumed_from == 10 and resumed.history == straight


def test_a_foreign_history_is_refused_in_one_line(digits, tmp_path):
    train(CONFIG.replace(steps=10), digits, tmp_path)
    (tmp_path / "history.csv").write_text("epoch,loss\n1,0.5\n")
    with pytest.raises(ValueError, match="is not a history of gan_mnist"):
        train(CONFIG, digits, tmp_path, resume=True)


# ---------------------------------------------------------------------------------------------
# A full disk.


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB tmpfs, or ``None`` where this machine does not let the tests mount one."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(folder)],
                             capture_output=True)
    if mounted.returncode:
        yield None
        return
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(disk, leave):
    """Fill ``disk`` until ``leave`` bytes are free; return the filler file."""
    filler = disk / "filler"
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    filler.write_bytes(b"\0" * max(0, free - leave))
    return filler


def test_a_full_disk_stops_the_run_cleanly_and_it_resumes(digits, straight, small_disk,
                                                        monkeypatch, tmp_path):
    if small_disk is None:
        # An injected failure instead: the checkpoint of step 30 meets a full disk.
        run_dir = tmp_path / "run"
        original = checkpoints.Checkpoints.save

        def full_at_30(self, step):
            if step == 30:
                raise OSError(errno.ENOSPC, "No space left on device")
            return original(self, step)

        monkeypatch.setattr(checkpoints.Checkpoints, "save", full_at_30)
        train(CONFIG.replace(steps=20), digits, run_dir)
    else:
        run_dir = small_disk / "run"
        train(CONFIG.replace(steps=20), digits, run_dir)
        filler = fill(small_disk, leave=60_000)  # Less than one checkpoint.
    with pytest.raises(RunWriteError, match=rf"run folder {run_dir} at step 30 .*step 20"):
        train(CONFIG, digits, run_dir, resume=True)
    leftovers = [path.name for path in run_dir.rglob("*") if "_temp" in path.name or ".part-"
                 in path.name]
    assert leftovers == []
    assert (run_dir / "history.csv").read_text().endswith("\n")
    if small_disk is None:
        monkeypatch.setattr(checkpoints.Checkpoints, "save", original)
    else:
        filler.unlink()
    resumed = train(CONFIG.replace(eval_samples=100), digits, run_dir, resume=True)
    assert resumed.resumed_from == 20 and resumed.history == straight
    run = Run(run_dir)
    assert run.gif_path.is_file() and json.loads(run.metrics_path.read_text())["step"] == 40
    assert [int(path.stem[5:]) for path in run.frames()] == [0, 10, 20, 30, 40]


def test_history_rows_half_written_on_a_full_disk_are_taken_back(small_disk, monkeypatch,
                                                                 tmp_path):
    folder = small_disk if small_disk is not None else tmp_path
    path = folder / "history.csv"
    writer, model = history.StepHistory(path), FakeGAN()
    writer.set_model(model)
    writer.on_train_begin()
    model.run([(1.0, 2.0, 0.5, 0.25)] * 3)
    writer.on_train_batch_end(0)
    before = path.read_bytes()
    if small_disk is not None:
        fill(small_disk, leave=0)
    else:
        # An injected failure instead: the disk takes 100 bytes, then is full.
        real_open = open

        class FullAfter100Bytes:
            def __init__(self, stream):
                self.stream, self.room = stream, 100

            def __enter__(self):
                return self

            def __exit__(self, *exception):
                self.stream.close()

            def __getattr__(self, name):
                return getattr(self.stream, name)

            def write(self, data):
                if not self.room:
                    raise OSError(errno.ENOSPC, "No space left on device")
                written, self.room = self.stream.write(bytes(data[:self.room])), 0
                return written

        monkeypatch.setattr("builtins.open", lambda file, mode="r", *rest, **options: (
            FullAfter100Bytes(real_open(file, mode, *rest, **options)) if mode == "ab"
            else real_open(file, mode, *rest, **options)
        ))
    model.run([(1.0, 2.0, 0.5, 0.25)] * 500)  # Far more than one page of rows.
    with pytest.raises(OSError, match="No space left on device"):
        writer.on_train_batch_end(1)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert history.read_run_history(path) == (history.read_history(path), None)


def test_the_command_line_names_the_folder_and_step_of_a_full_disk(small_disk):
    if small_disk is None:
        pytest.skip("this machine does not let the tests mount a size-limited tmpfs")
    run_dir = small_disk / "cli"
    # The vanilla MLP's checkpoints are about 2.6 MB, so the second one meets a full disk.
    short = ["--model", "mlp", "--no-jit", "--checkpoint-every", "20", "--snapshot-every", "20",
             "--eval-samples", "0", "--run-dir", str(run_dir)]
    completed = gan_mnist("train", "--steps", "40", *short)
    last = one_line_error(completed)
    assert f"Could not write to the run folder {run_dir} at step 40" in last
    assert "last good checkpoint is step 20" in last and "--resume" in last


# ---------------------------------------------------------------------------------------------
# One writer per run folder.


def test_a_second_writer_is_refused_with_the_holder_named(digits, tmp_path):
    train(CONFIG.replace(steps=10), digits, tmp_path)
    with Run(tmp_path).lock():
        with pytest.raises(RunInUseError, match=rf"in use by process {os.getpid()} on "):
            train(CONFIG, digits, tmp_path, resume=True)
    # Released: the run goes on.
    assert train(CONFIG.replace(steps=20), digits, tmp_path, resume=True).steps == 20


def test_a_stale_lock_is_taken_over(digits, notes, tmp_path):
    tmp_path.mkdir(exist_ok=True)
    stale = dict(pid=999_999, host="elsewhere", command="gan-mnist train", started="01:02:03")
    (tmp_path / LOCK_NAME).write_text(json.dumps(stale))
    assert train(CONFIG.replace(steps=10), digits, tmp_path).steps == 10
    assert any("Took over the lock" in message and "process 999999" in message
               for message in notes.messages)
    assert (tmp_path / LOCK_NAME).read_text() == ""  # Released on the way out.


def test_two_command_line_writers_at_once(tmp_path, capsys):
    run_dir = tmp_path / "two"
    long_run = ["train", "--model", "mlp", "--no-jit", "--steps", "1000000", "--checkpoint-every",
                "50", "--eval-samples", "0", "--run-dir", str(run_dir)]
    first = start(*long_run)
    try:
        deadline = time.monotonic() + 120
        while checkpoints.latest_step(run_dir / "checkpoints") is None:
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        # The second writer: this process, while the child holds the folder.
        last = one_line_error(in_process(capsys, *long_run, "--resume"))
        assert f"in use by process {first.pid}" in last
    finally:
        first.kill()
        first.wait(timeout=60)
    # The killed writer's lock is stale: the next writer takes it over.
    final = checkpoints.latest_step(run_dir / "checkpoints") + 50
    long_run[long_run.index("--steps") + 1] = str(final)
    resumed = in_process(capsys, *long_run, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "note: Took over the lock" in resumed.stderr
    steps, problem = history.read_run_history(run_dir / "history.csv")
    assert problem is None and steps["step"] == list(range(1, final + 1))


# ---------------------------------------------------------------------------------------------
# Kills at random points.

KILLED_CONFIG = CONFIG.replace(steps=1500, snapshot_every=100, checkpoint_every=25,
                               steps_per_execution=5)
KILLED_RUN = """
    import sys
    from gan_mnist import RunConfig, data, train

    config = RunConfig.from_json(sys.argv[2])
    train(config, data.load_mnist("test")[0][:256], sys.argv[1], resume=True)
"""


def test_runs_killed_at_random_points_resume_to_the_uninterrupted_history(digits, tmp_path):
    command = [sys.executable, "-c", textwrap.dedent(KILLED_RUN), str(tmp_path / "killed"),
               KILLED_CONFIG.to_json()]
    run_dir = tmp_path / "killed"
    randomness = random.Random(17)
    for _ in range(3):
        process = spawn(command,
                        stderr=subprocess.DEVNULL)
        # Wait for training to start, then kill it at a random moment.
        deadline = time.monotonic() + 120
        while not (run_dir / "history.csv").is_file() and process.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        time.sleep(randomness.uniform(0.0, 1.5))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    finished = subprocess.run(command, env=ENVIRONMENT, capture_output=True, text=True,
                              timeout=300)
    assert finished.returncode == 0, finished.stderr[-2000:]
    kept, problem = history.read_run_history(run_dir / "history.csv")
    assert problem is None and kept["step"] == list(range(1, 1501))
    # The uninterrupted run, here: step for step the same.
    straight = train(KILLED_CONFIG.replace(snapshot_every=None, checkpoint_every=None), digits)
    assert straight.history == kept
    run = Run(run_dir)
    reference = run.history()
    assert reference == kept
    assert [int(path.stem[5:]) for path in run.frames()] == list(range(0, 1501, 100))
    assert len(run.record()["resumed_from"]) <= 3
