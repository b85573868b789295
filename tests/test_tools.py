"""The notebook tools: stripping TensorFlow's log lines, and the Colab badge and set-up cell."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parent.parent / "tools"
LESSON = TOOLS.parent / "notebooks" / "02_mnist.ipynb"
sys.path.insert(0, str(TOOLS))

import colab  # noqa: E402
import strip_tf_logs  # noqa: E402

LOGGED = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "I0000 00:00:1795467805.661266    4405 port.cc:153] oneDNN custom operations are on.\n"
    "E0000 00:00:1795467810.265575    4405 cuda_platform.cc:52] failed call to cuInit\n"
    "I0000 00:00:1796156133.093688   18354 cpu_feature_guard.cc:227] This TensorFlow binary is "
    "optimized.\n"
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow "
    "with the appropriate compiler flags.\n"
    "UserWarning: a real warning stays\n"
)


def test_strip_keeps_real_warnings_and_drops_empty_streams(tmp_path):
    assert strip_tf_logs.strip(LOGGED) == "UserWarning: a real warning stays\n"
    notebook = dict(nbformat=4, nbformat_minor=5, metadata={}, cells=[dict(
        cell_type="code", execution_count=1, id="a", metadata={}, source=["1"],
        outputs=[
            dict(output_type="stream", name="stderr", text=LOGGED.splitlines(keepends=True)[:3]),
            dict(output_type="stream", name="stdout", text=["I0000 looks like a log\n"]),
        ],
    )])
    path = tmp_path / "lesson.ipynb"
    path.write_text(json.dumps(notebook))
    assert strip_tf_logs.clean(path) == 3
    outputs = json.loads(path.read_text())["cells"][0]["outputs"]
    assert outputs == [notebook["cells"][0]["outputs"][1]]  # stdout is never touched.


def test_colab_badge_and_set_up_cell_are_added_once_and_do_nothing_here(tmp_path):
    lesson = tmp_path / LESSON.name
    shutil.copy(LESSON, lesson)
    for owner in ("first", "second"):
        completed = subprocess.run(
            [sys.executable, str(TOOLS / "colab.py"), "--repository",
             f"https://github.com/{owner}/gan-mnist", str(lesson)],
            capture_output=True, text=True,
        )
        assert completed.returncode == 0, completed.stderr
    cells = json.loads(lesson.read_text())["cells"]
    original = json.loads(LESSON.read_text())["cells"]
    assert len(cells) == len(original) + 1
    first = "".join(cells[0]["source"])
    assert first.count("colab-badge.svg") == 1
    assert "colab.research.google.com/github/second/gan-mnist/blob/main/notebooks/02_mnist" in first
    setup = [cell for cell in cells if colab.TAG in cell["metadata"].get("tags", [])]
    assert len(setup) == 1 and "git+https://github.com/second/gan-mnist@main" in "".join(
        setup[0]["source"])
    # Off Colab the cell runs and does nothing.
    namespace = {}
    exec("".join(setup[0]["source"]), namespace)
    assert "package" not in namespace


def test_extract_figures_writes_each_png_and_gif_frames_with_their_cells(tmp_path):
    import base64

    import imageio.v3 as iio
    import numpy as np

    import extract_figures

    frames = np.stack([np.full((8, 8), value, np.uint8) for value in (0, 60, 120, 180, 240)])
    gif = iio.imwrite("<bytes>", frames, extension=".gif")
    png = iio.imwrite("<bytes>", frames[2], extension=".png")
    cells = [
        dict(cell_type="markdown", id="m", metadata={}, source=["## The training GIF\n"]),
        dict(cell_type="code", execution_count=1, id="c", metadata={}, source=["show()"],
             outputs=[dict(output_type="stream", name="stdout", text=["text only\n"]),
                      dict(output_type="display_data", metadata={}, data={
                          "image/png": base64.b64encode(png).decode(), "text/plain": ["<F>"]}),
                      dict(output_type="display_data", metadata={}, data={
                          "text/html": [f'<img src="data:image/gif;base64,'
                                        f'{base64.b64encode(gif).decode()}"/>']})]),
    ]
    lesson = tmp_path / "lesson.ipynb"
    lesson.write_text(json.dumps(dict(nbformat=4, nbformat_minor=5, metadata={}, cells=cells)))
    written = extract_figures.extract(lesson, tmp_path / "figures", frames=3)
    assert written == ["cell1_1.png", "cell1_2.gif", "cell1_2_frame000.png",
                       "cell1_2_frame002.png", "cell1_2_frame004.png"]
    assert (tmp_path / "figures" / "cell1_1.png").read_bytes() == png
    last = iio.imread(tmp_path / "figures" / "cell1_2_frame004.png")
    assert int(np.median(last)) in range(230, 250)  # The GIF's last frame, near 240.
    index = (tmp_path / "figures" / "index.txt").read_text().splitlines()
    assert index[0] == "cell1_1.png\tcell 1\t## The training GIF"
    completed = subprocess.run([sys.executable, str(TOOLS / "extract_figures.py"),
                                str(tmp_path / "missing.ipynb"), str(tmp_path / "x")],
                               capture_output=True, text=True)
    assert completed.returncode == 2 and "no notebook at" in completed.stderr


def test_extract_figures_reads_every_committed_lesson(tmp_path):
    # The lessons' GIFs come from gan_mnist.animation, palettes and all: each must decode.
    import extract_figures

    for lesson in sorted((TOOLS.parent / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        written = extract_figures.extract(lesson, tmp_path / lesson.stem, frames=2)
        assert all((tmp_path / lesson.stem / name).stat().st_size for name in written)
