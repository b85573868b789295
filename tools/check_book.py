"""Check, offline, that every internal link and image of the built book resolves.

Reads every page (.html file) under the book's folder, docs/book/_build/html by default (the
theme's templates in _static are not pages), and every address in its href, src, srcset and
poster attributes. Each relative address must name a file inside the folder (a folder: its
index.html) and, with a #fragment into a page, an element of that page with that id (or an <a>
with that name). http(s), mailto, tel, javascript and data addresses are skipped: nothing is
fetched. Prints one line per broken address and exits 1, or prints a one-line summary.
`make book` runs it after building. Usage: python tools/check_book.py [HTML_DIR]
"""

import argparse
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

DEFAULT_DIR = Path(__file__).resolve().parents[1] / "docs" / "book" / "_build" / "html"
SKIPPED_SCHEMES = {"http", "https", "mailto", "tel", "javascript", "data"}
URL_ATTRIBUTES = {"href", "src", "poster"}
# Sphinx's folders of files that are not pages (the themes copy Jinja macros into _static).
ASSET_DIRS = {"_static", "_sources", "_downloads", "_images"}


class Page(HTMLParser):
    """The ids (anchors) of one HTML page and the addresses it refers to, with their lines."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids = set()
        self.addresses = []  # (line, attribute, address)

    def handle_starttag(self, tag, attrs):
        line = self.getpos()[0]
        for name, value in attrs:
            if value is None:
                continue
            if name == "id" or (tag == "a" and name == "name"):
                self.ids.add(value)
            elif name in URL_ATTRIBUTES:
                self.addresses.append((line, name, value.strip()))
            elif name == "srcset":
                for candidate in value.split(","):
                    if candidate.strip():
                        self.addresses.append((line, name, candidate.split()[0]))

    handle_startendtag = handle_starttag


def parse(path):
    page = Page()
    page.feed(path.read_text(encoding="utf-8", errors="replace"))
    page.close()
    return page


def check(root):
    """(broken, checked, skipped, pages): one line per broken address, and the counts."""
    root = root.resolve()
    pages = {
        path: parse(path) for path in sorted(root.rglob("*.html"))
        if path.relative_to(root).parts[0] not in ASSET_DIRS
    }
    broken, checked, skipped = [], 0, 0
    for path, page in pages.items():
        where = path.relative_to(root).as_posix()
        for line, attribute, address in page.addresses:
            parts = urlsplit(address)
            if parts.scheme or parts.netloc:
                if parts.scheme.lower() in SKIPPED_SCHEMES or (parts.netloc and not parts.scheme):
                    skipped += 1
                else:
                    broken.append(f"{where}:{line}: {attribute}={address}: not a web address")
                continue
            checked += 1
            problem = resolve(root, path, unquote(parts.path), unquote(parts.fragment), pages)
            if problem:
                broken.append(f"{where}:{line}: {attribute}={address}: {problem}")
    return broken, checked, skipped, len(pages)


def resolve(root, page, path, fragment, pages):
    """None if ``path#fragment``, as written in ``page``, exists in the book; else why not."""
    if not path:
        target = page
    else:
        base = root if path.startswith("/") else page.parent
        target = _normalise(base / path.lstrip("/"))
        if root != target and root not in target.parents:
            return "outside the book"
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            return "no such file"
    if fragment and target.suffix == ".html":
        target_page = pages.get(target) or parse(target)
        if fragment not in target_page.ids:
            return f"no anchor #{fragment} in {target.relative_to(root).as_posix()}"
    return None


def _normalise(path):
    """``path`` with its "." and ".." parts folded in, without following symbolic links."""
    parts = []
    for part in path.parts:
        if part == "..":
            if len(parts) > 1:
                parts.pop()
        elif part != ".":
            parts.append(part)
    return Path(*parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("html_dir", nargs="?", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args(argv)
    if not (args.html_dir / "index.html").is_file():
        print(f"check_book: {args.html_dir} has no index.html; build the book first (make book)")
        return 1
    broken, checked, skipped, pages = check(args.html_dir)
    for line in broken:
        print(line)
    if broken:
        print(f"check_book: {len(broken)} broken of {checked} internal links and images",
              file=sys.stderr)
        return 1
    print(
        f"check_book: {pages} pages, all {checked} internal links and images resolve "
        f"({skipped} external skipped, not fetched)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
