"""Fast mode and sizes: one environment variable, one call."""

import pytest

from gan_mnist import config


@pytest.mark.parametrize("value, expected", [("1", True), ("true", True), ("YES", True), ("0", False), ("", False)])
def test_fast_mode_reads_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv(config.FAST_VARIABLE, value)
    assert config.fast_mode() is expected


def test_pick_chooses_sizes_by_mode(monkeypatch):
    monkeypatch.delenv(config.FAST_VARIABLE, raising=False)
    assert config.pick(full=dict(steps=100_000), fast=dict(steps=200)) == dict(steps=100_000)
    monkeypatch.setenv(config.FAST_VARIABLE, "1")
    assert config.pick(full=dict(steps=100_000), fast=dict(steps=200)) == dict(steps=200)


def test_runs_live_in_the_ignored_runs_folder_and_fast_mode_in_its_own(monkeypatch):
    monkeypatch.delenv(config.FAST_VARIABLE, raising=False)
    assert config.runs_dir() == config.PACKAGE_DIR.parent / "runs"
    # The lessons' fast runs (the test run) never overwrite the full runs that lessons reload.
    monkeypatch.setenv(config.FAST_VARIABLE, "1")
    assert config.runs_dir() == config.PACKAGE_DIR.parent / "runs-fast"
    ignored = (config.PACKAGE_DIR.parent / ".gitignore").read_text().splitlines()
    assert "runs/" in ignored and "runs-fast/" in ignored
