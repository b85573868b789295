"""Keras and TensorFlow, loaded only once Keras is known to run on TensorFlow.

``gan_mnist`` is written for Keras 3 on its TensorFlow backend (``tf.function`` loops, stateless
random ops, ``tf.train`` checkpoints). Every module of the package takes ``keras`` and ``tf``
from here, so that a ``KERAS_BACKEND`` of ``jax`` or ``torch`` (or a ``keras.json`` naming one)
ends in one clear ``ImportError`` rather than an obscure failure deep inside training.
"""

import json
import os
from pathlib import Path


def problem():
    """Why Keras would not run on TensorFlow here, or ``None``; loads nothing to find out."""
    backend, source = os.environ.get("KERAS_BACKEND"), "KERAS_BACKEND"
    if backend is None:
        settings = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "keras.json"
        try:
            backend = json.loads(settings.read_text()).get("backend")
            source = f'the "backend" of {settings}'
        except (OSError, ValueError, AttributeError):
            backend = None
    if backend in (None, "", "tensorflow"):
        return None
    return (
        f"gan_mnist runs on Keras' TensorFlow backend, but {source} is {backend!r}. Fix: "
        "set KERAS_BACKEND=tensorflow (or unset it) before starting Python."
    )


def __getattr__(name):
    # `from gan_mnist.backend import keras, tf` loads them here, after the check; `problem`
    # alone loads nothing.
    if name not in ("keras", "tf"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    message = problem()
    if message is not None:
        raise ImportError(message)
    import keras
    import tensorflow

    globals().update(keras=keras, tf=tensorflow)
    return globals()[name]
