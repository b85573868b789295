"""``gan_mnist.explore``: the live latent-space widget, driven as ipywidgets' own tests drive
widgets, by setting its controls' values (no browser needed)."""

import importlib
import subprocess
import sys

import IPython.display
import keras
import numpy as np
import pytest

ipywidgets = pytest.importorskip("ipywidgets")

import gan_mnist  # noqa: E402
from gan_mnist import GAN, explore, models  # noqa: E402
from gan_mnist.explorer import Explorer  # noqa: E402
from gan_mnist.visualize import tile_images  # noqa: E402

SHARES = [0.05, 0.3, 0.1, 0.2, 0.05, 0.1, 0.15, 0.05]
BY_SIZE = [1, 3, 6, 2, 5, 0, 4, 7]


def tiny_gan(conditional=False, clusters=None, latent="uniform"):
    networks = models.build("leaky", latent_dim=16, generator_widths=(32,),
                            discriminator_widths=(32,), conditional=clusters or conditional)
    gan = GAN(*networks, latent=latent, seed=0, clusters=clusters)
    if clusters:
        gan.cluster_frequencies.assign(np.array(SHARES, np.float32))
    return gan


@pytest.fixture(scope="module")
def plain():
    return tiny_gan()


def cells(grid, rows=4, cols=4, side=28, padding=2):
    step = side + padding
    return [grid[row * step:row * step + side, col * step:col * step + side]
            for row in range(rows) for col in range(cols)]


def test_the_explorer_is_a_widget_that_redraws_when_a_control_changes(plain):
    explorer = explore(plain)
    assert isinstance(explorer, Explorer) and isinstance(explorer, ipywidgets.VBox)
    assert isinstance(explorer.image, ipywidgets.Image) and explorer.image.format == "png"
    assert explorer.image in explorer.children and explorer.choice is None
    first = bytes(explorer.image.value)
    assert first.startswith(b"\x89PNG") and first == explorer.png()
    for control, value in ((explorer.seed, 5), (explorer.truncation, 0.4),
                           (explorer.position, 0.3), (explorer.end_seed, 9)):
        before, original = bytes(explorer.image.value), control.value
        control.value = value
        assert explorer.image.value != before, control.description
        control.value = original
        assert explorer.image.value == before, control.description
        # The walk's end shows once the walk has left its start.
        explorer.position.value = 0.5
    assert explorer.seconds < 1.0
    # A still of the current state, for the saved notebook.
    picture = explorer.picture()
    assert isinstance(picture, IPython.display.Image) and picture.format == "png"
    assert picture.data == explorer.png() != first


def test_the_grid_is_what_generate_draws(plain):
    explorer = explore(plain, seed=4)
    grid = explorer.grid()
    assert grid.dtype == np.uint8 and grid.shape == (4 * 28 + 6, 4 * 28 + 6)
    np.testing.assert_array_equal(grid, tile_images(plain.generate(16, seed=4), 4, 4,
                                                    value_range=plain.value_range))
    explorer.truncation.value = 0.5
    np.testing.assert_array_equal(explorer.grid(), tile_images(
        plain.generate(16, seed=4, truncation=0.5), 4, 4, value_range=plain.value_range))
    wide = explore(plain, rows=2, cols=3, scale=2)
    assert wide.grid().shape == (2 * 28 + 2, 3 * 28 + 4)


def test_truncation_zero_makes_every_cell_the_same_digit(plain):
    explorer = explore(plain, seed=1)
    assert len({cell.tobytes() for cell in cells(explorer.grid())}) == 16
    explorer.truncation.value = 0.0
    assert len({cell.tobytes() for cell in cells(explorer.grid())}) == 1


@pytest.mark.parametrize("latent", ["uniform", "normal"])
def test_the_walk_goes_from_one_seed_s_digits_to_the_other_s(latent):
    gan = tiny_gan(latent=latent)
    explorer = explore(gan, seed=3, end_seed=7)
    assert explorer.method == ("slerp" if latent == "normal" else "linear")
    assert explorer.image.value == explore(gan, seed=3).image.value
    explorer.position.value = 0.5
    halfway = explorer.image.value
    explorer.position.value = 1.0
    assert explorer.image.value == explore(gan, seed=7).image.value != halfway


def test_a_conditional_gan_gets_a_digit_menu():
    gan = tiny_gan(conditional=True)
    explorer = explore(gan, seed=2)
    assert explorer.choice.description == "digit" and explorer.choice in explorer.children
    assert explorer.choice.value == "any"
    assert [value for _, value in explorer.choice.options] == ["any", *range(10)]
    np.testing.assert_array_equal(explorer.ids(), np.arange(16) % 10)
    any_digit = explorer.image.value
    explorer.choice.value = 3
    assert explorer.image.value != any_digit
    np.testing.assert_array_equal(explorer.grid(), tile_images(
        gan.generate(16, seed=2, labels=3), 4, 4, value_range=gan.value_range))
    explorer.choice.value = "any"
    assert explorer.image.value == any_digit


def test_a_self_conditioned_gan_gets_its_clusters_largest_first():
    gan = tiny_gan(clusters=8, latent="normal")
    explorer = explore(gan)
    assert explorer.choice.description == "cluster"
    assert [value for _, value in explorer.choice.options] == ["any", *BY_SIZE]
    assert explorer.choice.options[1][0] == "1 (30.0%)"
    np.testing.assert_array_equal(explorer.ids(), [*BY_SIZE, *BY_SIZE])
    before = explorer.image.value
    explorer.choice.value = 6
    assert explorer.image.value != before
    np.testing.assert_array_equal(explorer.grid(), tile_images(
        gan.generate(16, seed=0, clusters=6), 4, 4, value_range=gan.value_range))


def test_bad_input_is_a_clear_error(plain):
    with pytest.raises(ValueError, match="explore takes a gan_mnist.GAN"):
        explore(plain.generator)
    generator = keras.Sequential([keras.Input((8,)), keras.layers.Dense(32 * 32),
                                  keras.layers.Reshape((32, 32, 1))])
    discriminator = keras.Sequential([keras.Input((32, 32, 1)), keras.layers.Flatten(),
                                      keras.layers.Dense(1)])
    with pytest.raises(ValueError, match=r"makes images of shape \(32, 32, 1\)"):
        explore(GAN(generator, discriminator, seed=0))
    for name in ("rows", "cols", "scale"):
        with pytest.raises(ValueError, match=f"{name} must be an integer of at least 1"):
            explore(plain, **{name: 0})
    with pytest.raises(ValueError, match="end_seed must be an integer from 0"):
        explore(plain, end_seed=-1)


def test_without_ipywidgets_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    monkeypatch.delitem(sys.modules, "gan_mnist.explorer")
    with pytest.raises(ImportError, match="pip install ipywidgets"):
        importlib.import_module("gan_mnist.explorer")
    with pytest.raises(ImportError, match="pip install ipywidgets"):
        gan_mnist.explore


def test_importing_the_package_imports_no_ipywidgets():
    code = ("import sys, gan_mnist, gan_mnist.cli, gan_mnist.latent; "
            "print('ipywidgets' in sys.modules, 'explore' in gan_mnist.__all__)")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               timeout=120)
    assert completed.stdout.split() == ["False", "True"], completed.stderr


def test_the_picture_keeps_its_own_size_in_the_layout(plain):
    # JupyterLab stretches an image in a VBox to the notebook's width unless told its width.
    explorer = explore(plain, rows=2, cols=3, scale=2)
    grid = explorer.grid()
    assert explorer.image.layout.width == f"{grid.shape[1] * 2}px"
