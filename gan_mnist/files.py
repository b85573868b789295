"""Writing files safely: a temporary name beside the target, then an atomic rename."""

import os
import uuid
from pathlib import Path

# The temporary files being written, for a process that must end at once to delete.
WRITING = set()


def write_atomically(path, write):
    """Call ``write(temporary_path)`` beside ``path``, then rename the result to ``path``.

    A failure (or an interrupted process) never leaves a half-written file under the final name.
    The temporary name is fresh (not ``mkstemp``'s, whose files only their owner may read) and
    keeps the suffix, which NumPy, Keras and matplotlib go by. Returns ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.part-{uuid.uuid4().hex}{path.suffix}")
    WRITING.add(temporary)
    try:
        write(temporary)
        with open(temporary, "rb") as stream:
            # On the disk before it takes the final name, so a crash never leaves it empty.
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
        WRITING.discard(temporary)
    return path


def write_text(path, text):
    """Write ``text`` to ``path`` atomically."""
    return write_atomically(path, lambda temporary: Path(temporary).write_text(text))
