"""MNIST from the original LeCun idx files: find, verify, download and batch.

The loader reads the four gzip-compressed idx files with NumPy alone and checks each one
(SHA-256 against the official digest, idx magic number, dimensions, image and label counts)
before handing back arrays, so a damaged download can never pass for data.
"""

import gzip
import hashlib
import urllib.request
from pathlib import Path

import numpy as np

from gan_mnist import config, files

FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
# The files are byte-identical on each mirror; they are tried in order.
MIRRORS = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
)
IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
IMAGE_SIDE = 28


def sha256(path):
    """The hex SHA-256 digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _missing_file_error(path, folder):
    return FileNotFoundError(
        f"MNIST file {path.name} not found in {folder}. Fix: run "
        "`python -m gan_mnist data` (or `gan_mnist.download_mnist()`) to download it, or set "
        f"{config.DATA_DIR_VARIABLE} to a folder that holds the four MNIST .gz files."
    )


def verify_file(path):
    """Raise ``ValueError`` unless ``path`` has the official SHA-256 digest of its name."""
    path = Path(path)
    expected = SHA256[path.name]
    actual = sha256(path)
    if actual != expected:
        raise ValueError(
            f"Checksum mismatch for {path}: expected SHA-256 {expected}, got {actual}. "
            "The file is damaged or not the official one: delete it and download it again."
        )


def _read_idx(path, magic, trailing_dims):
    """Read one gzip idx file into a uint8 array of shape ``(count, *trailing_dims)``."""
    try:
        with gzip.open(path, "rb") as stream:
            raw = stream.read()
    except (EOFError, OSError, gzip.BadGzipFile) as error:
        raise ValueError(
            f"{path} is not a complete gzip file ({error}). Delete it and download it again."
        ) from None
    header_size = 4 * (2 + len(trailing_dims))
    if len(raw) < header_size:
        raise ValueError(f"{path} is truncated: {len(raw)} bytes, shorter than its idx header.")
    header = np.frombuffer(raw, dtype=">u4", count=header_size // 4)
    if header[0] != magic:
        raise ValueError(
            f"{path} has idx magic number {header[0]}, expected {magic} "
            f"({'images' if magic == IMAGES_MAGIC else 'labels'})."
        )
    count, dims = int(header[1]), tuple(int(d) for d in header[2:])
    if dims != trailing_dims:
        raise ValueError(f"{path} holds items of shape {dims}, expected {trailing_dims}.")
    expected_size = header_size + count * int(np.prod(trailing_dims, dtype=np.int64))
    if len(raw) != expected_size:
        raise ValueError(
            f"{path} is truncated or padded: {len(raw)} bytes, expected {expected_size} "
            f"for {count} items."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(count, *trailing_dims)


def load_mnist(split="train", data_dir=None, verify=True):
    """Load an MNIST split as ``(images, labels)``: uint8 ``(N, 28, 28)`` and uint8 ``(N,)``.

    ``split`` is ``"train"`` (60,000 digits) or ``"test"`` (10,000). The files are looked up in
    ``data_dir``, else ``$GAN_MNIST_DATA_DIR``, else the project's ``data/`` folder. ``verify``
    checks the official SHA-256 digests; switch it off only for idx files of your own.
    """
    if split not in FILES:
        raise ValueError(f"Unknown split {split!r}; valid splits are {sorted(FILES)}.")
    folder = config.data_dir(data_dir)
    paths = [folder / name for name in FILES[split]]
    for path in paths:
        if not path.is_file():
            raise _missing_file_error(path, folder)
        if verify:
            verify_file(path)
    images = _read_idx(paths[0], IMAGES_MAGIC, (IMAGE_SIDE, IMAGE_SIDE))
    labels = _read_idx(paths[1], LABELS_MAGIC, ())
    if len(images) != len(labels):
        raise ValueError(
            f"{paths[0].name} holds {len(images)} images but {paths[1].name} holds "
            f"{len(labels)} labels; the two files of a split must agree."
        )
    return images, labels


def _fetch(url, destination, expected_sha256, timeout):
    """Stream ``url`` into a temporary file beside ``destination``; rename only if verified."""

    def write(temporary):
        digest = hashlib.sha256()
        with open(temporary, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            for chunk in iter(lambda: response.read(1 << 16), b""):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != expected_sha256:
            raise ValueError(
                f"Downloaded {url} but its SHA-256 is {digest.hexdigest()}, "
                f"expected {expected_sha256}."
            )

    files.write_atomically(destination, write)


def download_mnist(data_dir=None, mirrors=MIRRORS, timeout=60):
    """Make sure the four MNIST files are in the data folder, downloading missing ones.

    Files already present are verified, not fetched again. Each download streams into a
    temporary file that is renamed into place only once its SHA-256 matches, so an interrupted
    or corrupted download never leaves a file that looks valid. Returns the folder.
    """
    folder = config.data_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for name in (name for pair in FILES.values() for name in pair):
        path = folder / name
        if path.is_file():
            verify_file(path)
            continue
        errors = []
        for mirror in mirrors:
            try:
                _fetch(mirror + name, path, SHA256[name], timeout)
                break
            except Exception as error:  # Each failure is reported; the next mirror is tried.
                errors.append(f"{mirror}: {error}")
        else:
            raise OSError(
                f"Could not download {name} into {folder}. Tried:\n  " + "\n  ".join(errors)
                + f"\nOffline? Copy the four MNIST .gz files into {folder} or set "
                f"{config.DATA_DIR_VARIABLE} to a folder that holds them."
            )
    return folder


def scale_images(images, value_range=(-1.0, 1.0)):
    """uint8 ``(N, 28, 28)`` digits as float32 ``(N, 28, 28, 1)`` in ``value_range``."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"Expected uint8 images as load_mnist returns them, got {images.dtype}.")
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE, 1):
        raise ValueError(
            f"Expected images of shape (N, 28, 28) or (N, 28, 28, 1), got {images.shape}."
        )
    low, high = (float(v) for v in value_range)
    if not low < high:
        raise ValueError(f"value_range must be (low, high) with low < high, got {value_range}.")
    return (images.astype(np.float32) * np.float32((high - low) / 255.0) + np.float32(low))


def training_images(images, value_range, image_shape=(IMAGE_SIDE, IMAGE_SIDE, 1)):
    """Training images as float32 ``(N, *image_shape)``: uint8 digits scaled, floats kept."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        images = scale_images(images, value_range)
    elif not np.issubdtype(images.dtype, np.floating):
        raise ValueError(
            f"Expected uint8 digits (as load_mnist returns them) or float images, got "
            f"dtype {images.dtype}."
        )
    if images.ndim == len(image_shape) and image_shape[-1] == 1:
        images = images[..., np.newaxis]
    if images.shape[1:] != tuple(image_shape) or not len(images):
        raise ValueError(
            f"Expected images of shape (N, {', '.join(map(str, image_shape))}) with "
            f"N > 0 for this generator and discriminator, got {images.shape}."
        )
    return images.astype(np.float32, copy=False)


def make_dataset(images, batch_size, value_range=(-1.0, 1.0), shuffle=True, seed=None, repeat=True):
    """A ``tf.data`` pipeline of image batches for training.

    Scales once in memory to ``value_range`` (``(0, 1)`` for sigmoid generators, ``(-1, 1)``
    for tanh ones), shuffles with ``seed`` (reshuffled every pass), repeats forever by default,
    batches with ``drop_remainder=True`` so every batch has ``batch_size`` images, and prefetches.
    """
    from gan_mnist.backend import tf

    scaled = scale_images(images, value_range)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    if batch_size > len(scaled):
        raise ValueError(f"batch_size {batch_size} is larger than the {len(scaled)} images given.")
    dataset = tf.data.Dataset.from_tensor_slices(scaled)
    if shuffle:
        dataset = dataset.shuffle(len(scaled), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    return dataset.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
