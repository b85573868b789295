"""The generators that ship with the package: ``pretrained("dcgan")`` and its relatives.

``"dcgan"`` draws digits from noise alone: it is self-conditioned on clusters of the training
digits, found without labels (``gan_mnist.clustering``). ``"conditional_dcgan"`` draws the
digit it is asked for, and ``"plain_dcgan"`` is the unconditional DCGAN without clusters, kept
for the lessons that show what clusters fix. Each is the weight average (EMA) of a long
deterministic run of the recommended DCGAN, made by ``make pretrained``
(``tools/pretrain.py``). ``"diffusion"`` and ``"vae"`` are the other families of lesson "Where
GANs stand" (``gan_mnist.diffusion``, ``gan_mnist.vae``), made the same way and drawing the same
way: ``generate(n, seed=...)``. Its record, ``generators/NAME.json``, holds the
run's settings, steps, training time and versions, its quality against training time, and its
scores with the package's evaluator at n = 10,000.
"""

import json
from pathlib import Path

from gan_mnist import models
from gan_mnist.backend import keras
from gan_mnist.run_config import RunConfig

GENERATORS_DIR = Path(__file__).resolve().parent / "generators"
GAN_NAMES = ("dcgan", "conditional_dcgan", "plain_dcgan")
# The other families, for lesson "Where GANs stand": noise in, digits out, like the GANs.
FAMILY_NAMES = ("diffusion", "vae")
NAMES = GAN_NAMES + FAMILY_NAMES


def _path(name, suffix):
    if name not in NAMES:
        raise ValueError(f"There is no shipped generator {name!r}; choose one of {NAMES}.")
    path = GENERATORS_DIR / f"{name}{suffix}"
    if not path.is_file():
        raise FileNotFoundError(
            f"The shipped generator file {path} is missing. Fix: make it with `make pretrained` "
            "(about an hour per generator on 2 CPU cores), or restore it from the repository."
        )
    return path


def record(name):
    """The record of a shipped generator: ``config``, ``steps``, ``train_seconds``, ``scores``
    (at n = 10,000), ``curve`` (scores every few thousand steps), ``command`` and ``versions``.
    """
    return json.loads(_path(name, ".json").read_text())


def load_family(settings, path):
    """The model of another family for ``settings`` around the network saved at ``path``
    (loaded in Keras' safe mode), drawing with it directly (no weight average of its own).
    """
    from gan_mnist import diffusion, families, vae  # noqa: F401 (diffusion registers a layer)

    if settings.get("clusters"):
        raise ValueError("Only unconditional models of the other families are shipped.")
    network = keras.saving.load_model(path, compile=False, safe_mode=True)
    settings = dict(settings, ema_decay=None)
    if settings["family"] == "vae":
        # Only the decoder draws; the encoder, needed to train further, starts untrained.
        network = (vae.encoder(settings["latent_dim"], tuple(settings["widths"])), network)
    return families.build(settings, networks=network)


def pretrained(name):
    """A ``GAN`` around the shipped generator ``name`` (one of ``NAMES``), or for
    ``"diffusion"`` and ``"vae"`` a ``diffusion.Diffusion`` or ``vae.VAE`` whose
    ``generate(n, seed=...)`` draws with the shipped network (``settings``: how it was trained).

    ``generate(n, seed=...)`` draws from the shipped weights (``labels=`` asks the conditional
    one for digits, ``clusters=`` the self-conditioned one for clusters) (loaded in Keras' safe
    mode); ``gan.config`` is the ``RunConfig`` of the run that made them. Only the generator is
    shipped: the discriminator is the preset's, untrained, so the GAN is for sampling and
    measuring (compiled with the run's optimisers, it can train further, but its discriminator
    starts from scratch).
    """
    from gan_mnist.gan import build_gan

    stored = record(name)
    if name in FAMILY_NAMES:
        return load_family(stored["settings"], _path(name, ".keras"))
    config = RunConfig.from_dict(stored["config"])
    generator = keras.saving.load_model(_path(name, ".keras"), compile=False, safe_mode=True)
    _, discriminator = models.build(config.preset, latent_dim=config.latent_dim,
                                    generator_widths=config.generator_widths,
                                    discriminator_widths=config.discriminator_widths,
                                    conditional=config.clusters or config.conditional)
    # The shipped weights are the average already: this GAN draws with them directly.
    gan = build_gan(config.replace(ema_decay=None), networks=(generator, discriminator))
    if config.clusters:
        gan.cluster_frequencies.assign(stored["cluster_frequencies"])
    gan.config = config
    return gan
