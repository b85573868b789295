"""The evaluator: a small MNIST classifier whose features and logits the metrics compare.

The metrics of ``gan_mnist.metrics`` are those of the literature with this network in place of
downloaded Inception weights. Its weights ship inside the package (``evaluator.keras``, with
its test accuracy and settings in ``evaluator.json``); ``gan-mnist train-evaluator`` retrains
them from a seed. Example::

    features, logits = evaluator.features_and_logits(images)  # (N, 128) and (N, 10)
"""

import json
import math
import platform
import time
from pathlib import Path

import numpy as np

from gan_mnist import config, files
from gan_mnist.backend import keras, tf
from gan_mnist.choices import EVALUATOR_SETTINGS
from gan_mnist.data import load_mnist, sha256
from gan_mnist.images import to_unit
from gan_mnist.models import IMAGE_SHAPE
from gan_mnist.seeding import set_seed

EVALUATOR_PATH = config.PACKAGE_DIR / "evaluator.keras"
EVALUATOR_RECORD_PATH = config.PACKAGE_DIR / "evaluator.json"
FEATURES_LAYER = "features"
NUM_CLASSES = 10
MIN_ACCURACY = 0.992


_EVALUATORS = {}
_FEATURE_MODELS = {}


def prepare_images(images, value_range=None):
    """Images as the evaluator takes them: float32 ``(N, 28, 28, 1)`` in [0, 1].

    Accepts a non-empty batch shaped ``(N, 28, 28)`` or ``(N, 28, 28, 1)``, converted with
    ``images.to_unit`` (uint8, or floats in ``value_range``, read from the values when left out).
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4 or images.shape[1:] != IMAGE_SHAPE or len(images) == 0:
        raise ValueError(
            f"Expected a non-empty batch of images shaped (N, 28, 28) or (N, 28, 28, 1), got "
            f"shape {images.shape}. Fix: reshape single images with images[None] and flat "
            "vectors with images.reshape(-1, 28, 28)."
        )
    return to_unit(images, value_range)


def build_evaluator(name="evaluator"):
    """The evaluator network: images ``(N, 28, 28, 1)`` in [0, 1] to 10 class logits.

    Two blocks of two 3x3 convolutions (32, then 64 filters, each with batch norm and ReLU)
    and 2x2 max pooling, then the 128-unit ReLU layer named ``"features"`` whose activations
    the distances compare, dropout and a 10-unit logit layer; about 200,000 parameters.
    """
    images = keras.Input(shape=IMAGE_SHAPE, name="image")
    x = images
    for block, filters in enumerate((32, 64), start=1):
        for index in (1, 2):
            layer = f"conv_{block}_{index}"
            x = keras.layers.Conv2D(filters, 3, use_bias=False, name=layer)(x)
            x = keras.layers.BatchNormalization(name=f"{layer}_batch_norm")(x)
            x = keras.layers.ReLU(name=f"{layer}_relu")(x)
        x = keras.layers.MaxPooling2D(name=f"pool_{block}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dropout(0.25, name="flatten_dropout")(x)
    x = keras.layers.Dense(128, activation="relu", name=FEATURES_LAYER)(x)
    x = keras.layers.Dropout(0.5, name="features_dropout")(x)
    logits = keras.layers.Dense(NUM_CLASSES, name="logits")(x)
    return keras.Model(images, logits, name=name)


def load_evaluator(path=None):
    """The shipped evaluator (cached per process): images in [0, 1] to 10 logits.

    Loaded with Keras' safe mode. Raises ``FileNotFoundError`` when the weights are missing;
    they are never retrained silently.
    """
    path = Path(path) if path is not None else EVALUATOR_PATH
    key = str(path.resolve())
    if key not in _EVALUATORS:
        if not path.is_file():
            raise FileNotFoundError(
                f"The evaluator weights {path} are missing. Fix: train them (a few minutes on "
                "a CPU) with `gan-mnist train-evaluator`, or restore the file from the "
                "repository."
            )
        _EVALUATORS[key] = keras.saving.load_model(path, compile=False, safe_mode=True)
    return _EVALUATORS[key]


def _feature_model(evaluator):
    """A model giving the evaluator's features and logits in one pass (cached per evaluator)."""
    if id(evaluator) not in _FEATURE_MODELS:
        features = evaluator.get_layer(FEATURES_LAYER).output
        _FEATURE_MODELS[id(evaluator)] = (
            evaluator,
            keras.Model(evaluator.input, [features, evaluator.output]),
        )
    return _FEATURE_MODELS[id(evaluator)][1]


def features_and_logits(images, batch_size=1000, value_range=None, evaluator=None):
    """Evaluator features ``(N, 128)`` and logits ``(N, 10)`` of images, as float32 arrays.

    Images are converted with ``prepare_images`` and run through the evaluator (the shipped
    one unless given) in batches.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    images = prepare_images(images, value_range)
    model = _feature_model(evaluator if evaluator is not None else load_evaluator())
    features, logits = [], []
    for start in range(0, len(images), batch_size):
        batch_features, batch_logits = model.predict_on_batch(images[start : start + batch_size])
        features.append(batch_features)
        logits.append(batch_logits)
    return np.concatenate(features), np.concatenate(logits)


def _trainer(evaluator, seed):
    """The evaluator behind random shifts, for training only (the shifts are not saved)."""
    translation = EVALUATOR_SETTINGS["translation"]
    return keras.Sequential(
        [
            keras.Input(shape=IMAGE_SHAPE),
            keras.layers.RandomTranslation(
                translation, translation, fill_mode="constant", seed=seed
            ),
            evaluator,
        ],
        name="evaluator_trainer",
    )


def train_evaluator(
    path=None,
    seed=EVALUATOR_SETTINGS["seed"],
    epochs=EVALUATOR_SETTINGS["epochs"],
    batch_size=EVALUATOR_SETTINGS["batch_size"],
    min_accuracy=MIN_ACCURACY,
    verbose=2,
):
    """Train the evaluator from a seed, check its test accuracy, save it and its record.

    Adam with a cosine-decayed learning rate on the 60,000 training digits, with random
    shifts of up to 8% (2 pixels) as augmentation; the test set is used only once, for the
    final accuracy. Writes ``path`` (default: the shipped ``evaluator.keras``) and a JSON
    record beside it, each through a temporary file. Raises ``RuntimeError`` and writes
    nothing when the accuracy is below ``min_accuracy``. Returns the record.
    """
    path = Path(path) if path is not None else EVALUATOR_PATH
    if path.suffix != ".keras":
        raise ValueError(f"The evaluator path must end in .keras, got {path}.")
    set_seed(seed)
    train_images, train_labels = load_mnist("train")
    test_images, test_labels = load_mnist("test")

    evaluator = build_evaluator()
    trainer = _trainer(evaluator, seed)
    steps = epochs * math.ceil(len(train_images) / batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(EVALUATOR_SETTINGS["learning_rate"], steps)
    trainer.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    trainer.fit(
        prepare_images(train_images),
        train_labels.astype(np.int32),
        batch_size=batch_size,
        epochs=epochs,
        shuffle=True,
        verbose=verbose,
    )
    seconds = time.perf_counter() - start

    _, logits = features_and_logits(test_images, evaluator=evaluator)
    accuracy = float(np.mean(logits.argmax(axis=1) == test_labels))
    if accuracy < min_accuracy:
        raise RuntimeError(
            f"The evaluator reached {accuracy:.4f} test accuracy, below the required "
            f"{min_accuracy}; nothing was written."
        )
    # A fresh, uncompiled copy is saved so the file holds no optimizer state.
    shipped = build_evaluator()
    shipped.set_weights(evaluator.get_weights())
    files.write_atomically(path, lambda temporary: shipped.save(temporary))
    record = dict(
        test_accuracy=accuracy,
        test_errors=int(np.sum(logits.argmax(axis=1) != test_labels)),
        sha256=sha256(path),
        parameters=int(shipped.count_params()),
        features_layer=FEATURES_LAYER,
        settings=dict(EVALUATOR_SETTINGS, seed=seed, epochs=epochs, batch_size=batch_size),
        training_seconds=round(seconds, 1),
        command="gan-mnist train-evaluator",
        versions=dict(
            python=platform.python_version(),
            tensorflow=tf.__version__,
            keras=keras.__version__,
            numpy=np.__version__,
        ),
    )
    files.write_text(path.with_suffix(".json"), json.dumps(record, indent=2) + "\n")
    _EVALUATORS.pop(str(path.resolve()), None)
    return record
