"""Groups for running the test suite in parallel workers (pytest-xdist, ``--dist loadgroup``).

Each test file and each lesson goes to one worker as a whole, so that module-scoped fixtures are
built once and a lesson's cells run in order in one kernel. The lessons whose run folders another
lesson reloads form one group, run in their order: lesson "Measuring the series" reloads the runs
of lessons 4 to 6 (in fast mode, those of the same test run).
"""

from pathlib import Path

import pytest

SHARED_RUNS = ("04_", "05_", "06_", "12_")  # Lessons 4 to 6 and the lesson that reloads them.


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = Path(str(item.fspath))
        group = path.name
        if path.suffix == ".ipynb" and path.name.startswith(SHARED_RUNS):
            group = "lessons whose runs lesson 12 reloads"
        item.add_marker(pytest.mark.xdist_group(group))
