"""gan_mnist: the package behind the GAN-on-MNIST notebook tutorial series.

The pieces a lesson reaches for first are here: ``load_mnist``, ``RunConfig``, ``train``,
``Run``, ``GAN``, ``build_gan`` and ``set_seed``; the modules hold the rest
(``docs/architecture.md`` shows how they fit together).
"""

from gan_mnist import (
    animation, callbacks, checkpoints, config, data, engine, evaluator, history, images, latent,
    losses, metrics, models, visualize,
)
from gan_mnist.config import fast_mode, pick
from gan_mnist.data import download_mnist, load_mnist, make_dataset
from gan_mnist.gan import GAN, build_gan
from gan_mnist.run import Run
from gan_mnist.run_config import RunConfig
from gan_mnist.seeding import set_seed
from gan_mnist.training import TrainingResult, train

__version__ = "0.1.0"

__all__ = [
    "GAN",
    "Run",
    "RunConfig",
    "TrainingResult",
    "animation",
    "build_gan",
    "callbacks",
    "checkpoints",
    "config",
    "data",
    "download_mnist",
    "engine",
    "evaluator",
    "fast_mode",
    "history",
    "images",
    "latent",
    "load_mnist",
    "losses",
    "make_dataset",
    "metrics",
    "models",
    "pick",
    "set_seed",
    "train",
    "visualize",
]
