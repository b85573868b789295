"""The self-conditioned recipe on clusters of other features: pixels against a VAE's codes.

    python tools/pretrain.py vae      # once: the VAE run whose encoder gives the features
    python benchmarks/cluster_features.py --features vae --steps 10000 --seed 0
    python benchmarks/cluster_features.py --features pixels --steps 10000 --seed 0

Trains the shipped ``dcgan`` recipe (``tools/pretrain.py``: the recommended DCGAN, 200 clusters,
Adam 4e-4, a weight average of 0.999, op determinism on) for ``--steps`` at a constant rate (the
recipe's decay left out, as in the 10,000-step trials of ``benchmarks/README.md``), on 200
k-means clusters of the training digits made from ``--features``:

- ``pixels``: the recipe's own, 50 principal components of the pixels (``cluster_images``);
- ``vae``: the encoder means (16 numbers per digit) of the VAE run in ``--vae-run`` (made by
  ``python tools/pretrain.py vae``, 25,000 steps on the images alone: no label reaches it).

Then 10,000 digits (seed 0) are scored by the evaluator (FID, score, each class against its own
floor) and their styles counted (``gan_mnist.styles``). The cluster purity, computed with the
labels after the clustering, is a diagnostic. One JSON line goes to standard output.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

import pretrain  # noqa: E402
from gan_mnist import class_metrics, clustering, families, styles, train  # noqa: E402
from gan_mnist.backend import tf  # noqa: E402
from gan_mnist.choices import EVALUATION_SEED  # noqa: E402
from gan_mnist.config import runs_dir  # noqa: E402
from gan_mnist.data import load_mnist  # noqa: E402
from gan_mnist.images import to_unit  # noqa: E402
from gan_mnist.seeding import set_seed  # noqa: E402


def vae_codes(images, run_dir):
    """The encoder means of ``images`` from the newest checkpoint of the VAE run ``run_dir``."""
    directory = Path(run_dir) / "checkpoints"
    newest = tf.train.latest_checkpoint(str(directory))
    if newest is None:
        raise FileNotFoundError(f"No VAE checkpoint in {directory}; make it with "
                                "`python tools/pretrain.py vae` (about 10 minutes).")
    model = families.build(families.settings("vae"))
    checkpoint = tf.train.Checkpoint(model=model, optimizer=model.network_optimizer)
    checkpoint.restore(newest).assert_existing_objects_matched()
    pixels = to_unit(images)[..., None]
    return np.concatenate([model.encoder.predict(pixels[i:i + 2000], verbose=0)[0]
                           for i in range(0, len(pixels), 2000)])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--features", choices=("pixels", "vae"), required=True)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--vae-run", default=str(runs_dir() / "pretrained" / "vae"))
    parser.add_argument("--run-dir", default=None,
                        help="the run folder (default runs/cluster_features_FEATURES_sSEED)")
    arguments = parser.parse_args(argv)

    images, labels = load_mnist("train")
    config = pretrain.recipe("dcgan", arguments.steps).replace(decay_start=None,
                                                               seed=arguments.seed)
    if arguments.features == "vae":
        found = clustering.cluster_features(vae_codes(images, arguments.vae_run),
                                            config.clusters, seed=arguments.seed)
    else:
        found = clustering.cluster_images(images, config.clusters, seed=arguments.seed)
    run_dir = arguments.run_dir or (runs_dir() /
                                    f"cluster_features_{arguments.features}_s{arguments.seed}")
    set_seed(arguments.seed)
    result = train(config, images, run_dir, resume=True, clustering=found)
    digits = result.gan.generate(pretrain.SAMPLES, seed=EVALUATION_SEED)
    scores = class_metrics.evaluate_images(digits, n=pretrain.SAMPLES, seed=EVALUATION_SEED,
                                           value_range=result.gan.value_range)
    style = styles.evaluate_styles(digits, value_range=result.gan.value_range)
    ratios = np.asarray(scores["class_fid"]) / np.asarray(scores["class_fid_floor"])
    print(json.dumps(dict(
        features=arguments.features, seed=arguments.seed, steps=result.steps,
        purity=round(found.purity(labels), 4), fid=round(float(scores["fid"]), 3),
        fid_ratio=round(float(scores["fid_ratio"]), 2), score=round(float(scores["score"]), 3),
        class_ratios=[round(float(r), 2) for r in ratios], ndb=style["ndb"],
        ndb_total=style["ndb_total"], floor_ndb_total=style["floor_ndb_total"],
        jsd_mean=round(float(style["jsd_mean"]), 5),
        lowest_bin_ratio=round(float(min(style["under_drawn_ratio"])), 3),
        lowest_bin_class=int(np.argmin(style["under_drawn_ratio"])),
    )))


if __name__ == "__main__":
    main()
