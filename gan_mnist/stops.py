"""Ctrl-C (SIGINT), ``kill`` (SIGTERM) and a closed terminal (SIGHUP) at any moment of a
``gan-mnist`` command.

A stop raises ``Stopped`` wherever the command is, so that it unwinds (a run folder's lock is
released, temporary files go) and ends with one line on stderr and the exit status 128 + the
signal (130 for Ctrl-C, 143 for kill, 129 for a closed terminal); a stopped ``train`` says how
to continue its run.

Imports are special: an exception raised while Python loads a module can leave it half-loaded
or an import lock held, and then importing it again fails. So a stop inside the loading of a
module ends the process there and then, with the same line, and the line itself imports nothing.
``python -m gan_mnist`` and the console script (``gan_mnist.__main__.run``) handle the signals
before their first import; ``Stops`` takes over once ``cli.main`` runs.

A Ctrl-C or a hang-up that was ignored when the command started stays ignored: a background job
of a shell is not the terminal's to stop, and a command under ``nohup`` outlives its terminal.
``kill`` still stops both.
"""

import os
import shlex
import signal
import sys
import threading
import time
from pathlib import Path

from gan_mnist.arguments import PROG

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# The stops a command keeps ignoring when it started with them ignored (a background job, nohup).
IGNORABLE = (signal.SIGINT, signal.SIGHUP)
# Where Python's import system loads a module or takes an import lock: an exception raised
# there can leave a module half-imported or a lock held, which breaks later imports, so a stop
# there ends the process at once. Looking up a module already loaded is not among them.
LOADING = {"_find_and_load_unlocked", "_lock_unlock_module", "_get_module_lock", "acquire",
           "release", "__enter__", "__exit__"}


class Stopped(KeyboardInterrupt):
    """Ctrl-C (SIGINT), ``kill`` (SIGTERM) or a hang-up (SIGHUP), raised wherever the command
    is, so that it unwinds (temporary files go) and ends with one line; ``status`` is 128 + the
    signal."""

    def __init__(self, signal_number=signal.SIGTERM):
        super().__init__(signal_number)
        self.status = 128 + signal_number


def _last_checkpoint(run_dir):
    """The step of the newest checkpoint in ``run_dir`` (``None``: none), by the file names, as
    ``checkpoints.latest_step`` finds it: a stop can cut TensorFlow's import short, and
    importing it again to say so would fail.
    """
    steps = [path.name[len("ckpt-"):-len(".index")]
             for path in (Path(run_dir) / "checkpoints").glob("ckpt-*.index")]
    return max((int(step) for step in steps if step.isdigit()), default=None)


def message(arguments, started):
    """The one line for a stopped command: for train, how to continue the run. It imports
    nothing (see ``_last_checkpoint``); ``started`` is the command's start (``time.time()``).
    """
    run_dir = getattr(arguments, "resolved_run_dir", None)
    config = None if run_dir is None else run_dir / "config.json"
    try:
        # The folder is this command's run once it wrote config.json (--overwrite clears the
        # old run first), or when it resumes one; before that the same command starts afresh.
        ours = config is not None and (
            config.is_file() if arguments.resume else config.stat().st_mtime >= started
        )
    except OSError:
        ours = False
    if not ours:
        return "Interrupted."
    step = _last_checkpoint(run_dir)
    if step is None:
        return (f"Interrupted before the first checkpoint of {run_dir}; --resume will start it "
                "over.")
    kept = [part for part in arguments.argv
            if not (arguments.overwrite and len(part) > 2 and "--overwrite".startswith(part))]
    command = [PROG] + kept + ([] if arguments.resume else ["--resume"])
    return (f"Interrupted; the last checkpoint of {run_dir} is step {step:,}. "
            f"Continue with: {shlex.join(command)}")


def _importing(frame):
    """Whether ``frame`` is inside the loading of a module (see ``LOADING``)."""
    while frame is not None:
        if (frame.f_globals.get("__name__") == "importlib._bootstrap"
                and frame.f_code.co_name in LOADING):
            return True
        frame = frame.f_back
    return False


class Stops:
    """Ctrl-C (SIGINT), ``kill`` (SIGTERM) and a hang-up (SIGHUP) at any moment of one command,
    as a ``with`` block around it; ``arguments`` is its namespace, which the command fills as it
    goes.

    The first raises ``Stopped`` wherever the command is, so that it unwinds and ends with its
    one line. With ``at_once`` (a process of its own) a stop inside an import, a second one
    while the first unwinds, or one that a finalizer swallowed ends the process there and then
    with that line; in-process a second one is ignored. A Ctrl-C or a hang-up that was ignored
    when the command started stays ignored (``IGNORABLE``).
    """

    def __init__(self, arguments, at_once):
        self.arguments = arguments
        self.at_once = at_once
        self.started = time.time()
        self.stopped = None
        self.said = False
        self.finished = False
        self.previous = {}

    def __enter__(self):
        if threading.current_thread() is not threading.main_thread():
            return self  # Only the main thread can handle signals.
        for number in STOP_SIGNALS:
            if number not in IGNORABLE or signal.getsignal(number) is not signal.SIG_IGN:
                self.previous[number] = signal.signal(number, self._handle)
        if self.at_once:
            self.previous_hook, sys.unraisablehook = sys.unraisablehook, self._unraisable
        return self

    def _handle(self, signal_number, frame):
        first = self.stopped is None and not self.finished
        if self.at_once and (not first or _importing(frame)):
            self.exit(signal_number)
        if first:
            self.stopped = Stopped(signal_number)
            raise self.stopped

    def _unraisable(self, unraisable):
        if isinstance(unraisable.exc_value, Stopped):
            self.exit(unraisable.exc_value.status - 128)
        self.previous_hook(unraisable)

    def caused(self, error):
        """Whether ``error`` is the stop, or an error that it set off in code it cut short. (A
        KeyboardInterrupt of Python's own comes where the stops are not handled: off the main
        thread.)"""
        return self.stopped is not None or isinstance(error, KeyboardInterrupt)

    def report(self, error):
        """Write the stop's one line (once) and return the exit status; ``error`` is what
        ended the command (see ``caused``)."""
        stopped = self.stopped or error
        progress = getattr(self.arguments, "progress", None)
        if progress is not None:
            progress.end_line()
        if not self.said:
            print(message(self.arguments, self.started), file=sys.stderr, flush=True)
            self.said = True
        return getattr(stopped, "status", 128 + signal.SIGINT)

    def exit(self, signal_number):
        """End the process now, with the stop's line unless it was written. As safe as the
        unwinding it cuts short: nothing is ever half-written under a final name, and the
        temporary files being written go.
        """
        status = self.stopped.status if self.stopped else 128 + signal_number
        try:
            for temporary in list(getattr(sys.modules.get("gan_mnist.files"), "WRITING", ())):
                try:
                    os.unlink(temporary)
                except OSError:
                    pass
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except (OSError, ValueError, RuntimeError):  # RuntimeError: caught mid-write.
                    pass
            if not self.said:
                progress = getattr(self.arguments, "progress", None)
                line = "\n" * bool(getattr(progress, "open_line", False))
                line += message(self.arguments, self.started) + "\n"
                os.write(sys.stderr.fileno(), line.encode(errors="backslashreplace"))
        finally:
            os._exit(status)

    def __exit__(self, kind, error, traceback):
        self.finished = True
        if self.at_once:
            if isinstance(error, Stopped):  # A stop in the last instants of main.
                self.exit(error.status - 128)
            # Nothing is left to stop: a signal now just ends the process, as it would anyway
            # once Python shuts down (and TensorFlow's teardown can take seconds).
            for number in self.previous:
                signal.signal(number, signal.SIG_DFL)
            return False
        for number, handler in self.previous.items():
            signal.signal(number, handler)
        return False
