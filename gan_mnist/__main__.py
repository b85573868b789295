"""``python -m gan_mnist``: the command line."""

from gan_mnist.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
