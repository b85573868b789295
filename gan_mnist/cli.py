"""The ``gan-mnist`` command line: ``python -m gan_mnist data``."""

import argparse
import sys


def _data(arguments):
    from gan_mnist.data import FILES, download_mnist, load_mnist

    folder = download_mnist(arguments.dir)
    for split in FILES:
        images, _ = load_mnist(split, folder)
        print(f"{split}: {len(images):,} images, checksums verified, in {folder}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="gan-mnist", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    data = commands.add_parser("data", help="download or verify the MNIST files")
    data.add_argument("--dir", default=None, help="data folder (default: $GAN_MNIST_DATA_DIR or data/)")
    data.set_defaults(run=_data)
    return parser


def main(argv=None):
    arguments = build_parser().parse_args(argv)
    try:
        return arguments.run(arguments)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
