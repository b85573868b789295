"""The other families of the series, described by settings: ``settings(family, ...)`` and
``build(settings)``.

A model of another family (``"diffusion"``: ``gan_mnist.diffusion``; ``"vae"``:
``gan_mnist.vae``) is described by its settings, a plain dict (stored as JSON in the shipped
models' records, ``gan_mnist.pretrained``), which ``build`` turns into a compiled model,
untrained or around given networks. The defaults are the first settings of lesson "Where GANs
stand"; ``benchmarks/families_at_budget.py`` measures each change.
"""

from gan_mnist import diffusion, vae
from gan_mnist.backend import keras
from gan_mnist.family_base import learning_rate

FAMILIES = ("diffusion", "vae")
# What every model of another family is trained with: Adam at `learning_rate` (with an optional
# linear warm-up and cosine decay), a weight average of the network that draws, batches of 64.
COMMON = dict(learning_rate=1e-3, warmup=0, decay_steps=0, ema_decay=0.999, clusters=None,
              batch_size=64, steps_per_execution=20, seed=0)
# Each family's network and objective (the first settings of lesson "Where GANs stand").
NETWORKS = {
    "diffusion": dict(widths=[16, 32, 64], residual=False, group_norm=False,
                      prediction="epsilon", min_snr=None),
    "vae": dict(widths=[32, 64], latent_dim=16),
}


def settings(family, **changes):
    """The settings of a ``family`` model: its defaults with ``changes``, checked.

    ``ValueError`` for an unknown family or setting; the builders check the values.
    """
    if family not in FAMILIES:
        raise ValueError(f"Unknown family {family!r}; choose one of {FAMILIES}.")
    found = dict(family=family, **COMMON, **NETWORKS[family])
    unknown = sorted(set(changes) - set(found))
    if unknown:
        raise ValueError(f"Unknown {family} settings {unknown}; valid: {sorted(found)}.")
    found.update(changes)
    return found


def build(found, clustering=None, networks=None):
    """A compiled model for ``settings`` ``found``: untrained networks, or ``networks`` (the
    diffusion model's denoiser, or the VAE's ``(encoder, decoder)``). A cluster-conditioned
    model (``clusters=K``) takes its clusters from ``clustering``. Seed first for repeatable
    weights (``gan_mnist.set_seed``).
    """
    found = settings(found["family"], **{k: v for k, v in found.items() if k != "family"})
    if (found["clusters"] is None) != (clustering is None) or (
            clustering is not None and clustering.k != found["clusters"]):
        raise ValueError(f"clusters={found['clusters']} needs a clustering of that many clusters "
                         f"(gan_mnist.clustering.cluster_images), got {clustering!r}.")
    k = found["clusters"]
    if found["family"] == "diffusion":
        network = networks or diffusion.denoiser(tuple(found["widths"]),
                                                 residual=found["residual"],
                                                 group_norm=found["group_norm"], clusters=k)
        model = diffusion.Diffusion(network, prediction=found["prediction"],
                                    min_snr=found["min_snr"], ema_decay=found["ema_decay"],
                                    clustering=clustering, seed=found["seed"])
    else:
        shape = dict(latent_dim=found["latent_dim"], widths=tuple(found["widths"]), clusters=k)
        encoder, decoder = networks or (vae.encoder(**shape), vae.decoder(**shape))
        model = vae.VAE(encoder, decoder, ema_decay=found["ema_decay"], clustering=clustering,
                        seed=found["seed"])
    rate = learning_rate(found["learning_rate"], found["warmup"], found["decay_steps"])
    model.compile(keras.optimizers.Adam(rate), steps_per_execution=found["steps_per_execution"])
    model.settings = found
    return model
