"""gan_mnist: the package behind the GAN-on-MNIST notebook tutorial series."""

from gan_mnist import config, losses, models, visualize
from gan_mnist.config import fast_mode, pick
from gan_mnist.data import download_mnist, load_mnist, make_dataset
from gan_mnist.models import preset_settings
from gan_mnist.seeding import set_seed

__version__ = "0.1.0"

__all__ = [
    "config",
    "download_mnist",
    "fast_mode",
    "load_mnist",
    "losses",
    "make_dataset",
    "models",
    "pick",
    "preset_settings",
    "set_seed",
    "visualize",
]
