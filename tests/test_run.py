"""Tests of Run: the run folder's layout, its refusals, its frames and reloading its GAN."""

import json

import numpy as np
import pytest

from gan_mnist import Run, RunConfig, data, train


@pytest.fixture(scope="module")
def digits():
    return data.load_mnist("test")[0][:256]


def tiny_config(**overrides):
    settings = dict(latent_dim=8, generator_widths=(8,), discriminator_widths=(8,),
                    batch_size=16, steps=6, snapshot_every=2, jit_compile=False)
    return RunConfig.from_preset("leaky", **dict(settings, **overrides))


def test_a_trained_run_reloads_as_it_was(digits, tmp_path):
    config = tiny_config()
    result = train(config, digits, tmp_path, command="python train.py")
    run = Run(tmp_path)
    assert run.config() == config and run.latest_step() == 6
    record = run.record()
    assert record["command"] == "python train.py" and record["resumed_from"] == []
    assert set(record["versions"]) == {"python", "tensorflow", "keras", "numpy", "gan_mnist"}
    assert run.history() == result.history
    gan, step = run.load_gan()
    assert step == 6 and gan.value_range == (-1.0, 1.0)
    np.testing.assert_array_equal(gan.generate(4, seed=2), result.gan.generate(4, seed=2))


def test_frames_come_in_step_order_and_thin_evenly(digits, tmp_path):
    train(tiny_config(steps=20, snapshot_every=1), digits, tmp_path)
    run = Run(tmp_path)
    steps = [int(path.stem[5:]) for path in run.frames()]
    assert steps == list(range(21))
    thinned = [int(path.stem[5:]) for path in run.frames(limit=5)]
    assert thinned == [0, 5, 10, 15, 20]
    run.clear(after_step=12)
    assert [int(path.stem[5:]) for path in run.frames()] == list(range(13))
    assert run.latest_step() == 20  # Only frames go: checkpoints and history stay.


def test_start_refuses_what_it_must_not_touch(digits, tmp_path):
    folder = tmp_path / "run"
    train(tiny_config(), digits, folder)
    run = Run(folder)
    with pytest.raises(ValueError, match="is not empty"):
        run.start(tiny_config())
    with pytest.raises(ValueError, match=r"batch_size 16 \(this run: 8\); seed 0 \(this run: 4\)"):
        run.start(tiny_config(seed=4, batch_size=8), resume=True)
    assert run.start(tiny_config(steps=9), resume=True)["resumed_from"] == []

    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="no config.json"):
        Run(stray).start(tiny_config(), resume=True)
    with pytest.raises(ValueError, match="is a file"):
        with Run(stray / "notes.txt").lock():
            pass

    # Overwriting deletes the run's own files and nothing else.
    (folder / "notes.txt").write_text("mine")
    assert run.start(tiny_config(), overwrite=True) is None
    assert sorted(path.name for path in folder.iterdir()) == [".lock", "frames", "notes.txt"]
    assert not list(run.frames_dir.iterdir())


def test_reloading_fails_in_one_clear_line(tmp_path):
    with pytest.raises(FileNotFoundError, match="No config.json"):
        Run(tmp_path).load_gan()
    Run(tmp_path).write_config(tiny_config())
    with pytest.raises(FileNotFoundError, match="No checkpoint"):
        Run(tmp_path).load_gan()
    record = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps(dict(record, model="mlp")))
    with pytest.raises(ValueError, match="does not hold the settings of this version"):
        Run(tmp_path).config()
    (tmp_path / "config.json").write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        Run(tmp_path).config()
