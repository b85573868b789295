"""Training GIFs: snapshot frames played as an animated GIF, and shown inline in a notebook.

``make_gif`` takes a folder of frames (``step_001000.png`` ...: what ``callbacks.Snapshots``
and ``visualize.save_grid`` write), PNG paths, finished images or digit batches, and labels each
frame with its step. uint8 frames (PNG files among them) keep their grey levels; float frames are
mapped to them from their value range (see ``gan_mnist.images``).
"""

import base64
import html
import os
import re
from pathlib import Path

import imageio.v3 as iio
import numpy as np

from gan_mnist import files
from gan_mnist.images import to_uint8
from gan_mnist.visualize import tile_images

# Browsers replay GIF frames shorter than 20 ms at 100 ms, so shorter durations are refused.
MIN_FRAME_MS = 20
# How much larger than its own size ``show_gif`` displays a GIF, and the widest it goes.
SHOWN_SCALE = 4
MAX_SHOWN_WIDTH = 720
STEP_PATTERN = re.compile(r"(\d+)(?!.*\d)")


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
    pngs = [path for path in folder.iterdir() if path.suffix.lower() == ".png" and path.is_file()]
    if not pngs:
        raise ValueError(f"The frame folder {folder} holds no .png files.")
    by_step = {}
    for path in pngs:
        step = _step_of(path)
        if step in by_step:
            raise ValueError(f"{by_step[step].name} and {path.name} both hold step {step}.")
        by_step[step] = path
    return [by_step[step] for step in sorted(by_step)], sorted(by_step)


def _frame_image(frame, value_range):
    """One frame as uint8 ``(H, W)`` or ``(H, W, 3)``, tiling a batch of digits into a grid.

    uint8 frames keep their grey levels: ``value_range`` only applies to the others.
    """
    if isinstance(frame, (str, os.PathLike)):
        if not Path(frame).is_file():
            raise FileNotFoundError(f"No frame file at {frame}.")
        frame = iio.imread(frame)
    frame = np.asarray(frame)
    if frame.dtype == np.uint8:
        value_range = None
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
    integer factor; ``None`` doubles tiled batches and keeps finished images. ``value_range``
    is that of float frames (see ``gan_mnist.images``); uint8 frames, PNG files among them, keep
    their grey levels. Pillow merges identical consecutive frames, adding their durations.
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
    if scale is not None and (isinstance(scale, bool) or not isinstance(scale, int) or scale < 1):
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
    ``width`` sets the displayed width in pixels (default: four times the GIF's own, at most
    ``MAX_SHOWN_WIDTH``), kept sharp (no blurring when enlarged).
    """
    from IPython.display import HTML

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No GIF at {path}; make it with make_gif first.")
    data = path.read_bytes()
    if not data.startswith((b"GIF87a", b"GIF89a")):
        raise ValueError(f"{path} is not a GIF file.")
    if width is None:
        # The logical screen width: bytes 6-7 of the header, little-endian.
        width = min(SHOWN_SCALE * int.from_bytes(data[6:8], "little"), MAX_SHOWN_WIDTH)
    style = f' style="width:{int(width)}px; image-rendering:pixelated"'
    encoded = base64.b64encode(data).decode("ascii")
    return HTML(
        f'<img src="data:image/gif;base64,{encoded}" alt="{html.escape(path.name)}"{style}>'
    )
