"""The MNIST loader against the real files, and its error paths on small files made here."""

import gzip
import http.server
import threading

import numpy as np
import pytest

from gan_mnist import config, data

TRAIN_CLASS_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def write_idx(path, magic, items, count=None, compress=True):
    """Write a tiny idx file: big-endian magic, count, dimensions, then uint8 items."""
    items = np.asarray(items, dtype=np.uint8)
    header = [magic, len(items) if count is None else count, *items.shape[1:]]
    raw = np.asarray(header, dtype=">u4").tobytes() + items.tobytes()
    if compress:
        raw = gzip.compress(raw)
    path.write_bytes(raw)
    return path


def write_split(folder, n_images=5, n_labels=5):
    images_name, labels_name = data.FILES["train"]
    write_idx(folder / images_name, data.IMAGES_MAGIC, np.zeros((n_images, 28, 28)))
    write_idx(folder / labels_name, data.LABELS_MAGIC, np.arange(n_labels) % 10)
    return folder / images_name, folder / labels_name


def test_train_split_matches_the_official_counts():
    images, labels = data.load_mnist("train")
    assert images.shape == (60_000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (60_000,) and labels.dtype == np.uint8
    assert np.bincount(labels, minlength=10).tolist() == TRAIN_CLASS_COUNTS
    assert images.min() == 0 and images.max() == 255


def test_test_split_has_ten_thousand_digits():
    images, labels = data.load_mnist("test")
    assert images.shape == (10_000, 28, 28)
    assert labels.shape == (10_000,)
    assert set(np.unique(labels)) == set(range(10))


def test_environment_variable_and_argument_choose_the_folder(monkeypatch, tmp_path):
    monkeypatch.setenv(config.DATA_DIR_VARIABLE, str(tmp_path / "from-env"))
    assert config.data_dir() == tmp_path / "from-env"
    assert config.data_dir(tmp_path / "explicit") == tmp_path / "explicit"
    monkeypatch.delenv(config.DATA_DIR_VARIABLE)
    assert config.data_dir() == config.PACKAGE_DIR.parent / "data"


def test_unknown_split_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"'validation'.*\['test', 'train'\]"):
        data.load_mnist("validation")


def test_missing_file_names_file_folder_and_both_fixes(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        data.load_mnist("train", data_dir=tmp_path)
    message = str(error.value)
    assert "train-images-idx3-ubyte.gz" in message and str(tmp_path) in message
    assert "python -m gan_mnist data" in message and config.DATA_DIR_VARIABLE in message


def test_checksum_mismatch_names_file_and_both_digests(tmp_path):
    images_path, _ = write_split(tmp_path)
    with pytest.raises(ValueError) as error:
        data.load_mnist("train", data_dir=tmp_path)
    message = str(error.value)
    assert images_path.name in message
    assert data.SHA256[images_path.name] in message and data.sha256(images_path) in message
    assert "delete" in message.lower()


def test_synthetic_split_loads_without_verification(tmp_path):
    write_split(tmp_path, n_images=7, n_labels=7)
    images, labels = data.load_mnist("train", data_dir=tmp_path, verify=False)
    assert images.shape == (7, 28, 28) and labels.tolist() == [0, 1, 2, 3, 4, 5, 6]


def test_truncated_gzip_is_reported(tmp_path):
    images_path, _ = write_split(tmp_path)
    images_path.write_bytes(images_path.read_bytes()[:-20])
    with pytest.raises(ValueError, match=f"{images_path.name}.*not a complete gzip"):
        data.load_mnist("train", data_dir=tmp_path, verify=False)


def test_truncated_payload_is_reported(tmp_path):
    images_path, _ = write_split(tmp_path)
    write_idx(images_path, data.IMAGES_MAGIC, np.zeros((5, 28, 28)), count=6)
    with pytest.raises(ValueError, match=f"{images_path.name} is truncated"):
        data.load_mnist("train", data_dir=tmp_path, verify=False)


def test_wrong_magic_number_says_what_was_expected(tmp_path):
    _, labels_path = write_split(tmp_path)
    write_idx(labels_path, data.IMAGES_MAGIC, np.zeros((5, 28, 28)))
    with pytest.raises(ValueError, match=f"{labels_path.name} has idx magic number 2051, expected 2049"):
        data.load_mnist("train", data_dir=tmp_path, verify=False)


def test_image_and_label_counts_must_agree(tmp_path):
    write_split(tmp_path, n_images=5, n_labels=4)
    with pytest.raises(ValueError, match="5 images but .* 4 labels"):
        data.load_mnist("train", data_dir=tmp_path, verify=False)


def fake_official_digests(monkeypatch, folder):
    """Make every file of ``folder`` the 'official' one, so downloads of them verify."""
    digests = {path.name: data.sha256(path) for path in folder.iterdir()}
    monkeypatch.setattr(data, "SHA256", {**data.SHA256, **digests})


def test_download_fetches_verifies_and_skips_present_files(monkeypatch, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for split in ("train", "test"):
        images_name, labels_name = data.FILES[split]
        write_idx(mirror / images_name, data.IMAGES_MAGIC, np.zeros((3, 28, 28)))
        write_idx(mirror / labels_name, data.LABELS_MAGIC, [1, 2, 3])
    fake_official_digests(monkeypatch, mirror)
    target = tmp_path / "data"
    assert data.download_mnist(target, mirrors=(mirror.as_uri() + "/",)) == target
    assert sorted(path.name for path in target.iterdir()) == sorted(path.name for path in mirror.iterdir())
    # A second call finds every file present and verified: a broken mirror is never asked.
    data.download_mnist(target, mirrors=("http://127.0.0.1:9/nothing/",))
    assert data.load_mnist("test", target)[1].tolist() == [1, 2, 3]


def test_corrupted_download_leaves_no_file(monkeypatch, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    name = data.FILES["train"][0]
    (mirror / name).write_bytes(b"not the official file")
    target = tmp_path / "data"
    with pytest.raises(OSError, match=f"(?s)Could not download {name}.*SHA-256"):
        data.download_mnist(target, mirrors=(mirror.as_uri() + "/",))
    assert list(target.iterdir()) == []


class BreaksMidFile(http.server.BaseHTTPRequestHandler):
    """Promises a megabyte, sends a few bytes, then hangs up."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(1 << 20))
        self.end_headers()
        self.wfile.write(b"\x1f\x8b" + b"\0" * 1000)
        self.wfile.flush()
        self.connection.close()

    def log_message(self, *arguments):
        pass


def test_interrupted_download_leaves_no_file(tmp_path):
    server = http.server.HTTPServer(("127.0.0.1", 0), BreaksMidFile)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        target = tmp_path / "data"
        url = f"http://127.0.0.1:{server.server_port}/"
        with pytest.raises(OSError, match="Could not download"):
            data.download_mnist(target, mirrors=(url,), timeout=10)
        assert list(target.iterdir()) == []
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("value_range", [(0.0, 1.0), (-1.0, 1.0)])
def test_make_dataset_yields_the_requested_range_and_batch_shape(value_range):
    images = np.stack([np.full((28, 28), value, np.uint8) for value in (0, 128, 255)] * 4)
    dataset = data.make_dataset(images, batch_size=5, value_range=value_range, seed=1)
    batches = [batch.numpy() for batch in dataset.take(5)]
    assert all(batch.shape == (5, 28, 28, 1) and batch.dtype == np.float32 for batch in batches)
    values = np.concatenate(batches)
    assert values.min() == pytest.approx(value_range[0]) and values.max() == pytest.approx(value_range[1])


def test_make_dataset_shuffles_reproducibly_with_a_seed():
    images = np.arange(64, dtype=np.uint8).repeat(784).reshape(64, 28, 28)
    first = [b.numpy()[:, 0, 0, 0] for b in data.make_dataset(images, 8, seed=3).take(4)]
    second = [b.numpy()[:, 0, 0, 0] for b in data.make_dataset(images, 8, seed=3).take(4)]
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(np.concatenate(first), np.sort(np.concatenate(first)))


@pytest.mark.parametrize(
    "arguments, message",
    [
        (dict(images=np.zeros((4, 28, 28), np.float32), batch_size=2), "uint8"),
        (dict(images=np.zeros((4, 32, 32), np.uint8), batch_size=2), "shape"),
        (dict(images=np.zeros((4, 28, 28), np.uint8), batch_size=0), "batch_size"),
        (dict(images=np.zeros((4, 28, 28), np.uint8), batch_size=5), "larger than"),
        (dict(images=np.zeros((4, 28, 28), np.uint8), batch_size=2, value_range=(1, 0)), "low < high"),
    ],
)
def test_make_dataset_rejects_bad_input(arguments, message):
    with pytest.raises(ValueError, match=message):
        data.make_dataset(**arguments)
