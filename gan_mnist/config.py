"""Where things live and how big a run is: the project's settings in one place.

Two environment variables steer the package:

- ``GAN_MNIST_DATA_DIR``: the folder holding the four MNIST ``.gz`` files.
- ``GAN_MNIST_FAST``: ``1`` shrinks every notebook run (steps, samples, data) so CI can
  execute the whole series in minutes. Unset, the notebooks are the full tutorial.
"""

import os
from pathlib import Path

DATA_DIR_VARIABLE = "GAN_MNIST_DATA_DIR"
FAST_VARIABLE = "GAN_MNIST_FAST"

PACKAGE_DIR = Path(__file__).resolve().parent


def project_root():
    """The source checkout holding the package, or ``None`` for an installed wheel."""
    root = PACKAGE_DIR.parent
    return root if (root / "pyproject.toml").is_file() else None


def data_dir(data_dir=None):
    """The MNIST folder: the argument, else ``$GAN_MNIST_DATA_DIR``, else the project's data/."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    from_environment = os.environ.get(DATA_DIR_VARIABLE)
    if from_environment:
        return Path(from_environment).expanduser()
    root = project_root()
    if root is not None:
        return root / "data"
    return Path.home() / ".gan_mnist" / "data"


def runs_dir():
    """The folder for run outputs (frames, checkpoints, histories); ignored by git.

    ``runs`` in the project's root (or the working directory outside a checkout), and
    ``runs-fast`` in fast mode: the lessons' test runs must not overwrite the full runs that
    later lessons reload (lesson "Measuring the series" reloads those of lessons 4 to 6).
    """
    root = project_root()
    return (root if root is not None else Path.cwd()) / ("runs-fast" if fast_mode() else "runs")


def fast_mode():
    """True when ``GAN_MNIST_FAST`` is set to 1/true/yes (case-insensitive)."""
    return os.environ.get(FAST_VARIABLE, "").strip().lower() in {"1", "true", "yes", "on"}


def pick(full, fast):
    """Return ``fast`` in fast mode and ``full`` otherwise.

    Notebooks size a run with one call, for example
    ``sizes = pick(full=dict(steps=100_000), fast=dict(steps=200))``.
    """
    return fast if fast_mode() else full
