"""Write every figure a lesson's outputs hold to a folder, for a reviewer to look at.

A lesson's sentences are checked against its committed outputs; its figures live inside the
notebook as base64. This writes each PNG (`cell12_0.png`: cell 12, its first output) and each
animated GIF with a few of its frames as PNGs (`cell5_0.gif`, `cell5_0_frame000.png`, ...), and an
`index.txt` that names every file's cell and the heading above it. Usage:

    python tools/extract_figures.py notebooks/09_watching_training.ipynb /tmp/figures/09 [--frames 5]
"""

import argparse
import base64
import io
import json
import re
import sys
from pathlib import Path

GIF_IN_HTML = re.compile(r'src="data:image/gif;base64,([A-Za-z0-9+/=\s]+)"')


def gif_frames(data, count):
    """``count`` frames of an animated GIF, evenly spread from the first to the last, as PNGs."""
    from PIL import Image, ImageSequence

    # Pillow, frame by frame: GIFs written with per-frame palettes decode to RGB one at a time.
    frames = [frame.convert("RGB") for frame in ImageSequence.Iterator(Image.open(io.BytesIO(data)))]
    if len(frames) <= count:
        chosen = range(len(frames))
    else:
        chosen = sorted({round(i * (len(frames) - 1) / (count - 1)) for i in range(count)})
    pngs = []
    for index in chosen:
        buffer = io.BytesIO()
        frames[index].save(buffer, format="PNG")
        pngs.append((index, buffer.getvalue()))
    return pngs


def extract(notebook_path, folder, frames=5):
    """Write the figures of one notebook into ``folder``; return the names written."""
    notebook = json.loads(Path(notebook_path).read_text())
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    index_lines, written, heading = [], [], "(before any heading)"
    for number, cell in enumerate(notebook["cells"]):
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            headings = [line for line in source.splitlines() if line.startswith("#")]
            heading = headings[-1] if headings else heading
            continue
        for position, output in enumerate(cell.get("outputs", [])):
            data = output.get("data", {})
            stem = f"cell{number}_{position}"
            files = []
            if "image/png" in data:
                (folder / f"{stem}.png").write_bytes(base64.b64decode(data["image/png"]))
                files.append(f"{stem}.png")
            for match in GIF_IN_HTML.finditer("".join(data.get("text/html", ""))):
                gif = base64.b64decode(match.group(1))
                (folder / f"{stem}.gif").write_bytes(gif)
                files.append(f"{stem}.gif")
                for frame, png in gif_frames(gif, frames):
                    (folder / f"{stem}_frame{frame:03d}.png").write_bytes(png)
                    files.append(f"{stem}_frame{frame:03d}.png")
            for name in files:
                index_lines.append(f"{name}\tcell {number}\t{heading}")
            written += files
    (folder / "index.txt").write_text("\n".join(index_lines) + "\n")
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--frames", type=int, default=5, help="frames kept of each GIF (>= 2)")
    args = parser.parse_args(argv)
    if not args.notebook.is_file():
        parser.error(f"no notebook at {args.notebook}")
    if args.frames < 2:
        parser.error(f"--frames must be at least 2, got {args.frames}")
    written = extract(args.notebook, args.folder, args.frames)
    print(f"{len(written)} files in {args.folder} (index.txt names their cells)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
