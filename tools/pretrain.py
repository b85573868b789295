"""Train the generators that ship with the package (``make pretrained``).

    python tools/pretrain.py dcgan
    python tools/pretrain.py conditional_dcgan
    python tools/pretrain.py plain_dcgan
    python tools/pretrain.py diffusion
    python tools/pretrain.py vae

Each is one deterministic run (op determinism on, seed 0) of the recommended DCGAN with an
exponential moving average (EMA) of the generator's weights: self-conditioned on clusters of the
training digits (``dcgan``), conditioned on their labels (``conditional_dcgan``), or neither
(``plain_dcgan``). It trains in the run folder
``runs/pretrained/NAME``. Run the same command again after an interruption and it continues
from its last checkpoint, exactly. Every ``EVALUATE_EVERY`` steps the weight average and the
raw generator are scored with the package's evaluator at n = 10,000 (``curve.csv`` in the run
folder: quality against training time). At the end the average is saved as
``gan_mnist/generators/NAME.keras`` and its record (settings, steps, training time, versions,
the curve, the final scores with the per-class floors' spread over disjoint real sets, and the
style numbers of ``gan_mnist.styles``) as ``gan_mnist/generators/NAME.json``, which
``gan_mnist.pretrained(NAME)`` reads. The diffusion model and the VAE are made by
``tools/pretrain_families.py`` in the same way.
"""

import argparse
import csv
import io
import json
import sys
import time
from pathlib import Path

import numpy as np

from gan_mnist import Run, RunConfig, class_metrics, conditioning, files, styles, train
from gan_mnist.backend import keras
from gan_mnist.callbacks import EveryNSteps
from gan_mnist.choices import EVALUATION_SEED
from gan_mnist.config import runs_dir
from gan_mnist.data import load_mnist
from gan_mnist.run import versions

GENERATORS = Path(__file__).resolve().parent.parent / "gan_mnist" / "generators"
# The self-conditioned recipe, chosen on the measurements in benchmarks/README.md: twice the
# DCGAN paper's learning rate (at 5 minutes, FID 4.4 against 21.0 with 2e-4), 200 clusters (at
# 10,000 steps the worst class 6.3x its floor against 8.6x with 100: a cluster of 7s with a bar
# appears, which the generator then draws), the rate held for 10,000 steps and then lowered
# linearly to zero (with 100 clusters and no decay the scores peaked near 15,000 steps).
# The conditional recipe: the recommended DCGAN with labels at the DCGAN paper's 2e-4, held for
# 10,000 steps and then lowered linearly to zero (the shipped run: FID 2.63 against 3.37 without
# the decay, the worst class 9.4x its floor against 12.1x, styles more even; benchmarks/README.md).
SHIPPED_CLUSTERS = 200
SHIPPED_LEARNING_RATE = 4e-4
SHIPPED_STEPS = 25_000
DECAY_START = 10_000
EVALUATE_EVERY = 5000
SAMPLES = 10_000
RECIPES = {
    "dcgan": dict(clusters=SHIPPED_CLUSTERS, learning_rate=SHIPPED_LEARNING_RATE,
                  steps=SHIPPED_STEPS, decay_start=DECAY_START),
    "conditional_dcgan": dict(conditional=True, steps=25_000, decay_start=DECAY_START),
    "plain_dcgan": dict(conditional=False, steps=20_000),
}
CURVE_COLUMNS = ("step", "train_seconds", "fid", "score", "worst_class_ratio", "label_accuracy",
                 "raw_fid", "raw_score", "raw_worst_class_ratio", "raw_label_accuracy")
# What the evaluation of the average keeps in the shipped record.
RECORDED = ("fid", "floor_fid", "fid_ratio", "score", "floor_score", "classes_seen", "class_kl",
            "precision", "floor_precision", "recall", "floor_recall", "density", "floor_density",
            "coverage", "floor_coverage", "worst_class", "worst_class_ratio",
            "worst_real_class_fid", "class_fid", "class_fid_floor", "worst_recall_class",
            "worst_class_recall", "label_accuracy")


def recipe(name, steps=None, evaluate_every=EVALUATE_EVERY):
    """The ``RunConfig`` of a shipped generator (``steps`` and ``evaluate_every``: a trial's).

    A trial of other length keeps the decay at the same share of its steps.
    """
    settings = dict(RECIPES[name])
    steps = steps or settings["steps"]
    if settings.get("decay_start") is not None:
        settings["decay_start"] = settings["decay_start"] * steps // settings["steps"]
    settings["steps"] = steps
    return RunConfig.from_preset(
        "recommended", ema_decay=0.999, seed=0, deterministic=True, snapshot_every=1000,
        checkpoint_every=evaluate_every, **settings,
    )


class Curve(EveryNSteps):
    """Scores the average and the raw generator every ``every`` steps into ``path`` (CSV)."""

    def __init__(self, every, path, rows):
        super().__init__(every)
        self.path, self.rows = Path(path), rows
        self.train_seconds = rows[-1]["train_seconds"] if rows else 0.0

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.mark = time.perf_counter()

    def on_interval(self, step):
        self.train_seconds += time.perf_counter() - self.mark
        row = dict(step=step, train_seconds=round(self.train_seconds, 1))
        for prefix, raw in (("", False), ("raw_", True)):
            scores = class_metrics.evaluate_gan(self.model, n=SAMPLES, seed=EVALUATION_SEED,
                                                raw=raw)
            for key in ("fid", "score", "worst_class_ratio", "label_accuracy"):
                row[prefix + key] = round(float(scores.get(key, float("nan"))), 4)
        self.rows.append(row)
        write_curve(self.path, self.rows)
        print(f"step {step:,} after {self.train_seconds:.0f} s: " + ", ".join(
            f"{key} {row[key]}" for key in CURVE_COLUMNS[2:]), file=sys.stderr, flush=True)
        self.mark = time.perf_counter()


def read_curve(path, up_to):
    if not Path(path).is_file():
        return []
    with open(path, newline="") as handle:
        rows = [{key: float(value) for key, value in row.items()} for row in csv.DictReader(handle)]
    return [dict(row, step=int(row["step"])) for row in rows if row["step"] <= up_to]


def write_curve(path, rows, columns=CURVE_COLUMNS):
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    files.write_text(path, text.getvalue())


def make(name, steps=None, run_dir=None, evaluate_every=EVALUATE_EVERY):
    """Train (or resume) the run of ``name``, then write its ``.keras`` and ``.json``."""
    config = recipe(name, steps, evaluate_every)
    run_dir = Path(run_dir) if run_dir else runs_dir() / "pretrained" / name
    images, labels = load_mnist("train")
    # On a resume, the curve keeps the rows up to the checkpoint that training continues from.
    done = (Run(run_dir).latest_step() or 0) if run_dir.exists() else 0
    curve = Curve(evaluate_every, run_dir / "curve.csv", read_curve(run_dir / "curve.csv", done))
    command = f"python tools/pretrain.py {name}" + (f" --steps {steps}" if steps else "")
    result = train(config, images, run_dir, labels=labels if config.conditional else None,
                   resume=True, callbacks=[curve], command=command)
    gan = result.gan
    # The digits are drawn once, as class_metrics.evaluate_gan draws them (a conditional GAN's
    # n / 10 of each label), for the scores and the styles; then the per-class floors' spread.
    asked = conditioning.digits_in_rows(SAMPLES) if gan.conditional else None
    digits = gan.generate(SAMPLES, seed=EVALUATION_SEED, labels=asked)
    final = class_metrics.evaluate_images(digits, n=SAMPLES, seed=EVALUATION_SEED, labels=asked,
                                          value_range=gan.value_range)
    style = styles.evaluate_styles(digits, value_range=gan.value_range)
    spread = class_metrics.class_fid_floor_spread(final["class_counts"], n=SAMPLES)
    weights = GENERATORS / f"{name}.keras"
    GENERATORS.mkdir(exist_ok=True)
    files.write_atomically(weights, lambda temporary: gan.sampler.save(temporary))
    check_saved(gan, weights)
    clusters = {}
    if config.clusters:
        # The purity needs the labels: a diagnostic of the record, never an input of the run.
        clustering = result.run.clustering()
        clusters = dict(cluster_frequencies=json_ready(clustering.frequencies),
                        cluster_purity=round(clustering.purity(labels), 4))
    record = dict(
        name=name, command=command, steps=result.steps, **clusters,
        train_seconds=curve.rows[-1]["train_seconds"] if curve.rows else None,
        config=config.to_dict(), versions=versions(), samples=SAMPLES, seed=EVALUATION_SEED,
        scores={key: json_ready(final[key]) for key in RECORDED if key in final},
        class_fid_floor_sets=json_ready([spread[digit] for digit in range(10)]),
        styles=json_ready(style),
        curve=json_ready(curve.rows),
    )
    text = json.dumps(record, indent=1, allow_nan=False)
    files.write_text(GENERATORS / f"{name}.json", text + "\n")
    return record


def check_saved(gan, path):
    """The saved file loads in safe mode and draws the same images as the average."""
    loaded = keras.saving.load_model(path, safe_mode=True, compile=False)
    inputs = gan.sample_latent(8, seed=1)
    if gan.classes:
        inputs = [inputs, np.arange(8, dtype="int32")]
    expected = gan.sampler(inputs, training=False)
    if not np.array_equal(keras.ops.convert_to_numpy(loaded(inputs, training=False)),
                          keras.ops.convert_to_numpy(expected)):
        raise RuntimeError(f"{path} does not reproduce the generator it was saved from.")


def json_ready(value):
    """``value`` for strict JSON: lists for arrays, 5 decimals for floats, ``None`` for NaN."""
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_ready(item) for item in value]
    if isinstance(value, (float, np.floating)):
        return None if np.isnan(value) else round(float(value), 5)
    return value


def main(argv=None):
    import pretrain_families  # The other families' runs (it imports this module).

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", choices=sorted(RECIPES) + sorted(pretrain_families.RECIPES))
    parser.add_argument("--steps", type=int, default=None,
                        help="train this many steps instead of the recipe's (a trial)")
    parser.add_argument("--evaluate-every", type=int, default=EVALUATE_EVERY,
                        help=f"steps between scores and checkpoints (default {EVALUATE_EVERY})")
    parser.add_argument("--run-dir", default=None, help="default runs/pretrained/NAME")
    arguments = parser.parse_args(argv)
    build = pretrain_families.make if arguments.name in pretrain_families.RECIPES else make
    record = build(arguments.name, arguments.steps, arguments.run_dir, arguments.evaluate_every)
    print(json.dumps(record["scores"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
