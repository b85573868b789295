"""gan_mnist: the package behind the GAN-on-MNIST notebook tutorial series."""

from gan_mnist import callbacks, config, losses, metrics, models, training, visualize
from gan_mnist.config import fast_mode, pick
from gan_mnist.data import download_mnist, load_mnist, make_dataset
from gan_mnist.models import preset_settings
from gan_mnist.seeding import set_seed
from gan_mnist.training import GAN, train

__version__ = "0.1.0"

__all__ = [
    "GAN",
    "callbacks",
    "config",
    "download_mnist",
    "fast_mode",
    "load_mnist",
    "losses",
    "metrics",
    "make_dataset",
    "models",
    "pick",
    "preset_settings",
    "set_seed",
    "train",
    "training",
    "visualize",
]
