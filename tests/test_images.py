"""Tests for gan_mnist.images: value ranges, to grey levels and to [0, 1], slant and width."""

import numpy as np
import pytest

from gan_mnist import images

# ---------------------------------------------------------------------------------------------
# To uint8 grey levels.


def test_to_uint8_detects_each_range():
    values = np.array([0.0, 0.25, 0.5, 1.0])
    expected = np.rint(values * 255).astype(np.uint8)
    np.testing.assert_array_equal(images.to_uint8(values), expected)
    np.testing.assert_array_equal(images.to_uint8(values * 2 - 1), expected)
    uint8 = np.array([0, 7, 255], dtype=np.uint8)
    assert images.to_uint8(uint8) is uint8
    np.testing.assert_array_equal(images.to_uint8(np.array([0, 7, 255], dtype=np.int64)), uint8)
    # Rounding noise just beyond the range is clipped, not rejected.
    np.testing.assert_array_equal(images.to_uint8(np.array([-1.0004, 1.0004])), [0, 255])


def test_to_uint8_forced_range():
    # All-positive tanh output would be read as [0, 1]; value_range fixes the reading.
    values = np.array([0.0, 1.0])
    np.testing.assert_array_equal(images.to_uint8(values, value_range=(-1, 1)), [128, 255])
    np.testing.assert_array_equal(images.to_uint8(values, value_range="symmetric"), [128, 255])
    np.testing.assert_array_equal(
        images.to_uint8(np.array([0.0, 255.0]), value_range="uint8"), [0, 255]
    )


@pytest.mark.parametrize(
    "values, value_range",
    [
        (np.array([0.0, 3.0]), None),
        (np.array([-2.0, 0.5]), None),
        (np.array([0.0, np.nan]), None),
        (np.array([0, 300]), None),
        (np.array([0.0, 1.0]), "percent"),
        (np.array([0.0, 1.0]), (1, 0)),
        (np.array([-1.0, 1.0]), (0, 1)),
    ],
)
def test_to_uint8_rejects_unknown_ranges(values, value_range):
    with pytest.raises(ValueError):
        images.to_uint8(values, value_range=value_range)


# ---------------------------------------------------------------------------------------------
# To floats in [0, 1].


def test_to_unit_maps_each_range_onto_0_1():
    uint8 = np.array([[0, 51, 255]], dtype=np.uint8)
    unit = images.to_unit(uint8)
    assert unit.dtype == np.float32 and unit.shape == (1, 3)
    np.testing.assert_array_equal(unit, uint8.astype(np.float32) / np.float32(255.0))
    values = np.array([0.0, 0.25, 1.0], dtype=np.float32)
    np.testing.assert_array_equal(images.to_unit(values), values)
    np.testing.assert_array_equal(images.to_unit(values * 2 - 1), values)
    assert images.to_unit(np.array([0.5])).dtype == np.float32


def test_to_unit_forced_range_and_rounding_noise():
    # All-positive tanh output would be read as [0, 1]; value_range fixes the reading.
    np.testing.assert_array_equal(
        images.to_unit(np.array([0.0, 1.0]), value_range=(-1, 1)), [0.5, 1.0]
    )
    np.testing.assert_array_equal(
        images.to_unit(np.array([0.0, 127.5]), value_range="uint8"), [0.0, 0.5]
    )
    # Rounding noise just beyond the range is clipped, not rejected.
    np.testing.assert_array_equal(images.to_unit(np.array([-1.0004, 1.0004])), [0.0, 1.0])
    np.testing.assert_array_equal(images.to_unit(np.array([0.5, 1.0004])), [0.5, 1.0])


@pytest.mark.parametrize(
    "values, value_range",
    [
        (np.array([0.0, 3.0]), None),
        (np.array([-2.0, 0.5]), None),
        (np.array([0.0, np.nan]), None),
        (np.array([0.0, np.inf]), None),
        (np.array([-1.0, 1.0]), (0, 1)),
        (np.array([0.0, 1.0]), "percent"),
        (np.array([0, 255], dtype=np.int64), None),
        (np.array(["0.5"]), None),
        (np.array([True, False]), None),
        (np.array([0, 255], dtype=np.uint8), (0, 255)),
        (np.array([0, 255], dtype=np.uint8), "uint8"),
    ],
)
def test_to_unit_rejects_bad_images(values, value_range):
    with pytest.raises(ValueError):
        images.to_unit(values, value_range=value_range)


# ---------------------------------------------------------------------------------------------
# Value ranges.


def test_parse_range_names_and_pairs():
    assert images.parse_range("unit") == (0.0, 1.0)
    assert images.parse_range((-1, 1)) == (-1.0, 1.0)
    for name, value_range in images.VALUE_RANGES.items():
        assert images.parse_range(name) == value_range
    for bad in ("percent", (1, 0), (0, 0), 5, (0, 1, 2), ("low", "high")):
        with pytest.raises(ValueError):
            images.parse_range(bad)


def test_slant_and_width_read_from_moments_of_hand_drawn_strokes():
    upright = np.zeros((28, 28), np.float32)
    upright[4:24, 13] = 1.0
    leaning = np.zeros((28, 28), np.float32)
    for row in range(4, 24):  # One column to the right every two rows upwards.
        leaning[row, 13 + (24 - row) // 2] = 1.0
    wide = np.zeros((28, 28), np.float32)
    wide[4:24, 9:18] = 1.0
    slant, width = images.slant_and_width(np.stack([upright, leaning, wide]))
    assert slant[0] == pytest.approx(0.0, abs=1e-9) and slant[2] == pytest.approx(0.0, abs=1e-9)
    assert slant[1] == pytest.approx(0.5, abs=0.03)  # Half a column per row, leaning right.
    assert width[0] == pytest.approx(0.0, abs=1e-6)
    assert width[2] == pytest.approx(np.std(np.arange(9)), rel=1e-6)
    assert slant[1] > 0 > images.slant_and_width(leaning[:, ::-1][None])[0][0]
    # A slanted stroke one pixel wide stays about as narrow as an upright one.
    assert width[1] < 0.5
