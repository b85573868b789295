"""Pictures for the tutorials: digit grids and loss curves.

Every function is one line in a notebook. Figures are ``InlineFigure`` objects built without
pyplot, so headless runs never pile up open figures, and a figure that ends a cell is shown as a
PNG whatever the matplotlib backend. Images may be uint8 in [0, 255] or floats in [0, 1]
(sigmoid generators, as in the MLP write-ups) or [-1, 1] (tanh generators, as in the DCGAN and
leaky-ReLU write-ups); the range is detected, or forced with ``value_range`` (see
``gan_mnist.images``). Training GIFs are in ``gan_mnist.animation``, latent walks in
``gan_mnist.latent``.
"""

import io
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from gan_mnist import files
from gan_mnist.history import read_history
from gan_mnist.images import to_uint8

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
# Shapes and tiling.


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


def _show_image(axes, image):
    axes.imshow(image, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    axes.set_axis_off()


# ---------------------------------------------------------------------------------------------
# Grids of digits.


def image_grid(images, rows=4, cols=4, title=None, titles=None, value_range=None, size=1.0,
               row_labels=None):
    """A ``rows`` x ``cols`` figure of digits: no axes, small gaps, grey colour map.

    The classic sample grid of the write-ups (a 4x4 ``GridSpec``). ``title`` goes above the grid
    (for example ``f"step {step}"``), ``titles`` above each digit (for example labels), and
    ``row_labels`` to the left of each row (for example the digit a row asked for, or a cluster's
    majority and purity). ``size`` is the width of one digit in inches. More images than cells,
    or a number of titles or row labels that does not match, raise ``ValueError``.
    """
    digits = _as_digit_batch(images, value_range)
    rows, cols = _grid_shape(len(digits), rows, cols)
    if titles is not None and len(titles) != len(digits):
        raise ValueError(f"Got {len(titles)} titles for {len(digits)} images; give one per image.")
    used_rows = -(-len(digits) // cols)
    if row_labels is not None and len(row_labels) != used_rows:
        raise ValueError(f"Got {len(row_labels)} row labels for {used_rows} rows of digits; give "
                         "one per row.")
    height = rows * size * (1.25 if titles is not None else 1.0) + (0.35 if title else 0.0)
    # Room for the row labels: about 0.07 inch a character at 8 points, so the digits keep `size`.
    margin = 0.0 if row_labels is None else 0.1 + 0.07 * max(len(str(label)) for label in row_labels)
    figure = InlineFigure(figsize=(cols * size + margin, height), layout="constrained")
    figure.get_layout_engine().set(w_pad=0.02, h_pad=0.02, wspace=0.02, hspace=0.02)
    grid = figure.add_gridspec(rows, cols)
    for index, digit in enumerate(digits):
        axes = figure.add_subplot(grid[index // cols, index % cols])
        _show_image(axes, digit)
        if titles is not None:
            axes.set_title(str(titles[index]), fontsize=8)
        if row_labels is not None and index % cols == 0:
            # A y label, not free text: the layout makes room for it to the left of the row.
            axes.set_axis_on()
            axes.set_xticks([])
            axes.set_yticks([])
            axes.spines[:].set_visible(False)
            axes.set_ylabel(str(row_labels[index // cols]), rotation=0, ha="right", va="center",
                            fontsize=8)
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
        _show_image(axes, tile)
        axes.set_title(str(name))
    if title:
        figure.suptitle(title)
    return figure


# ---------------------------------------------------------------------------------------------
# Loss curves.


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

    ``history`` is anything ``gan_mnist.history.read_history`` reads. ``smoothing`` is the
    moving-average window in recorded rows (``None``: about 2% of them; 1: no smoothed curve).
    ``loss`` (a name or a ``gan_mnist.losses`` object) picks the dashed lines at the values the
    losses take when D(x) = D(G(z)) = 1/2 (Goodfellow et al., 2014): ``"non_saturating"`` D
    2 ln 2 = 1.386 and G ln 2 = 0.693; ``"minimax"`` D 2 ln 2 and G -ln 2 = -0.693 (that
    generator minimises E[log(1 - D(G(z)))]); ``"least_squares"`` D 1/4 and G 1/8;
    ``"wasserstein"``, ``"hinge"`` and ``None`` none. ``probabilities`` adds a panel of
    ``d_real``/``d_fake`` (mean discriminator outputs), with the 1/2 line for the cross-entropy
    losses; ``None`` adds it when those columns exist.
    """
    columns = {name: np.asarray(values, float) for name, values in read_history(history).items()}
    missing = [name for name in ("d_loss", "g_loss") if name not in columns]
    if missing:
        raise ValueError(f"The history lacks {missing}; its columns are {sorted(columns)}.")
    count = len(columns["d_loss"])
    if not count:
        raise ValueError("The history is empty: no steps were recorded.")
    loss_key = _loss_key(loss)
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
