"""gan_mnist: the package behind the GAN-on-MNIST notebook tutorial series.

The pieces a lesson reaches for first are here: ``load_mnist``, ``RunConfig`` (and
``InfoGANConfig``, ``SemiSupervisedConfig``), ``train``, ``Run``, ``GAN``, ``build_gan``,
``set_seed``, ``pretrained`` (the shipped generators) and ``explore`` (a live widget, with
ipywidgets); the modules hold the rest
(``docs/architecture.md`` shows how they fit together). Names load on first use, so importing
the package (or asking the command line for ``--help``) starts neither TensorFlow nor
ipywidgets.
"""

import importlib

__version__ = "0.1.0"

MODULES = (
    "animation", "callbacks", "checkpoints", "class_metrics", "clustering", "conditioning",
    "config", "data", "diffusion", "engine", "evaluator", "explorer", "families", "family_base",
    "history", "images", "infogan", "latent", "layers", "learner_config", "learners",
    "losses", "manifolds", "metrics",
    "models", "schedules", "semi_supervised", "shipped", "speed", "styles", "vae",
    "visualize",
)
# Each name of the package's front door, and the module it lives in.
NAMES = {
    "GAN": "gan", "build_gan": "gan", "Run": "run", "RunConfig": "run_config",
    "TrainingResult": "training", "train": "training", "set_seed": "seeding",
    "fast_mode": "config", "pick": "config", "download_mnist": "data", "load_mnist": "data",
    "make_dataset": "data", "pretrained": "shipped", "explore": "explorer",
    "InfoGANConfig": "learner_config", "SemiSupervisedConfig": "learner_config",
}

__all__ = sorted(MODULES + tuple(NAMES))


def __getattr__(name):
    if name in MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in NAMES:
        return getattr(importlib.import_module(f"{__name__}.{NAMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
