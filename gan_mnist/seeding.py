"""One seeding helper so that the same seed gives the same tensors, losses and images."""

from gan_mnist.backend import keras, tf

# TensorFlow has a public call to turn op determinism on, but none to turn it off or to ask
# whether it is on; those two come from its own config module.
from tensorflow.python.framework import config as tf_config  # noqa: E402, I001


def set_seed(seed, deterministic=True):
    """Seed Python, NumPy, TensorFlow and Keras; make TensorFlow ops deterministic.

    Op determinism makes runs repeatable on CPU and GPU at a cost in speed: some kernels
    fall back to slower deterministic versions and Keras 3 switches ``jit_compile`` (XLA)
    off. Pass ``deterministic=False`` for speed runs where bit-exact repeats do not matter.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    else:
        tf_config.disable_op_determinism()


def is_deterministic():
    """Whether TensorFlow op determinism is on."""
    return tf_config.is_op_determinism_enabled()
