"""Sphinx configuration of the book: the README as its front page, the lessons with their
committed outputs (never executed here), docs/architecture.md, benchmarks/README.md and an API
reference generated from the docstrings of gan_mnist.

`make book` builds it into docs/book/_build/html and checks its links with tools/check_book.py.

The pages the book takes from the repository are copied here, at the same relative paths, each
time the book builds (notebooks/, docs/, benchmarks/ in this folder: ignored by git, never to be
edited). index.md, at the root of this folder, includes the README, so the README's relative
links (notebooks/03_vanilla_gan.ipynb, docs/samples.png) resolve here as they do in the
repository. A Markdown link to a file of the repository that is not part of the book (LICENSE,
gan_mnist/) becomes its plain text; one to the README goes to the front page.
"""

import inspect
import os
import re
import shutil
import sys
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging
from sphinx.util.nodes import make_refnode

BOOK = Path(__file__).resolve().parent
REPO = BOOK.parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # autodoc imports the modules, so TensorFlow

import gan_mnist  # noqa: E402

logger = logging.getLogger(__name__)

# What the book renders from the repository, by folder: copied into the folder of the same name
# here, which holds nothing else.
MIRRORED = {
    "notebooks": ("[0-9][0-9]_*.ipynb",),
    "docs": ("*.md", "*.png", "*.gif"),
    "benchmarks": ("README.md",),
}


def _mirror():
    for folder, patterns in MIRRORED.items():
        sources = {
            path.name: path for pattern in patterns for path in (REPO / folder).glob(pattern)
        }
        copies = BOOK / folder
        copies.mkdir(exist_ok=True)
        for copy in copies.iterdir():
            if copy.name not in sources:
                shutil.rmtree(copy) if copy.is_dir() else copy.unlink()
        for name, source in sources.items():
            copy = copies / name
            # Only what changed is copied, so Sphinx rebuilds only those pages.
            if not copy.is_file() or copy.read_bytes() != source.read_bytes():
                shutil.copyfile(source, copy)


_mirror()

project = "gan-mnist"
author = "The gan-mnist authors"
copyright = f"2026, {author}"
release = version = gan_mnist.__version__

extensions = [
    "myst_nb",  # Markdown and notebooks; it sets myst_parser up itself
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
]

root_doc = "index"
exclude_patterns = ["_build", "**/.ipynb_checkpoints"]
templates_path = ["_templates"]

# The lessons as committed: their outputs are the full run's, and nothing is executed.
nb_execution_mode = "off"
myst_enable_extensions = ["amsmath", "dollarmath", "colon_fence"]
myst_heading_anchors = 3  # links to "#a-heading" resolve

# The API reference: one page per module, its documented members in source order. Keras's
# docstrings (Google style) are not inherited by the methods that override Keras's.
autosummary_generate = True
autodoc_default_options = {"members": True, "member-order": "bysource", "show-inheritance": True}
autodoc_inherit_docstrings = False
autodoc_typehints = "description"
autodoc_preserve_defaults = True
add_module_names = False

html_theme = "sphinx_book_theme"
html_title = f"gan-mnist {release}"
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": True,  # the page's source: a lesson as an .ipynb with its outputs
    "home_page_in_toc": True,
}

# Every public module needs a page: api/index.rst lists them (in the README's order).
PUBLIC_MODULES = set(gan_mnist.MODULES) | set(gan_mnist.NAMES.values())


def _check_api_pages(app):
    text = (BOOK / "api" / "index.rst").read_text(encoding="utf-8")
    listed = set(re.findall(r"^ {3}gan_mnist\.(\w+)$", text, flags=re.MULTILINE))
    for name in sorted(PUBLIC_MODULES - listed):
        logger.warning(f"gan_mnist.{name} is public but has no page: add it to api/index.rst")


def _front_door(app):
    """api/generated/front_door.txt, which api/index.rst includes: the names of gan_mnist.NAMES,
    each linked to the module it comes from."""
    lines = [
        f"* :py:obj:`gan_mnist.{name} <gan_mnist.{module}.{name}>`"
        f" (from :py:mod:`gan_mnist.{module}`)"
        for name, module in sorted(gan_mnist.NAMES.items(), key=lambda item: item[0].lower())
    ]
    path = BOOK / "api" / "generated" / "front_door.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(lines) + "\n"
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Leave out what a class of gan_mnist gets from elsewhere (matplotlib gives every Figure
    subclass a generated ``set`` method, with matplotlib's docstring)."""
    if what in ("class", "exception") and (inspect.isroutine(obj) or inspect.isclass(obj)):
        module = getattr(obj, "__module__", None) or ""
        if module != "gan_mnist" and not module.startswith("gan_mnist."):
            return True
    return None


class RepositoryLinks(SphinxPostTransform):
    """Markdown links to files of the repository that the book does not hold: the README goes
    to the front page, any other file or folder that exists becomes plain text. MyST warns about
    the rest (broken links); this runs just before its resolver."""

    default_priority = 8

    def run(self, **kwargs):
        for node in list(self.document.findall(addnodes.pending_xref)):
            if node.get("reftype") != "myst" or node.get("refdomain"):
                continue
            target, _, anchor = node["reftarget"].partition("#")
            text = node[0].deepcopy() if len(node) else nodes.literal(target, target)
            if not target or re.match(r"^[a-z][a-z0-9+.-]*:", target):
                continue
            # A page's place in the book is its place in the repository.
            place = Path(self.env.doc2path(node["refdoc"], base=False)).parent
            path = Path(os.path.normpath(REPO / place / target))
            if path == REPO / "README.md":
                new = make_refnode(
                    self.app.builder, node["refdoc"], root_doc, anchor or None,
                    text, "the front page",
                )
            elif path.exists() and REPO in path.parents:
                logger.info(f"{node['refdoc']}: {node['reftarget']} is not in the book: plain text")
                new = nodes.inline("", "", *text.children)  # without the link's classes
            else:
                continue
            node.replace_self(new)


def setup(app):
    app.connect("builder-inited", _check_api_pages)
    app.connect("builder-inited", _front_door)
    app.connect("autodoc-skip-member", _skip_foreign_members)
    app.add_post_transform(RepositoryLinks)
