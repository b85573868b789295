"""Class conditioning: the digit's label as an input of both networks.

The generator takes ``(noise, label)``: a learned embedding of the label joined to the noise
(the conditional GAN of Mirza and Osindero, 2014, with a learned embedding in place of the
one-hot code). The discriminator takes ``(image, label)`` and scores it with a projection
(Miyato and Koyama, 2018, "cGANs with Projection Discriminator"): for the features ``h`` of its
last hidden layer, ``logit = psi(h) + <embed(y), h>``, so the label decides which direction of
the feature space counts as real. Labels are int32 ``(N,)`` in 0..9.

The same networks serve a self-conditioned GAN (``gan_mnist.clustering``), whose "labels" are
the ids of ``K`` clusters of the training images: ``conditional`` is then the number of
classes, ``K``, rather than ``True`` for the ten digits.
"""

import numpy as np

from gan_mnist.backend import keras

NUM_CLASSES = 10
EMBEDDING_DIM = 16


def class_count(conditional):
    """The number of label values of ``conditional``: 0 (``False``), 10 digits (``True``) or an
    integer number of classes (a self-conditioned GAN's clusters).
    """
    if isinstance(conditional, bool):
        return NUM_CLASSES if conditional else 0
    if not isinstance(conditional, (int, np.integer)) or conditional < 1:
        raise ValueError(
            f"conditional must be True, False or a positive number of classes, got "
            f"{conditional!r}."
        )
    return int(conditional)


def _label_input():
    return keras.Input(shape=(), dtype="int32", name="label")


def generator_inputs(latent, conditional, embedding_dim=EMBEDDING_DIM):
    """``(model inputs, the tensor the generator's body starts from)`` for the noise ``latent``."""
    classes = class_count(conditional)
    if not classes:
        return latent, latent
    label = _label_input()
    # Keras' small initial embedding (uniform in +-0.05) lets the noise shape the digits first;
    # started on the noise's scale instead, every class collapsed to one shape within 5 minutes
    # (benchmarks/README.md).
    embedded = keras.layers.Embedding(classes, embedding_dim, name="label_embedding")(label)
    return [latent, label], keras.layers.Concatenate(name="noise_and_label")([latent, embedded])


def logit(image, features, conditional, **weights):
    """``(model inputs, logit)``: a dense logit of ``features``, plus the projection term."""
    score = keras.layers.Dense(1, name="logit", **weights)(features)
    classes = class_count(conditional)
    if not classes:
        return image, score
    label = _label_input()
    embedded = keras.layers.Embedding(classes, features.shape[-1], name="label_projection")(label)
    projection = keras.layers.Dot(axes=1, name="projection")([embedded, features])
    return [image, label], keras.layers.Add(name="projected_logit")([score, projection])


def is_conditional(model):
    """Whether a network takes a label as its second input."""
    return len(model.inputs) == 2


def digits_in_rows(n):
    """Labels for ``n`` images in class order: 0s first, in ``ceil(n / 10)`` per digit, so that
    a grid of that many columns shows one row per digit.
    """
    per_digit = -(-n // NUM_CLASSES)
    return (np.arange(n) // per_digit).astype(np.int32)


def check_labels(labels, count=None, classes=NUM_CLASSES, what="Labels"):
    """``labels`` as int32 ``(N,)`` in 0..classes-1; ``ValueError`` naming the problem otherwise.

    ``what`` names them in the message (``"Clusters"`` for a self-conditioned GAN's ids).
    """
    array = np.asarray(labels)
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{what} must be integers 0-{classes - 1}, got dtype {array.dtype}.")
    if array.ndim != 1 or (count is not None and len(array) != count):
        wanted = f"({count},)" if count is not None else "(N,)"
        raise ValueError(f"{what} must have shape {wanted}, one per image, got {array.shape}.")
    if len(array) and (array.min() < 0 or array.max() >= classes):
        raise ValueError(
            f"{what} must lie in 0-{classes - 1}, got values from {array.min()} to "
            f"{array.max()}."
        )
    return array.astype(np.int32)
