"""Image value ranges: one home for turning generated images into pixels and back.

Generators write images in their own range: [0, 1] for sigmoid outputs (the MLP write-ups),
[-1, 1] for tanh outputs (DCGAN and the leaky-ReLU MLP). A ``GAN`` knows its range
(``gan.value_range``) and every part of the package passes it on; for arrays that come without
one, the range is read from the values: integers are 0..255, floats with a negative value are
[-1, 1], other floats [0, 1].

``slant_and_width`` reads two properties of a digit's ink from its image moments, for
measuring what a generator's inputs control (lesson "What a GAN learns").
"""

import numpy as np

# Floats this far outside their range (a fraction of its width) are rounding noise, clipped
# rather than rejected.
RANGE_TOLERANCE = 1e-3
VALUE_RANGES = {"uint8": (0.0, 255.0), "unit": (0.0, 1.0), "symmetric": (-1.0, 1.0)}


def parse_range(value_range):
    """``(low, high)`` as floats from a pair or a name of ``VALUE_RANGES``; ``ValueError`` else."""
    if isinstance(value_range, str):
        if value_range not in VALUE_RANGES:
            raise ValueError(
                f"Unknown value_range {value_range!r}; use one of {sorted(VALUE_RANGES)} "
                "or a (low, high) pair such as (-1, 1)."
            )
        return VALUE_RANGES[value_range]
    try:
        low, high = (float(value) for value in value_range)
    except (TypeError, ValueError):
        raise ValueError(
            f"value_range must be None, a (low, high) pair or one of {sorted(VALUE_RANGES)}, "
            f"got {value_range!r}."
        ) from None
    if not low < high:
        raise ValueError(f"value_range must be (low, high) with low < high, got {value_range!r}.")
    return low, high


def _checked_range(images, value_range):
    """The range of a numeric, finite batch (given, or read from its values), checked on it."""
    if images.dtype == np.bool_ or not np.issubdtype(images.dtype, np.number):
        raise ValueError(f"Expected numeric images, got dtype {images.dtype}.")
    if not np.all(np.isfinite(images)):
        raise ValueError("Images contain NaN or infinite values; the generator has diverged.")
    lowest, highest = float(images.min()), float(images.max())
    if value_range is not None:
        low, high = parse_range(value_range)
    elif np.issubdtype(images.dtype, np.integer):
        low, high = VALUE_RANGES["uint8"]
    elif lowest < 0:
        low, high = VALUE_RANGES["symmetric"]
    else:
        low, high = VALUE_RANGES["unit"]
    tolerance = RANGE_TOLERANCE * (high - low)
    if lowest < low - tolerance or highest > high + tolerance:
        raise ValueError(
            f"Image values span [{lowest:.4g}, {highest:.4g}], outside the range "
            f"[{low:g}, {high:g}]. Pass uint8 images, floats in [0, 1] or [-1, 1], "
            "or set value_range=(low, high) to the range your images use."
        )
    return low, high


def to_uint8(images, value_range=None):
    """Images of any shape as uint8 grey levels in [0, 255], keeping the shape.

    uint8 without ``value_range`` stays as it is. ``value_range`` is ``(low, high)`` or a name
    of ``VALUE_RANGES``; without it the range is read from the values (see the module), so a
    tanh batch without a negative value reads as [0, 1]: pass ``(-1, 1)`` when in doubt.
    """
    images = np.asarray(images)
    if images.dtype == np.uint8 and value_range is None:
        return images
    if images.size == 0:
        return images.astype(np.uint8)
    low, high = _checked_range(images, value_range)
    scaled = (images.astype(np.float64) - low) * (255.0 / (high - low))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def to_unit(images, value_range=None):
    """Images of any shape as float32 in [0, 1], keeping the shape.

    uint8 images are divided by 255 (``value_range`` must then be left out); floats are
    clipped to their range (given, or read from the values) and mapped linearly onto [0, 1].
    """
    images = np.asarray(images)
    if images.dtype == np.uint8:
        if value_range is not None:
            raise ValueError("value_range applies to float images; uint8 images are 0..255.")
        return images.astype(np.float32) / np.float32(255.0)
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(
            f"Expected uint8 or float images, got dtype {images.dtype}. Fix: convert 0..255 "
            "integers with images.astype(np.uint8)."
        )
    images = images.astype(np.float32)
    if images.size == 0:
        return images
    low, high = _checked_range(images, value_range)
    images = np.clip(images, np.float32(low), np.float32(high))
    return (images - np.float32(low)) / np.float32(high - low)


def slant_and_width(images):
    """Each digit's slant and stroke width, from the moments of its ink.

    ``images``: ``(N, 28, 28)`` or ``(N, 28, 28, 1)``, brighter pixels more ink (any range with
    0 as no ink: [0, 1] or uint8). The slant is ``-mu11 / mu02``, the columns the ink moves
    per row, positive for a digit leaning right (rows count downwards, hence the sign); the
    width is the standard deviation of the ink's column positions once the slant is taken
    out, ``sqrt(mu20 - mu11^2 / mu02)``, in pixels: a thicker or wider digit spreads its ink
    over more columns, a merely slanted one does not. Both come from the central moments
    ``mu_pq = sum (column - mean)^p (row - mean)^q ink / sum ink`` (the moments by which MNIST
    digits are commonly deskewed).
    """
    ink = np.asarray(images, np.float64)
    ink = ink.reshape(len(ink), ink.shape[1], ink.shape[2])
    total = ink.sum(axis=(1, 2)) + 1e-8
    rows, columns = np.mgrid[0 : ink.shape[1], 0 : ink.shape[2]]
    row_mean = (ink * rows).sum(axis=(1, 2)) / total
    column_mean = (ink * columns).sum(axis=(1, 2)) / total
    dr = rows[None] - row_mean[:, None, None]
    dc = columns[None] - column_mean[:, None, None]
    mu11 = (ink * dr * dc).sum(axis=(1, 2)) / total
    mu02 = (ink * dr**2).sum(axis=(1, 2)) / total
    mu20 = (ink * dc**2).sum(axis=(1, 2)) / total
    return -mu11 / mu02, np.sqrt(np.maximum(mu20 - mu11**2 / mu02, 0.0))
