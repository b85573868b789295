"""Pictures for the tutorials: digit grids, loss curves, training GIFs and latent walks.

Every function is one line in a notebook. Figures are ``InlineFigure`` objects built without
pyplot, so headless runs never pile up open figures, and a figure that ends a cell is shown as a
PNG whatever the matplotlib backend. Images may be uint8 in [0, 255] or floats in [0, 1]
(sigmoid generators, as in the MLP write-ups) or [-1, 1] (tanh generators, as in the DCGAN and
leaky-ReLU write-ups); the range is detected, or forced with ``value_range``.
"""

import base64
import csv
import html
import inspect
import io
import json
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path

import imageio.v3 as iio
import numpy as np
from matplotlib.figure import Figure

from gan_mnist import files

# Floats this far outside [0, 1] or [-1, 1] are rounding noise, clipped rather than rejected.
RANGE_TOLERANCE = 1e-3
VALUE_RANGES = {"uint8": (0.0, 255.0), "unit": (0.0, 1.0), "symmetric": (-1.0, 1.0)}
MNIST_SIDE = 28
FLAT_MNIST = MNIST_SIDE * MNIST_SIDE

# Loss values when the generator matches the data and D(x) = D(G(z)) = 1/2 (Goodfellow et al.,
# 2014). D's cross-entropy loss -[log D(x) + log(1 - D(G(z)))] is then 2 ln 2 (label smoothing
# leaves it there). The minimax generator minimises E[log(1 - D(G(z)))] = log(1/2) = -ln 2; the
# non-saturating one -E[log D(G(z))] = ln 2. Least squares (Mao et al., 2017, targets 0 and 1 with
# the 1/2 factors of gan_mnist.losses) gives 1/8 + 1/8 = 1/4 for D and 1/8 for G. The Wasserstein
# and hinge critics have no such fixed point: no lines.
LN2 = math.log(2.0)
EQUILIBRIUM_LOSSES = {
    "minimax": {"d_loss": (2 * LN2, "2 ln 2"), "g_loss": (-LN2, "-ln 2")},
    "non_saturating": {"d_loss": (2 * LN2, "2 ln 2"), "g_loss": (LN2, "ln 2")},
    "least_squares": {"d_loss": (0.25, "1/4"), "g_loss": (0.125, "1/8")},
    "wasserstein": {},
    "hinge": {},
}
# The probability panel's line only applies where D's output is a probability.
CROSS_ENTROPY_LOSSES = ("minimax", "non_saturating")
EQUILIBRIUM_PROBABILITY = 0.5

# Browsers replay GIF frames shorter than 20 ms at 100 ms, so shorter durations are refused.
MIN_FRAME_MS = 20
STEP_PATTERN = re.compile(r"(\d+)(?!.*\d)")


class InlineFigure(Figure):
    """A matplotlib ``Figure`` that shows itself as a PNG when it is a notebook cell's value.

    A plain ``Figure`` made without pyplot only shows as text under ``MPLBACKEND=Agg`` (the
    Makefile's setting) or before pyplot has loaded the inline backend; ``_repr_png_`` makes the
    picture appear either way. It is never registered with pyplot, so nothing needs closing.
    """

    def _repr_png_(self):
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", bbox_inches="tight")
        return buffer.getvalue()


# ---------------------------------------------------------------------------------------------
# Value ranges and shapes.


def _parse_range(value_range):
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


def to_uint8(images, value_range=None):
    """Images of any shape as uint8 in [0, 255], keeping the shape.

    uint8 stays as it is; other integers must lie in [0, 255]. Floats in [-1, 1] with a negative
    value are read as tanh outputs, other floats in [0, 1] as sigmoid outputs; anything else
    raises ``ValueError``. ``value_range`` forces the range: ``(low, high)``, ``"uint8"``,
    ``"unit"`` (0, 1) or ``"symmetric"`` (-1, 1). A tanh batch that happens to hold no negative
    value would be read as [0, 1]: pass ``value_range=(-1, 1)`` when in doubt.
    """
    images = np.asarray(images)
    if images.dtype == np.uint8 and value_range is None:
        return images
    if images.dtype == np.bool_ or not np.issubdtype(images.dtype, np.number):
        raise ValueError(f"Expected numeric images, got dtype {images.dtype}.")
    if images.size == 0:
        return images.astype(np.uint8)
    if not np.all(np.isfinite(images)):
        raise ValueError("Images contain NaN or infinite values; the generator has diverged.")
    lowest, highest = float(images.min()), float(images.max())
    if value_range is not None:
        low, high = _parse_range(value_range)
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
    scaled = (images.astype(np.float64) - low) * (255.0 / (high - low))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def _as_digit_batch(images, value_range=None):
    """A batch as uint8 ``(N, H, W)`` (grey) or ``(N, H, W, 3)`` (colour)."""
    images = np.asarray(images)
    if images.ndim == 2 and images.shape[1] == FLAT_MNIST:
        images = images.reshape(-1, MNIST_SIDE, MNIST_SIDE)
    elif images.ndim == 2:
        images = images[np.newaxis]
    elif images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if not (images.ndim == 3 or (images.ndim == 4 and images.shape[-1] == 3)):
        raise ValueError(
            f"Expected a batch of images shaped (N, H, W), (N, H, W, 1), (N, H, W, 3) or "
            f"flat (N, 784), got shape {images.shape}."
        )
    if len(images) == 0:
        raise ValueError("No images given: the batch is empty.")
    return to_uint8(images, value_range)


def _grid_shape(count, rows, cols):
    """``(rows, cols)`` for ``count`` images; a missing side is chosen to fit them."""
    for name, value in (("rows", rows), ("cols", cols)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise ValueError(f"{name} must be a positive integer or None, got {value!r}.")
    if rows is None and cols is None:
        cols = math.ceil(math.sqrt(count))
    if rows is None:
        rows = math.ceil(count / cols)
    if cols is None:
        cols = math.ceil(count / rows)
    if rows * cols < count:
        side = math.ceil(math.sqrt(count))
        raise ValueError(
            f"{count} images do not fit a {rows}x{cols} grid. Pass a larger grid "
            f"(for example rows={side}, cols={side}) or fewer images (images[:{rows * cols}])."
        )
    return rows, cols


def tile_images(images, rows=None, cols=None, padding=2, value_range=None):
    """One uint8 picture of a batch laid out row by row, with white gaps between digits.

    Shaped ``(rows * H + (rows - 1) * padding, cols * W + (cols - 1) * padding)``, plus a
    trailing 3 for colour. Empty cells are white. Without ``rows`` and ``cols`` the grid is
    as square as possible.
    """
    digits = _as_digit_batch(images, value_range)
    rows, cols = _grid_shape(len(digits), rows, cols)
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise ValueError(f"padding must be a non-negative integer, got {padding!r}.")
    height, width = digits.shape[1:3]
    canvas = np.full(
        (rows * height + (rows - 1) * padding, cols * width + (cols - 1) * padding)
        + digits.shape[3:],
        255,
        dtype=np.uint8,
    )
    for index, digit in enumerate(digits):
        top = (index // cols) * (height + padding)
        left = (index % cols) * (width + padding)
        canvas[top : top + height, left : left + width] = digit
    return canvas


def _show_digit(axes, digit):
    axes.imshow(digit, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    axes.set_axis_off()


# ---------------------------------------------------------------------------------------------
# Grids of digits.


def image_grid(images, rows=4, cols=4, title=None, titles=None, value_range=None, size=1.0):
    """A ``rows`` x ``cols`` figure of digits: no axes, small gaps, grey colour map.

    The classic sample grid of the write-ups (a 4x4 ``GridSpec``). ``title`` goes above the grid
    (for example ``f"step {step}"``), ``titles`` above each digit (for example labels).
    ``size`` is the width of one digit in inches. More images than cells raise ``ValueError``.
    """
    digits = _as_digit_batch(images, value_range)
    rows, cols = _grid_shape(len(digits), rows, cols)
    if titles is not None and len(titles) != len(digits):
        raise ValueError(f"Got {len(titles)} titles for {len(digits)} images; give one per image.")
    height = rows * size * (1.25 if titles is not None else 1.0) + (0.35 if title else 0.0)
    figure = InlineFigure(figsize=(cols * size, height), layout="constrained")
    figure.get_layout_engine().set(w_pad=0.02, h_pad=0.02, wspace=0.02, hspace=0.02)
    grid = figure.add_gridspec(rows, cols)
    for index, digit in enumerate(digits):
        axes = figure.add_subplot(grid[index // cols, index % cols])
        _show_digit(axes, digit)
        if titles is not None:
            axes.set_title(str(titles[index]), fontsize=8)
    if title:
        figure.suptitle(title)
    return figure




def save_grid(images, path, rows=4, cols=4, title=None, value_range=None, size=1.0, dpi=100):
    """Write ``image_grid(...)`` to a PNG file (atomically) and return its path.

    The file is not cropped to its content, so every grid with the same ``rows``, ``cols``,
    ``size`` and ``dpi`` has the same pixel size: the frames ``make_gif`` needs.
    """
    if Path(path).suffix.lower() != ".png":
        raise ValueError(f"save_grid writes PNG files; give a path ending in .png, got {path}.")
    figure = image_grid(
        images, rows=rows, cols=cols, title=title, value_range=value_range, size=size
    )
    return files.write_atomically(
        path, lambda temporary: figure.savefig(temporary, format="png", dpi=dpi)
    )


def compare_grids(grids, rows=4, cols=4, value_range=None, title=None, size=0.6):
    """Side-by-side panels, one per entry of ``{"name": images}``, each titled with its name.

    For the loss-variant and architecture comparisons, for example
    ``compare_grids({"minimax": a, "non-saturating": b})``. Each entry's value range is detected
    on its own unless ``value_range`` is given.
    """
    if not isinstance(grids, Mapping) or not grids:
        raise ValueError("compare_grids needs a non-empty dict such as {'minimax': images, ...}.")
    tiles = {}
    for name, images in grids.items():
        try:
            tiles[name] = tile_images(images, rows, cols, value_range=value_range)
        except ValueError as error:
            raise ValueError(f"Entry {name!r}: {error}") from None
    figure = InlineFigure(
        figsize=(len(tiles) * cols * size, rows * size + 0.5), layout="constrained"
    )
    for axes, (name, tile) in zip(figure.subplots(1, len(tiles), squeeze=False)[0], tiles.items()):
        axes.imshow(tile, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        axes.set_axis_off()
        axes.set_title(str(name))
    if title:
        figure.suptitle(title)
    return figure


# ---------------------------------------------------------------------------------------------
# Loss curves.


def _to_float(value, column, row):
    if value is None or (isinstance(value, str) and not value.strip()):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"Column {column!r}, row {row}: {value!r} is not a number.") from None


def load_history(history):
    """The per-step history as ``{column: float array}``.

    Accepts a dict of lists (``{"step": [...], "d_loss": [...], ...}``), a list of row dicts
    (as ``csv.DictReader`` gives them; strings are parsed, empty cells become NaN), a Keras
    ``History``, or the path of a ``.csv`` or ``.json`` file holding either form.
    """
    if isinstance(history, (str, os.PathLike)):
        path = Path(history)
        if not path.is_file():
            raise FileNotFoundError(f"No history file at {path}.")
        if path.suffix.lower() == ".csv":
            with open(path, newline="") as stream:
                history = list(csv.DictReader(stream))
        elif path.suffix.lower() == ".json":
            with open(path) as stream:
                history = json.load(stream)
        else:
            raise ValueError(f"History files must be .csv or .json, got {path.name}.")
    elif not isinstance(history, Mapping) and isinstance(
        getattr(history, "history", None), Mapping
    ):
        history = history.history
    if isinstance(history, Mapping):
        columns = {str(name): list(np.ravel(values)) for name, values in history.items()}
    elif isinstance(history, (list, tuple)) and all(isinstance(row, Mapping) for row in history):
        names = list(dict.fromkeys(name for row in history for name in row))
        columns = {name: [row.get(name) for row in history] for name in names}
    else:
        raise ValueError(
            "history must be a dict of lists, a list of row dicts, a Keras History or a "
            f".csv/.json path, got {type(history).__name__}."
        )
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"History columns have different lengths: {lengths}.")
    if not columns or not max(lengths.values()):
        raise ValueError("The history is empty: no steps were recorded.")
    return {
        name: np.array([_to_float(value, name, row) for row, value in enumerate(values)])
        for name, values in columns.items()
    }


def moving_average(values, window):
    """Trailing mean over the last ``window`` values (fewer at the start), ignoring NaN."""
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"The smoothing window must be a positive integer, got {window!r}.")
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    sums = np.concatenate([[0.0], np.cumsum(np.where(finite, values, 0.0))])
    counts = np.concatenate([[0], np.cumsum(finite)])
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(ends - window, 0)
    totals, numbers = sums[ends] - sums[starts], counts[ends] - counts[starts]
    return np.where(numbers > 0, totals / np.maximum(numbers, 1), np.nan)


def _loss_key(loss):
    """The name of ``loss`` (a name, or an object with a ``name`` as in gan_mnist.losses)."""
    if loss is None:
        return None
    key = str(getattr(loss, "name", loss)).lower().replace("-", "_").replace(" ", "_")
    if key not in EQUILIBRIUM_LOSSES:
        raise ValueError(
            f"Unknown loss {loss!r} for the equilibrium lines; use one of "
            f"{sorted(EQUILIBRIUM_LOSSES)}, or None for no lines."
        )
    return key


def plot_losses(history, smoothing=None, loss="non_saturating", probabilities=None, title=None):
    """D and G loss against iteration, raw and smoothed, with the equilibrium values marked.

    ``history`` is anything ``load_history`` reads. ``smoothing`` is the moving-average window
    in recorded rows (``None``: about 2% of them; 1: no smoothed curve). ``loss`` (a name or a
    ``gan_mnist.losses`` object) picks the dashed lines at the values the losses take when
    D(x) = D(G(z)) = 1/2 (Goodfellow et al., 2014): ``"non_saturating"`` D 2 ln 2 = 1.386 and
    G ln 2 = 0.693; ``"minimax"`` D 2 ln 2 and G -ln 2 = -0.693 (that generator minimises
    E[log(1 - D(G(z)))]); ``"least_squares"`` D 1/4 and G 1/8; ``"wasserstein"``, ``"hinge"`` and
    ``None`` none. ``probabilities`` adds a panel of ``d_real``/``d_fake`` (mean discriminator
    outputs), with the 1/2 line for the cross-entropy losses; ``None`` adds it when those
    columns exist.
    """
    columns = load_history(history)
    missing = [name for name in ("d_loss", "g_loss") if name not in columns]
    if missing:
        raise ValueError(f"The history lacks {missing}; its columns are {sorted(columns)}.")
    loss_key = _loss_key(loss)
    count = len(columns["d_loss"])
    steps = columns.get("step", np.arange(count, dtype=np.float64))
    if smoothing is not None and (
        isinstance(smoothing, bool) or not isinstance(smoothing, int) or smoothing < 1
    ):
        raise ValueError(f"smoothing must be a positive integer or None, got {smoothing!r}.")
    window = max(1, count // 50) if smoothing is None else smoothing
    probability_columns = [
        name
        for name in ("d_real", "d_fake")
        if name in columns and np.isfinite(columns[name]).any()
    ]
    if probabilities and not probability_columns:
        raise ValueError(
            f"probabilities=True needs d_real or d_fake; the columns are {sorted(columns)}."
        )
    if probabilities is None:
        probabilities = bool(probability_columns)

    panels = 2 if probabilities else 1
    figure = InlineFigure(figsize=(10, 3.2 * panels), layout="constrained")
    axes_list = figure.subplots(panels, 1, sharex=True, squeeze=False)[:, 0]

    def draw(axes, name, label, color):
        # With smoothing the raw curve is faint and left out of the legend.
        smoothed = window > 1
        axes.plot(
            steps,
            columns[name],
            color=color,
            alpha=0.3 if smoothed else 1.0,
            linewidth=0.8,
            label="_raw" if smoothed else label,
        )
        if smoothed:
            axes.plot(
                steps,
                moving_average(columns[name], window),
                color=color,
                linewidth=1.6,
                label=f"{label}, moving average of {window} points",
            )

    loss_axes = axes_list[0]
    for name, label, color in (("d_loss", "D loss", "C0"), ("g_loss", "G loss", "C1")):
        draw(loss_axes, name, label, color)
        if loss_key is not None and EQUILIBRIUM_LOSSES[loss_key]:
            value, formula = EQUILIBRIUM_LOSSES[loss_key][name]
            loss_axes.axhline(
                value,
                color=color,
                linestyle="--",
                linewidth=1,
                label=f"{label} at equilibrium: {formula} = {value:.3f}",
            )
    loss_axes.set_ylabel("loss")
    loss_axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    if probabilities:
        probability_axes = axes_list[1]
        labels = {"d_real": ("D(x), real", "C2"), "d_fake": ("D(G(z)), fake", "C3")}
        for name in probability_columns:
            draw(probability_axes, name, *labels[name])
        if loss_key in CROSS_ENTROPY_LOSSES:
            probability_axes.axhline(
                EQUILIBRIUM_PROBABILITY,
                color="k",
                linestyle="--",
                linewidth=1,
                label="equilibrium: D = 1/2",
            )
        probability_axes.set_ylabel("discriminator output")
        probability_axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    axes_list[-1].set_xlabel("iteration")
    if title:
        figure.suptitle(title)
    return figure


# ---------------------------------------------------------------------------------------------
# Training GIFs.


def _step_of(path):
    match = STEP_PATTERN.search(Path(path).stem)
    if match is None:
        raise ValueError(
            f"Frame file {Path(path).name} has no step number in its name; name frames like "
            "step_001000.png or pass the frames and steps= yourself."
        )
    return int(match.group(1))


def _frame_files(folder):
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"No frame folder at {folder}.")
    files = [path for path in folder.iterdir() if path.suffix.lower() == ".png" and path.is_file()]
    if not files:
        raise ValueError(f"The frame folder {folder} holds no .png files.")
    by_step = {}
    for path in files:
        step = _step_of(path)
        if step in by_step:
            raise ValueError(f"{by_step[step].name} and {path.name} both hold step {step}.")
        by_step[step] = path
    return [by_step[step] for step in sorted(by_step)], sorted(by_step)


def _frame_image(frame, value_range):
    """One frame as uint8 ``(H, W)`` or ``(H, W, 3)``, tiling a batch of digits into a grid."""
    if isinstance(frame, (str, os.PathLike)):
        if not Path(frame).is_file():
            raise FileNotFoundError(f"No frame file at {frame}.")
        frame = iio.imread(frame)
    frame = np.asarray(frame)
    is_image = frame.ndim == 2 or (frame.ndim == 3 and frame.shape[-1] in (1, 3, 4))
    if not is_image:
        return tile_images(frame, value_range=value_range), True
    image = to_uint8(frame, value_range)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    elif image.ndim == 3 and image.shape[-1] == 4:
        # Transparent pixels are laid over white.
        alpha = image[..., 3:].astype(np.float64) / 255.0
        image = np.rint(image[..., :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    if (
        image.ndim == 3
        and np.array_equal(image[..., 0], image[..., 1])
        and np.array_equal(image[..., 0], image[..., 2])
    ):
        image = image[..., 0]
    return image, False


def _label_strip(width, text, channels):
    """A white strip of ``width`` pixels with ``text`` centred on it in black."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=max(10, min(24, width // 10)))
    left, top, right, bottom = font.getbbox(text)
    strip = Image.new("L", (width, bottom + 6), 255)
    ImageDraw.Draw(strip).text(((width - right + left) // 2 - left, 3), text, fill=0, font=font)
    strip = np.asarray(strip)
    return np.repeat(strip[..., np.newaxis], 3, axis=-1) if channels else strip


def _step_label(step):
    return f"step {step:,}" if isinstance(step, (int, np.integer)) else str(step)


def _check_duration(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= MIN_FRAME_MS:
        raise ValueError(
            f"{name} is in milliseconds and must be at least {MIN_FRAME_MS} (browsers replay "
            f"shorter GIF frames at 100 ms), got {value!r}."
        )


def make_gif(
    frames_or_folder,
    path,
    duration=200,
    loop=0,
    label_steps=True,
    steps=None,
    hold_last=1500,
    scale=None,
    value_range=None,
):
    """Write the snapshots as an animated GIF (atomically) and return its path.

    ``frames_or_folder`` is a folder of PNG frames, taken in the order of the number in their
    names (``step_900.png`` before ``step_1000.png``), or a list of frames: PNG paths, finished
    images ``(H, W)``/``(H, W, C)`` or digit batches ``(N, 28, 28[, 1])``, which are tiled into a
    grid. Each frame shows for ``duration`` ms, the last for ``hold_last`` ms (``None``: the same);
    ``loop=0`` replays forever, ``None`` plays once. With ``label_steps`` each frame gets a strip
    with its step: from the file names, or from ``steps`` (integers read "step N", strings are used
    as they are); arrays without ``steps`` stay unlabelled. Frames that ``save_grid`` wrote with a
    title already show their step: pass ``label_steps=False``. ``scale`` enlarges frames by an
    integer factor; ``None`` doubles tiled batches and keeps finished images. Pillow merges
    identical consecutive frames, adding their durations.
    """
    path = Path(path)
    if path.suffix.lower() != ".gif":
        raise ValueError(f"make_gif writes GIF files; give a path ending in .gif, got {path}.")
    _check_duration("duration", duration)
    if hold_last is not None:
        _check_duration("hold_last", hold_last)
    if loop is not None and (isinstance(loop, bool) or not isinstance(loop, int) or loop < 0):
        raise ValueError(
            f"loop must be 0 (forever), a positive count or None (play once), got {loop!r}."
        )

    if isinstance(frames_or_folder, (str, os.PathLike)):
        frames, file_steps = _frame_files(frames_or_folder)
    else:
        frames = list(frames_or_folder)
        if not frames:
            raise ValueError("No frames given: the frame list is empty.")
        paths = all(isinstance(frame, (str, os.PathLike)) for frame in frames)
        file_steps = (
            [_step_of(frame) for frame in frames]
            if paths and steps is None and label_steps
            else None
        )
    if steps is not None and len(steps) != len(frames):
        raise ValueError(f"Got {len(steps)} steps for {len(frames)} frames; give one per frame.")
    labels = list(steps) if steps is not None else file_steps
    if isinstance(scale, bool) or (scale is not None and (not isinstance(scale, int) or scale < 1)):
        raise ValueError(f"scale must be a positive integer or None, got {scale!r}.")

    images = []
    for index, frame in enumerate(frames):
        try:
            image, tiled = _frame_image(frame, value_range)
        except ValueError as error:
            raise ValueError(f"Frame {index}: {error}") from None
        factor = scale if scale is not None else (2 if tiled else 1)
        images.append(np.repeat(np.repeat(image, factor, axis=0), factor, axis=1))
    sizes = {image.shape[:2] for image in images}
    if len(sizes) > 1:
        first = images[0].shape[:2]
        odd = next(index for index, image in enumerate(images) if image.shape[:2] != first)
        raise ValueError(
            f"Frames differ in size: frame 0 is {first[0]}x{first[1]} pixels but frame {odd} is "
            f"{images[odd].shape[0]}x{images[odd].shape[1]}. Save every snapshot with the same "
            "grid, figure size and dpi."
        )
    if any(image.ndim == 3 for image in images):
        images = [
            image if image.ndim == 3 else np.repeat(image[..., np.newaxis], 3, axis=-1)
            for image in images
        ]
    if label_steps and labels is not None:
        width, channels = images[0].shape[1], images[0].ndim == 3
        images = [
            np.concatenate([_label_strip(width, _step_label(label), channels), image], axis=0)
            for label, image in zip(labels, images)
        ]
    durations = [duration] * len(images)
    if hold_last is not None:
        durations[-1] = hold_last
    options = {"duration": durations} if len(images) > 1 else {"duration": durations[0]}
    if loop is not None:
        options["loop"] = loop
    data = iio.imwrite("<bytes>", np.stack(images), extension=".gif", is_batch=True, **options)
    return files.write_atomically(path, lambda temporary: Path(temporary).write_bytes(data))


def show_gif(path, width=None):
    """An IPython display object showing the GIF inline, embedded as base64 data.

    Make it a cell's last line. The ``<img>`` carries the data itself (not a link to a local
    file), so the animation survives saving the notebook and ``nbconvert --to html``.
    ``width`` sets the displayed width in pixels, kept sharp (no blurring when enlarged).
    """
    from IPython.display import HTML

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No GIF at {path}; make it with make_gif first.")
    data = path.read_bytes()
    if not data.startswith((b"GIF87a", b"GIF89a")):
        raise ValueError(f"{path} is not a GIF file.")
    style = f' style="width:{int(width)}px; image-rendering:pixelated"' if width else ""
    encoded = base64.b64encode(data).decode("ascii")
    return HTML(
        f'<img src="data:image/gif;base64,{encoded}" alt="{html.escape(path.name)}"{style}>'
    )


# ---------------------------------------------------------------------------------------------
# Latent walks.


def _latent_vector(vector, name):
    vector = np.asarray(vector, dtype=np.float64)
    if vector.ndim == 2 and vector.shape[0] == 1:
        vector = vector[0]
    if vector.ndim != 1 or not len(vector):
        raise ValueError(
            f"{name} must be one latent vector (latent_dim,), got shape {vector.shape}."
        )
    if not np.all(np.isfinite(vector)):
        raise ValueError(f"{name} holds NaN or infinite values.")
    return vector


def interpolate_latents(start, end, steps=10, method="linear"):
    """``steps`` latent vectors from ``start`` to ``end`` (both included), float32.

    ``"linear"`` mixes the two vectors; it suits uniform latents (the MLP write-ups sample
    z ~ U(-1, 1)). ``"slerp"`` follows the great circle between them (White, 2016, "Sampling
    generative networks"), keeping normal latents at typical lengths instead of cutting through
    the low-density middle; nearly parallel vectors fall back to linear.
    """
    start, end = _latent_vector(start, "start"), _latent_vector(end, "end")
    if start.shape != end.shape:
        raise ValueError(f"start and end differ in size: {start.shape} and {end.shape}.")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise ValueError(f"steps must be an integer of at least 2, got {steps!r}.")
    if method not in ("linear", "slerp"):
        raise ValueError(f"Unknown method {method!r}; use 'linear' or 'slerp'.")
    fractions = np.linspace(0.0, 1.0, steps)[:, np.newaxis]
    norms = np.linalg.norm(start) * np.linalg.norm(end)
    angle = math.acos(np.clip(start @ end / norms, -1.0, 1.0)) if norms > 0 else 0.0
    if method == "linear" or math.sin(angle) < 1e-6:
        latents = (1.0 - fractions) * start + fractions * end
    else:
        latents = (
            np.sin((1.0 - fractions) * angle) * start + np.sin(fractions * angle) * end
        ) / math.sin(angle)
    return latents.astype(np.float32)


def generate(generator, latents):
    """Images from ``generator`` for ``latents`` as a NumPy array.

    ``generator`` is a Keras model or any callable mapping ``(N, latent_dim)`` to images;
    callables that accept ``training`` (Keras models do) get ``training=False`` so batch
    normalisation uses its moving statistics.
    """
    latents = np.asarray(latents, dtype=np.float32)
    try:
        parameters = inspect.signature(generator).parameters.values()
    except (TypeError, ValueError):
        parameters = ()
    takes_training = any(
        parameter.name == "training" or parameter.kind is inspect.Parameter.VAR_KEYWORD
        for parameter in parameters
    )
    images = np.asarray(
        generator(latents, training=False) if takes_training else generator(latents)
    )
    if images.shape[:1] != latents.shape[:1]:
        raise ValueError(
            f"The generator returned shape {images.shape} for {len(latents)} latent vectors; "
            "it must return one image per vector."
        )
    return images


def interpolate(generator, start, end, steps=10, method="linear"):
    """The generator's images along the latent path from ``start`` to ``end``.

    Shows what the generator learned between two digits. See ``interpolate_latents`` for
    ``method``; the result is what ``generator`` returns, for example ``(steps, 28, 28, 1)``.
    """
    return generate(generator, interpolate_latents(start, end, steps, method))


def latent_walk_grid(
    generator, starts, ends, steps=10, method="linear", value_range=None, title=None, size=0.7
):
    """A figure with one row per latent walk, from ``starts[i]`` (left) to ``ends[i]`` (right).

    ``starts`` and ``ends`` are ``(walks, latent_dim)`` (or one vector each). All walks go through
    the generator in one batch.
    """
    starts, ends = np.asarray(starts, dtype=np.float64), np.asarray(ends, dtype=np.float64)
    starts, ends = np.atleast_2d(starts), np.atleast_2d(ends)
    if starts.ndim != 2 or starts.shape != ends.shape:
        raise ValueError(
            "starts and ends must both be (walks, latent_dim), "
            f"got {starts.shape} and {ends.shape}."
        )
    latents = np.concatenate(
        [interpolate_latents(start, end, steps, method) for start, end in zip(starts, ends)]
    )
    images = generate(generator, latents)
    return image_grid(
        images, rows=len(starts), cols=steps, title=title, value_range=value_range, size=size
    )
