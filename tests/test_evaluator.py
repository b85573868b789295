"""The evaluator: its input preparation, the shipped weights and their record."""

import json

import numpy as np
import pytest

from gan_mnist import evaluator
from gan_mnist.data import load_mnist, sha256


@pytest.fixture(scope="module")
def test_split():
    return load_mnist("test")


# Image conversion.


def test_the_three_input_ranges_give_the_same_images(test_split):
    pixels = test_split[0][:8]
    as_unit = pixels.astype(np.float32) / 255
    expected = as_unit[..., np.newaxis]
    np.testing.assert_allclose(evaluator.prepare_images(pixels), expected, atol=1e-6)
    np.testing.assert_allclose(evaluator.prepare_images(as_unit), expected, atol=1e-6)
    np.testing.assert_allclose(evaluator.prepare_images(as_unit * 2 - 1), expected, atol=1e-6)
    np.testing.assert_allclose(evaluator.prepare_images(expected), expected, atol=1e-6)


def test_value_range_overrides_the_guess():
    images = np.full((2, 28, 28), 0.5, dtype=np.float32)
    np.testing.assert_allclose(evaluator.prepare_images(images), 0.5)
    np.testing.assert_allclose(evaluator.prepare_images(images, value_range=(-1, 1)), 0.75)


@pytest.mark.parametrize(
    "images, message",
    [
        (np.zeros((4, 784), np.float32), "shape"),
        (np.zeros((4, 28, 28, 3), np.float32), "shape"),
        (np.zeros((28, 28), np.uint8), "shape"),
        (np.zeros((0, 28, 28), np.uint8), "shape"),
        (np.full((2, 28, 28), 255.0, np.float32), "span"),
        (np.full((2, 28, 28), -1.5, np.float32), "span"),
        (np.full((2, 28, 28), np.nan, np.float32), "NaN"),
        (np.zeros((2, 28, 28), np.int64), "dtype"),
    ],
)
def test_bad_images_raise(images, message):
    with pytest.raises(ValueError, match=message):
        evaluator.prepare_images(images)


# The shipped evaluator.


def test_shipped_evaluator_record_and_file_agree():
    record = json.loads(evaluator.EVALUATOR_RECORD_PATH.read_text())
    assert record["test_accuracy"] >= evaluator.MIN_ACCURACY
    assert record["sha256"] == sha256(evaluator.EVALUATOR_PATH)
    assert evaluator.EVALUATOR_PATH.stat().st_size < 1_000_000


def test_shipped_evaluator_classifies_test_digits(test_split):
    images, labels = test_split
    network = evaluator.load_evaluator()
    assert network is evaluator.load_evaluator()
    assert network.get_layer(evaluator.FEATURES_LAYER).units == 128
    features, logits = evaluator.features_and_logits(images[:2000], batch_size=700)
    assert features.shape == (2000, 128) and logits.shape == (2000, 10)
    assert np.mean(logits.argmax(1) == labels[:2000]) >= 0.99
    direct = np.asarray(network(evaluator.prepare_images(images[:5]), training=False))
    np.testing.assert_allclose(logits[:5], direct, rtol=1e-4, atol=1e-4)


def test_missing_weights_name_the_training_command(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-evaluator"):
        evaluator.load_evaluator(tmp_path / "evaluator.keras")
