"""``python -m gan_mnist`` and the ``gan-mnist`` console script: the command line, by ``run``.

It imports no other module of the package: ``run`` handles Ctrl-C, kill and a hang-up first, before the
imports that a signal could cut short (see ``gan_mnist.stops``).
"""

import os
import signal
import sys


def _stop_at_once(signal_number, frame):
    # Ctrl-C, kill or a hang-up while the command line itself loads: nothing has started, so nothing needs
    # undoing, and an import cut short must not be run again to report it.
    os.write(sys.stderr.fileno(), b"Interrupted.\n")
    os._exit(128 + signal_number)


def run():
    """Run the command of this process's ``sys.argv`` and return its exit status.

    The stops are handled first of all; ``cli.main`` takes over. A Ctrl-C that the shell
    ignores (a background job) stays ignored, and so does a hang-up under ``nohup``.
    """
    signal.signal(signal.SIGTERM, _stop_at_once)
    for number in (signal.SIGINT, signal.SIGHUP):  # gan_mnist.stops.IGNORABLE
        if signal.getsignal(number) is not signal.SIG_IGN:
            signal.signal(number, _stop_at_once)

    from gan_mnist.cli import main

    return main()


if __name__ == "__main__":
    raise SystemExit(run())
