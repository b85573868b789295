"""``explore(gan)``: a notebook widget that walks a GAN's latent space live (needs ipywidgets).

A grid of digits, each from its own noise vector of a seed, answers four controls at once: the
seed, a walk towards the noise of a second seed, the truncation (``latent.truncate``) and, for
a conditional GAN, the digit (for a self-conditioned one, the cluster). The grid is a PNG in an
``ipywidgets.Image``, tiled with NumPy, so a redraw costs little more than the generator's
forward pass. Widgets need a running kernel: ``picture()`` is a still of the current state for
a notebook's saved outputs, which readers without a kernel (and the book) see.
"""

import io
import time

import numpy as np
from PIL import Image as PILImage

try:
    import ipywidgets as widgets
except ImportError as error:
    raise ImportError(
        "gan_mnist.explore needs ipywidgets: pip install ipywidgets (or pip install "
        "'gan-mnist[explore]')."
    ) from error

from gan_mnist import latent
from gan_mnist.backend import keras
from gan_mnist.conditioning import NUM_CLASSES
from gan_mnist.gan import GAN
from gan_mnist.visualize import tile_images

DIGIT_SHAPE = (28, 28, 1)
ANY = "any"
WIDE = {"description_width": "initial"}  # Labels in full.
MAX_SEED = 2**31 - 1


def _check_gan(gan):
    if not isinstance(gan, GAN):
        raise ValueError(
            f"explore takes a gan_mnist.GAN (such as gan_mnist.pretrained('dcgan'), or the .gan "
            f"of what train returns), got {type(gan).__name__}."
        )
    if tuple(gan.image_shape) != DIGIT_SHAPE:
        raise ValueError(
            f"explore shows MNIST digits, {DIGIT_SHAPE}, but this GAN's generator makes images "
            f"of shape {tuple(gan.image_shape)}."
        )
    return gan


def _integer(name, value, low, high=None):
    if (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low
            or (high is not None and value > high)):
        bounds = f"from {low} to {high:,}" if high else f"of at least {low}"
        raise ValueError(f"{name} must be an integer {bounds}, got {value!r}.")
    return int(value)


def _choices(gan):
    """The options of the digit or cluster menu, ``"any"`` first; ``None`` for a plain GAN."""
    if gan.conditional:
        return "digit", [(ANY, ANY)] + [(str(digit), digit) for digit in range(NUM_CLASSES)]
    if gan.self_conditioned:
        shares = _shares(gan)
        return "cluster", [(ANY, ANY)] + [
            (f"{cluster} ({shares[cluster]:.1%})", int(cluster)) for cluster in _by_size(gan)
        ]
    return None, None


def _shares(gan):
    """A self-conditioned GAN's clusters' shares of the data."""
    shares = keras.ops.convert_to_numpy(gan.cluster_frequencies).astype(np.float64)
    return shares / shares.sum()


def _by_size(gan):
    """A self-conditioned GAN's cluster ids, the largest cluster first."""
    return np.argsort(-_shares(gan), kind="stable")


class Explorer(widgets.VBox):
    """A live grid of a GAN's digits and the controls that move it; see ``explore``.

    The controls are public widgets: ``seed`` and ``end_seed`` (whose noise the walk goes
    to), ``position`` (0: ``seed``'s digits, 1: ``end_seed``'s), ``truncation`` (1: the noise
    as drawn) and ``choice``, the digit or cluster menu (``None`` for a plain GAN). Set their
    ``value`` and ``image`` redraws. ``seconds`` is how long the last redraw took.
    """

    def __init__(self, gan, seed=0, end_seed=1, rows=4, cols=4, scale=3):
        self.gan = _check_gan(gan)
        self.rows, self.cols = _integer("rows", rows, 1), _integer("cols", cols, 1)
        self.scale = _integer("scale", scale, 1)
        seed = _integer("seed", seed, 0, MAX_SEED)
        end_seed = _integer("end_seed", end_seed, 0, MAX_SEED)
        # Slerp keeps normal noise at typical lengths; uniform noise walks in straight lines.
        self.method = "slerp" if gan.latent == "normal" else "linear"
        self.seconds = None

        def seed_box(value, description):
            return widgets.BoundedIntText(value=value, min=0, max=MAX_SEED,
                                          description=description, style=WIDE)

        def slider(value, description):
            return widgets.FloatSlider(value=value, min=0.0, max=1.0, step=0.01,
                                       description=description, style=WIDE)

        self.seed, self.end_seed = seed_box(seed, "seed"), seed_box(end_seed, "walk to seed")
        self.position, self.truncation = slider(0.0, "walk"), slider(1.0, "truncation")
        what, options = _choices(gan)
        self.choice = None if options is None else widgets.Dropdown(
            options=options, value=ANY, description=what, style=WIDE)
        self.image = widgets.Image(format="png")
        controls = [self.seed, self.end_seed, self.position, self.truncation]
        if self.choice is not None:
            controls.append(self.choice)
        for control in controls:
            control.observe(self._redraw, names="value")
        super().__init__([widgets.HBox(controls[:2]), *controls[2:], self.image])
        self._redraw()
        # At its own size: in a VBox, JupyterLab would stretch it to the notebook's width.
        self.image.layout.width = f"{PILImage.open(io.BytesIO(self.image.value)).width}px"

    def latents(self):
        """The noise of the cells as they stand: walked, then truncated; ``(cells, dim)``."""
        cells = self.rows * self.cols
        start, end = (self.gan.sample_latent(cells, seed.value)
                      for seed in (self.seed, self.end_seed))
        walked = latent.walk_position(start, end, self.position.value, self.method)
        return latent.truncate(walked, self.truncation.value)

    def ids(self):
        """The cells' digits or clusters (``None`` for a plain GAN). ``"any"`` gives cell ``i``
        digit ``i % 10``, or the ``i``-th largest cluster, so walks keep each cell's id."""
        if self.choice is None:
            return None
        if self.choice.value != ANY:
            return self.choice.value
        cells = np.arange(self.rows * self.cols)
        if self.gan.conditional:
            return cells % NUM_CLASSES
        order = _by_size(self.gan)
        return order[cells % len(order)]

    def grid(self):
        """The current grid as a uint8 ``(height, width)`` array, before scaling."""
        images = self.gan.generate_from(self.latents(), self.ids())
        return tile_images(images, self.rows, self.cols, value_range=self.gan.value_range)

    def png(self):
        """The current grid, scaled ``scale`` times, as PNG bytes."""
        grid = self.grid().repeat(self.scale, axis=0).repeat(self.scale, axis=1)
        buffer = io.BytesIO()
        PILImage.fromarray(grid).save(buffer, format="png", compress_level=1)
        return buffer.getvalue()

    def picture(self):
        """A still of the current grid, an ``IPython.display.Image``: saved with a notebook, it
        shows without a kernel."""
        from IPython.display import Image

        return Image(data=bytes(self.image.value), format="png")

    def _redraw(self, change=None):
        started = time.perf_counter()
        self.image.value = self.png()
        self.seconds = time.perf_counter() - started


def explore(gan, seed=0, end_seed=1, rows=4, cols=4, scale=3):
    """An ``Explorer`` of ``gan``: a ``rows`` x ``cols`` grid of digits with live controls.

    ``gan`` is any ``gan_mnist.GAN`` of MNIST digits (plain, conditional or self-conditioned).
    Show it as a notebook cell's value; ``display(explorer.picture())`` beside it keeps a still
    in the saved notebook.
    """
    return Explorer(gan, seed, end_seed, rows, cols, scale)
