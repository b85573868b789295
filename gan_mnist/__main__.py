"""``python -m gan_mnist``: the command line."""

import os
import signal
import sys


def _stop_at_once(signal_number, frame):
    # Ctrl-C or kill while the command line itself loads: nothing has started, so nothing needs
    # undoing, and an import cut short must not be run again to report it.
    os.write(sys.stderr.fileno(), b"Interrupted.\n")
    os._exit(128 + signal_number)


# First of all, before the imports that a signal could cut short; `cli.main` takes over. A
# Ctrl-C that the shell ignores (a background job) stays ignored.
if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _stop_at_once)
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, _stop_at_once)

    from gan_mnist.cli import main

    raise SystemExit(main())
