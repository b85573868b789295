"""Give every lesson an "Open in Colab" badge and a first cell that installs gan_mnist there.

Usage: python tools/colab.py --repository https://github.com/OWNER/NAME [--branch main]

The badge opens the lesson from the repository in Colab; the set-up cell installs the package
from the same repository when the lesson runs on Colab, and does nothing anywhere else (so
nbval and `make notebooks` see a cell without output). Running the tool again replaces both,
for example after the repository moves.
"""

import argparse
import json
import re
import sys
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
TAG = "colab-setup"
BADGE = re.compile(r"^\[!\[Open in Colab\]\([^)]*\)\]\([^)]*\)\n\n", re.M)


def badge(repository, branch, name):
    path = repository.removeprefix("https://github.com/").rstrip("/")
    return (
        "[![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        f"(https://colab.research.google.com/github/{path}/blob/{branch}/notebooks/{name})\n\n"
    )


def setup_cell(repository, branch):
    source = (
        "# On Colab only: install gan_mnist (and with it TensorFlow's Keras 3 set-up) from the\n"
        "# repository; MNIST downloads on first use. Elsewhere this cell does nothing.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        "    import subprocess\n"
        "\n"
        f'    package = "gan-mnist @ git+{repository.rstrip("/")}@{branch}"\n'
        '    subprocess.run([sys.executable, "-m", "pip", "install", "-q", package], check=True)'
    )
    return dict(cell_type="code", execution_count=None, id="colab-setup",
                metadata=dict(tags=[TAG]), outputs=[], source=source.splitlines(keepends=True))


def add_to(path, repository, branch):
    """Put the badge on the lesson's first markdown cell and the set-up cell before its code."""
    notebook = json.loads(path.read_text())
    cells = [cell for cell in notebook["cells"]
             if TAG not in cell.get("metadata", {}).get("tags", [])]
    first_markdown = next(cell for cell in cells if cell["cell_type"] == "markdown")
    text = BADGE.sub("", "".join(first_markdown["source"]))
    first_markdown["source"] = (badge(repository, branch, path.name) + text).splitlines(
        keepends=True
    )
    first_code = next(index for index, cell in enumerate(cells) if cell["cell_type"] == "code")
    cells.insert(first_code, setup_cell(repository, branch))
    notebook["cells"] = cells
    path.write_text(json.dumps(notebook, sort_keys=True, indent=1, ensure_ascii=False) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repository", required=True,
                        help="the public repository, https://github.com/OWNER/NAME")
    parser.add_argument("--branch", default="main")
    parser.add_argument("notebooks", nargs="*", type=Path,
                        default=sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")))
    arguments = parser.parse_args(argv)
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+/?", arguments.repository):
        parser.error("--repository must look like https://github.com/OWNER/NAME")
    for path in arguments.notebooks:
        add_to(path, arguments.repository, arguments.branch)
        print(f"{path.name}: badge and set-up cell for {arguments.repository}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
