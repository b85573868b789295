"""Tests for digit grids and loss plots (visualize), GIFs (animation) and latent walks (latent)."""

import base64
import math

import imageio.v3 as iio
import matplotlib.pyplot as plt
import numpy as np
import pytest

from gan_mnist import animation, latent, visualize
from helpers import history_sources, random_history

LN2 = math.log(2.0)


def digits(count, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(count, 28, 28), dtype=np.uint8)


def reference_lines(axes):
    return sorted(
        float(line.get_ydata()[0])
        for line in axes.get_lines()
        if "equilibrium" in line.get_label()
    )


# ---------------------------------------------------------------------------------------------
# Tiling.


def test_tile_images_places_digits_row_by_row():
    images = digits(5)
    tile = visualize.tile_images(images, rows=2, cols=3, padding=2)
    assert tile.shape == (2 * 28 + 2, 3 * 28 + 2 * 2)
    for index, digit in enumerate(images):
        top, left = (index // 3) * 30, (index % 3) * 30
        np.testing.assert_array_equal(tile[top : top + 28, left : left + 28], digit)
    # Gaps and the empty sixth cell are white.
    assert (tile[28:30] == 255).all()
    assert (tile[30:, 60:] == 255).all()
    # Without rows and cols the grid is as square as possible: 10 digits in 3 rows of 4.
    assert visualize.tile_images(digits(10)).shape == (3 * 28 + 4, 4 * 28 + 6)


# ---------------------------------------------------------------------------------------------
# Grids of digits.


def test_image_grid_structure_and_pixels():
    open_figures = plt.get_fignums()
    images = np.random.default_rng(1).uniform(-1, 1, size=(16, 28, 28, 1)).astype(np.float32)
    figure = visualize.image_grid(images, title="step 1000")
    assert len(figure.axes) == 16
    assert figure._suptitle.get_text() == "step 1000"
    expected = np.rint((images[..., 0].astype(np.float64) + 1) * 127.5).astype(np.uint8)
    for index, axes in enumerate(figure.axes):
        assert not axes.axison
        assert axes.get_subplotspec().get_geometry()[:2] == (4, 4)
        np.testing.assert_array_equal(axes.images[0].get_array(), expected[index])
    # Built without pyplot: no figure is left open.
    assert plt.get_fignums() == open_figures


def test_image_grid_titles_and_partial_grid():
    figure = visualize.image_grid(digits(10), rows=3, cols=4, titles=[str(i) for i in range(10)])
    assert len(figure.axes) == 10
    assert [axes.get_title() for axes in figure.axes] == [str(i) for i in range(10)]
    assert figure.axes[0].get_subplotspec().get_geometry()[:2] == (3, 4)
    # Flat 784-pixel rows, as the MLP write-ups' generator gives them, are digits too.
    flat = visualize.image_grid(digits(4).reshape(4, 784) / 255.0, rows=2, cols=2)
    assert flat.axes[0].images[0].get_array().shape == (28, 28)


def test_image_grid_row_labels_stand_left_of_each_row():
    figure = visualize.image_grid(digits(10), rows=3, cols=4, row_labels=["0s", "1s", "2s"])
    first_of_rows = [figure.axes[index] for index in (0, 4, 8)]
    assert [axes.get_ylabel() for axes in first_of_rows] == ["0s", "1s", "2s"]
    assert [axes.get_ylabel() for axes in figure.axes if axes not in first_of_rows] == [""] * 7
    # The labelled tiles still show only their digit: no ticks, no frame.
    assert all(not axes.get_xticks().size and not axes.get_yticks().size for axes in first_of_rows)
    assert not any(spine.get_visible() for spine in figure.axes[4].spines.values())
    with pytest.raises(ValueError, match="2 row labels for 3 rows"):
        visualize.image_grid(digits(10), rows=3, cols=4, row_labels=["0s", "1s"])


def test_image_grid_shows_inline_as_png():
    from IPython.core.formatters import DisplayFormatter

    figure = visualize.image_grid(digits(4), rows=2, cols=2)
    png = figure._repr_png_()
    assert png.startswith(b"\x89PNG")
    data, _ = DisplayFormatter().format(figure)
    assert "image/png" in data


@pytest.mark.parametrize(
    "images, rows, cols",
    [
        (digits(17), 4, 4),
        (np.zeros((4, 28, 28, 2)), 2, 2),
        (np.zeros((2, 2, 28, 28, 1)), 2, 2),
        (np.zeros((0, 28, 28)), 2, 2),
        (np.full((4, 28, 28), 2.5), 2, 2),
        (digits(4), 0, 2),
    ],
)
def test_image_grid_rejects_bad_input(images, rows, cols):
    with pytest.raises(ValueError):
        visualize.image_grid(images, rows=rows, cols=cols)


def test_save_grid_writes_same_size_pngs(tmp_path):
    first = visualize.save_grid(digits(16), tmp_path / "frames" / "step_100.png", title="step 100")
    second = visualize.save_grid(
        digits(16, seed=1), tmp_path / "frames" / "step_10000.png", title="step 10000"
    )
    assert first == tmp_path / "frames" / "step_100.png"
    assert iio.imread(first).shape[:2] == iio.imread(second).shape[:2] == (435, 400)
    assert sorted(path.name for path in first.parent.iterdir()) == [
        "step_100.png",
        "step_10000.png",
    ]
    with pytest.raises(ValueError, match=".png"):
        visualize.save_grid(digits(16), tmp_path / "grid.jpg")


def test_compare_grids_one_titled_panel_per_entry():
    figure = visualize.compare_grids(
        {
            "minimax": digits(16),
            "non-saturating": digits(16, seed=1) / 255.0,
            "dcgan": digits(16, seed=2) / 127.5 - 1,
        }
    )
    assert [axes.get_title() for axes in figure.axes] == ["minimax", "non-saturating", "dcgan"]
    np.testing.assert_array_equal(
        figure.axes[0].images[0].get_array(), visualize.tile_images(digits(16), 4, 4)
    )
    with pytest.raises(ValueError, match="dcgan"):
        visualize.compare_grids({"minimax": digits(16), "dcgan": digits(20)})
    with pytest.raises(ValueError):
        visualize.compare_grids({})


# ---------------------------------------------------------------------------------------------
# Loss curves.


def test_moving_average_matches_a_loop():
    values = np.array([1.0, 3.0, np.nan, 5.0, 2.0, 8.0, 4.0])
    window = 3
    expected = [np.nanmean(values[max(0, i - window + 1) : i + 1]) for i in range(len(values))]
    np.testing.assert_allclose(visualize.moving_average(values, window), expected)
    np.testing.assert_allclose(visualize.moving_average(values, 1)[[0, 1, 3]], values[[0, 1, 3]])
    with pytest.raises(ValueError):
        visualize.moving_average(values, 0)


def test_plot_losses_draws_reference_lines():
    figure = visualize.plot_losses(random_history(), loss="non_saturating")
    loss_axes, probability_axes = figure.axes
    np.testing.assert_allclose(reference_lines(loss_axes), [LN2, 2 * LN2])
    np.testing.assert_allclose(reference_lines(probability_axes), [0.5])
    minimax = visualize.plot_losses(random_history(), loss="minimax")
    np.testing.assert_allclose(reference_lines(minimax.axes[0]), [-LN2, 2 * LN2])
    least_squares = visualize.plot_losses(random_history(), loss="least_squares")
    np.testing.assert_allclose(reference_lines(least_squares.axes[0]), [0.125, 0.25])
    assert reference_lines(least_squares.axes[1]) == []
    for loss in (None, "wasserstein"):
        no_lines = visualize.plot_losses(random_history(), loss=loss)
        assert reference_lines(no_lines.axes[0]) == reference_lines(no_lines.axes[1]) == []
    single = visualize.plot_losses(random_history(), probabilities=False)
    assert len(single.axes) == 1

    class Loss:
        name = "minimax"

    for loss in ("Non-saturating", Loss()):
        lines = reference_lines(visualize.plot_losses(random_history(), loss=loss).axes[0])
        assert len(lines) == 2


def test_plot_losses_raw_and_smoothed_curves():
    data = random_history()
    figure = visualize.plot_losses(data, smoothing=7)
    curves = {line.get_label(): line for line in figure.axes[0].get_lines()}
    smoothed = curves["D loss, moving average of 7 points"]
    np.testing.assert_allclose(smoothed.get_xdata(), data["step"])
    expected = [np.mean(data["d_loss"][max(0, i - 6) : i + 1]) for i in range(len(data["d_loss"]))]
    np.testing.assert_allclose(smoothed.get_ydata(), expected)
    raw = [line for line in figure.axes[0].get_lines() if line.get_label() == "_raw"]
    np.testing.assert_allclose(raw[0].get_ydata(), data["d_loss"])
    unsmoothed = visualize.plot_losses(data, smoothing=1, probabilities=False)
    assert [
        line.get_label()
        for line in unsmoothed.axes[0].get_lines()
        if "equilibrium" not in line.get_label()
    ] == [
        "D loss",
        "G loss",
    ]


def test_plot_losses_reads_history_from_disk(tmp_path):
    data = random_history(30)
    _, _, string_rows, keras_history, csv_path, json_rows, json_columns = history_sources(
        data, tmp_path
    )

    expected = visualize.plot_losses(data, smoothing=1).axes[0].get_lines()[0].get_ydata()
    for source in (csv_path, json_rows, json_columns, string_rows, keras_history):
        figure = visualize.plot_losses(source, smoothing=1)
        np.testing.assert_allclose(figure.axes[0].get_lines()[0].get_ydata(), expected)
        assert len(figure.axes) == 2


@pytest.mark.parametrize(
    "source, options",
    [
        ({"d_loss": [1.0, 2.0]}, {}),
        ({"d_loss": [1.0, 2.0], "g_loss": [1.0]}, {}),
        ({"d_loss": [], "g_loss": []}, {}),
        ({"d_loss": ["1", "oops"], "g_loss": [1, 1]}, {}),
        (random_history(), {"loss": "wgan"}),
        (random_history(), {"smoothing": 0}),
        ({"d_loss": [1.0], "g_loss": [1.0]}, {"probabilities": True}),
        (42, {}),
    ],
)
def test_plot_losses_rejects_bad_history(source, options):
    with pytest.raises(ValueError):
        visualize.plot_losses(source, **options)


def test_plot_losses_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        visualize.plot_losses(tmp_path / "missing.csv")
    (tmp_path / "history.txt").write_text("d_loss,g_loss\n1,1\n")
    with pytest.raises(ValueError, match=".csv or .json"):
        visualize.plot_losses(tmp_path / "history.txt")


# ---------------------------------------------------------------------------------------------
# GIFs and inline display.


def constant_batches(values):
    return [np.full((4, 28, 28, 1), value, dtype=np.uint8) for value in values]


def test_make_gif_from_batches(tmp_path):
    values = [10, 60, 110, 160]
    path = animation.make_gif(
        constant_batches(values),
        tmp_path / "training.gif",
        duration=100,
        hold_last=1000,
        steps=[0, 500, 1000, 1500],
    )
    assert path == tmp_path / "training.gif"
    frames = iio.imread(path, index=None)
    # Four 2x2 tiles of 28-pixel digits with a 2-pixel gap, doubled, under a label strip.
    tile_side = 2 * (2 * 28 + 2)
    assert frames.shape[0] == 4
    assert frames.shape[2] == tile_side
    strip = frames.shape[1] - tile_side
    assert 10 <= strip <= 40
    assert [int(frame[strip, 0, 0]) for frame in frames] == values
    # Each label strip holds dark text on white, different for each step.
    assert all(frame[:strip].min() < 100 and frame[0, 0, 0] == 255 for frame in frames)
    assert not np.array_equal(frames[1][:strip], frames[2][:strip])
    assert iio.immeta(path)["loop"] == 0
    assert [iio.immeta(path, index=index)["duration"] for index in range(4)] == [
        100,
        100,
        100,
        1000,
    ]
    assert [entry.name for entry in tmp_path.iterdir()] == ["training.gif"]


def test_make_gif_from_folder_in_step_order(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    # Lexical order would put step_10 and step_100 before step_9.
    for step, value in ((10, 80), (9, 40), (100, 120)):
        iio.imwrite(folder / f"step_{step}.png", np.full((30, 40), value, dtype=np.uint8))
    (folder / "notes.txt").write_text("not a frame")
    plain = iio.imread(
        animation.make_gif(folder, tmp_path / "plain.gif", label_steps=False), index=None
    )
    assert plain.shape == (3, 30, 40, 3)
    assert [int(frame[0, 0, 0]) for frame in plain] == [40, 80, 120]
    labelled = animation.make_gif(
        folder, tmp_path / "labelled.gif", loop=None, hold_last=None, duration=50
    )
    frames = iio.imread(labelled, index=None)
    assert frames.shape[0] == 3 and frames.shape[1] > 30
    assert [int(frame[-1, -1, 0]) for frame in frames] == [40, 80, 120]
    assert "loop" not in iio.immeta(labelled)
    assert [iio.immeta(labelled, index=index)["duration"] for index in range(3)] == [50, 50, 50]


def test_make_gif_finished_images_and_colour(tmp_path):
    grey = np.full((20, 24), 0.5)
    transparent = np.zeros((20, 24, 4), dtype=np.uint8)
    red = np.zeros((20, 24, 3), dtype=np.uint8)
    red[..., 0] = 255
    frames = iio.imread(
        animation.make_gif([grey, transparent, red], tmp_path / "a.gif", loop=3), index=None
    )
    assert frames.shape == (3, 20, 24, 3)
    assert frames[0, 0, 0].tolist() == [128, 128, 128]
    assert frames[1, 0, 0].tolist() == [255, 255, 255]
    assert frames[2, 0, 0].tolist() == [255, 0, 0]
    assert iio.immeta(tmp_path / "a.gif")["loop"] == 3
    single = animation.make_gif([digits(16)], tmp_path / "single.gif", steps=[7], scale=1)
    assert iio.imread(single, index=None).shape[0] == 1


def test_make_gif_rejects_bad_input(tmp_path):
    target = tmp_path / "out.gif"
    cases = [
        ([], {}),
        ([np.zeros((20, 20)), np.zeros((20, 21))], {}),
        ([np.full((20, 20), 3.0)], {}),
        (constant_batches([1, 2]), {"duration": 10}),
        (constant_batches([1, 2]), {"hold_last": 0}),
        (constant_batches([1, 2]), {"steps": [1]}),
        (constant_batches([1, 2]), {"loop": -1}),
        (constant_batches([1, 2]), {"scale": 0}),
    ]
    for frames, options in cases:
        with pytest.raises(ValueError):
            animation.make_gif(frames, target, **options)
    with pytest.raises(ValueError, match=".gif"):
        animation.make_gif(constant_batches([1, 2]), tmp_path / "out.png")
    with pytest.raises(FileNotFoundError):
        animation.make_gif(tmp_path / "missing", target)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no .png"):
        animation.make_gif(empty, target)
    iio.imwrite(empty / "final.png", np.zeros((8, 8), dtype=np.uint8))
    with pytest.raises(ValueError, match="step number"):
        animation.make_gif(empty, target)
    iio.imwrite(empty / "step_1.png", np.zeros((8, 8), dtype=np.uint8))
    iio.imwrite(empty / "step_001.png", np.zeros((8, 8), dtype=np.uint8))
    (empty / "final.png").unlink()
    with pytest.raises(ValueError, match="both hold step 1"):
        animation.make_gif(empty, target)
    assert not target.exists()


def test_show_gif_embeds_the_data(tmp_path):
    from IPython.display import HTML

    path = animation.make_gif(constant_batches([0, 255]), tmp_path / "walk.gif", steps=[0, 1])
    display = animation.show_gif(path, width=300)
    assert isinstance(display, HTML)
    markup = display._repr_html_()
    encoded = markup.split("data:image/gif;base64,")[1].split('"')[0]
    assert base64.b64decode(encoded) == path.read_bytes()
    assert "width:300px" in markup
    assert str(tmp_path) not in markup
    # Without a width, four times the GIF's own (read from its header), never wider than 720.
    own_width = iio.improps(path, index=0).shape[1]
    assert f"width:{4 * own_width}px" in animation.show_gif(path)._repr_html_()
    (tmp_path / "fake.gif").write_bytes(b"\x89PNG not a gif")
    with pytest.raises(ValueError):
        animation.show_gif(tmp_path / "fake.gif")
    with pytest.raises(FileNotFoundError):
        animation.show_gif(tmp_path / "missing.gif")


def test_make_gif_keeps_uint8_frames_whatever_the_value_range(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for step, value in ((1, 30), (2, 200)):
        iio.imwrite(folder / f"step_{step}.png", np.full((12, 16), value, dtype=np.uint8))
    batches = [np.full((4, 28, 28), 0.5, dtype=np.float32), np.zeros((4, 28, 28), np.float32)]
    for source in (folder, sorted(folder.iterdir()), constant_batches([30, 200])):
        path = animation.make_gif(
            source, tmp_path / "frames.gif", label_steps=False, value_range=(-1, 1)
        )
        assert [int(frame[-1, -1, 0]) for frame in iio.imread(path, index=None)] == [30, 200]
    # Float frames are mapped from their value range.
    path = animation.make_gif(batches, tmp_path / "floats.gif", value_range=(-1, 1))
    assert [int(frame[-1, -1, 0]) for frame in iio.imread(path, index=None)] == [191, 128]


# ---------------------------------------------------------------------------------------------
# Latent vectors and walks.


def test_sample_latent_draws_from_its_own_generator():
    uniform = latent.sample_latent(1000, 16, seed=1)
    expected = np.random.default_rng(1).uniform(-1.0, 1.0, size=(1000, 16)).astype(np.float32)
    assert uniform.dtype == np.float32 and uniform.shape == (1000, 16)
    assert np.array_equal(uniform, expected)
    assert uniform.min() >= -1.0 and uniform.max() <= 1.0 and uniform.min() < -0.99
    normal = latent.sample_latent(4000, 16, "normal", seed=np.int64(0))
    expected = np.random.default_rng(0).standard_normal(size=(4000, 16)).astype(np.float32)
    assert np.array_equal(normal, expected)
    assert abs(normal.mean()) < 0.01 and abs(normal.std() - 1.0) < 0.01
    assert not np.array_equal(latent.sample_latent(4, 8, seed=2), latent.sample_latent(4, 8))


def test_sample_latent_without_a_seed_takes_one_from_numpy():
    np.random.seed(11)
    seed = int(np.random.randint(0, 2**31 - 1))
    np.random.seed(11)
    drawn = latent.sample_latent(3, 5, "normal")
    assert np.array_equal(drawn, latent.sample_latent(3, 5, "normal", seed=seed))


@pytest.mark.parametrize(
    "n, latent_dim, distribution, seed",
    [
        (0, 8, "uniform", 0),
        (True, 8, "uniform", 0),
        (2.0, 8, "uniform", 0),
        (2, 0, "uniform", 0),
        (2, 8, "gaussian", 0),
        (2, 8, "uniform", -1),
        (2, 8, "uniform", 1.5),
        (2, 8, "uniform", "0"),
    ],
)
def test_sample_latent_rejects_bad_arguments(n, latent_dim, distribution, seed):
    with pytest.raises(ValueError):
        latent.sample_latent(n, latent_dim, distribution, seed)


def test_linear_interpolation():
    start, end = np.array([1.0, -2.0, 0.5]), np.array([3.0, 2.0, -0.5])
    latents = latent.interpolate_latents(start, end, steps=5)
    assert latents.shape == (5, 3) and latents.dtype == np.float32
    np.testing.assert_allclose(latents[0], start)
    np.testing.assert_allclose(latents[-1], end)
    np.testing.assert_allclose(latents[2], (start + end) / 2)
    np.testing.assert_allclose(
        np.diff(latents, axis=0), np.tile((end - start) / 4, (4, 1)), atol=1e-6
    )


def test_slerp_follows_the_great_circle():
    rng = np.random.default_rng(3)
    start = rng.standard_normal(16)
    end = rng.standard_normal(16)
    end *= np.linalg.norm(start) / np.linalg.norm(end)
    latents = latent.interpolate_latents(start, end, steps=7, method="slerp").astype(np.float64)
    np.testing.assert_allclose(latents[0], start, rtol=1e-6)
    np.testing.assert_allclose(latents[-1], end, rtol=1e-6)
    # Equal-length endpoints: every point keeps that length, at equal angles apart.
    np.testing.assert_allclose(np.linalg.norm(latents, axis=1), np.linalg.norm(start), rtol=1e-5)
    unit = latents / np.linalg.norm(latents, axis=1, keepdims=True)
    angles = np.arccos(np.clip(np.sum(unit[:-1] * unit[1:], axis=1), -1, 1))
    np.testing.assert_allclose(angles, angles[0], rtol=1e-4)
    # Parallel vectors fall back to the straight line.
    parallel = latent.interpolate_latents(start, 2 * start, steps=3, method="slerp")
    np.testing.assert_allclose(parallel[1], 1.5 * start, rtol=1e-6)


@pytest.mark.parametrize(
    "start, end, steps, method",
    [
        (np.zeros(4), np.zeros(5), 5, "linear"),
        (np.zeros((2, 4)), np.zeros((2, 4)), 5, "linear"),
        (np.zeros(4), np.zeros(4), 1, "linear"),
        (np.zeros(4), np.zeros(4), 5, "cubic"),
        (np.full(4, np.nan), np.zeros(4), 5, "linear"),
    ],
)
def test_interpolate_latents_rejects_bad_input(start, end, steps, method):
    with pytest.raises(ValueError):
        latent.interpolate_latents(start, end, steps=steps, method=method)


def test_interpolate_calls_plain_callables_and_passes_training():
    weights = np.random.default_rng(4).standard_normal((8, 784))
    images = latent.interpolate(
        lambda z: np.tanh(z @ weights).reshape(-1, 28, 28, 1), np.zeros(8), np.ones(8), 6
    )
    expected = np.tanh(latent.interpolate_latents(np.zeros(8), np.ones(8), 6) @ weights)
    np.testing.assert_allclose(images.reshape(6, 784), expected, rtol=1e-5)

    class Generator:
        def __call__(self, latents, training=None):
            self.training = training
            return np.zeros((len(latents), 28, 28, 1))

    generator = Generator()
    latent.interpolate(generator, np.zeros(8), np.ones(8), 3)
    assert generator.training is False
    with pytest.raises(ValueError, match="one image per vector"):
        latent.interpolate(lambda z: np.zeros((1, 28, 28, 1)), np.zeros(8), np.ones(8), 3)


def test_generate_uses_inference_mode_of_keras_models():
    import keras

    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(784),
            keras.layers.BatchNormalization(),
            keras.layers.Reshape((28, 28, 1)),
        ]
    )
    latents = np.random.default_rng(5).standard_normal((6, 4)).astype(np.float32)
    images = latent.generate(model, latents)
    assert isinstance(images, np.ndarray)
    np.testing.assert_allclose(
        images, np.asarray(model(latents, training=False)), rtol=1e-5, atol=1e-6
    )
    assert not np.allclose(images, np.asarray(model(latents, training=True)), atol=1e-3)


def test_latent_walk_grid_has_one_row_per_walk():
    weights = np.random.default_rng(6).standard_normal((8, 784))
    rng = np.random.default_rng(7)
    figure = latent.latent_walk_grid(
        lambda z: np.tanh(z @ weights).reshape(-1, 28, 28, 1),
        rng.standard_normal((3, 8)),
        rng.standard_normal((3, 8)),
        steps=5,
        method="slerp",
        title="walks",
    )
    assert len(figure.axes) == 15
    assert figure.axes[0].get_subplotspec().get_geometry()[:2] == (3, 5)
    assert figure._suptitle.get_text() == "walks"
    with pytest.raises(ValueError):
        latent.latent_walk_grid(lambda z: z, np.zeros((2, 8)), np.zeros((3, 8)))
