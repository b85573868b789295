"""Train the shipped models of the other families (``python tools/pretrain.py diffusion|vae``).

Each is one deterministic run (op determinism on, seed 0) of its recipe in ``RECIPES``, chosen on
the measurements in ``benchmarks/README.md`` (``benchmarks/families_at_budget.py``), trained on
the GANs' engine in the run folder ``runs/pretrained/NAME``. Every ``evaluate_every`` steps the
network that draws (the weight average) is scored with the package's evaluator at n = 10,000 and
a checkpoint is written (``curve.csv``: quality against training time). Run the same command
again after an interruption and it continues from its last checkpoint, exactly. At the end the
network that draws is saved as ``gan_mnist/generators/NAME.keras`` and its record (settings,
steps, training time, versions, the curve and the final scores) as
``gan_mnist/generators/NAME.json``, which ``gan_mnist.pretrained(NAME)`` reads.
"""

import json
import time
from pathlib import Path

import numpy as np

import pretrain
from gan_mnist import class_metrics, families, files
from gan_mnist.backend import keras, tf
from gan_mnist.choices import EVALUATION_SEED
from gan_mnist.config import runs_dir
from gan_mnist.data import load_mnist
from gan_mnist.run import versions
from gan_mnist.seeding import set_seed

# Each trains the shipped GANs' 25,000 steps of 64 digits, chosen on the 5-minute measurements
# in benchmarks/README.md. The diffusion model takes the two changes that each helped alone
# against the lesson's first settings (FID of the weight average 298x the floor): v-prediction
# (207x) and min-SNR weighting with gamma 5 (232x); residual blocks (381x, half the steps), group
# normalisation (541x, a quarter) and a warm-up with a cosine decay (340x) did not help. The VAE
# keeps the lesson's first settings: networks twice as wide scored 129x against 120x.
RECIPES = {
    "diffusion": dict(steps=25_000, prediction="v", min_snr=5.0),
    "vae": dict(steps=25_000),
}
CURVE_COLUMNS = ("step", "train_seconds", "fid", "fid_ratio", "score", "precision", "recall",
                 "worst_class_ratio", "unsure_share")
RECORDED = ("fid", "floor_fid", "fid_ratio", "score", "floor_score", "classes_seen", "class_kl",
            "precision", "floor_precision", "recall", "floor_recall", "density", "floor_density",
            "coverage", "floor_coverage", "worst_class", "worst_class_ratio", "unsure_share",
            "class_fid", "class_fid_floor")


def recipe(name, steps=None):
    """The settings of a shipped model (``steps``: a trial's)."""
    found = dict(RECIPES[name])
    total = steps or found.pop("steps")
    found.pop("steps", None)
    if found.get("decay_steps"):
        found["decay_steps"] = total  # The decay ends with the run, whatever its length.
    return families.settings(name, seed=0, **found), total


def score(model):
    """The evaluator's numbers for ``pretrain.SAMPLES`` digits of the network that draws."""
    digits = model.generate(pretrain.SAMPLES, seed=EVALUATION_SEED)
    return class_metrics.evaluate_images(digits, n=pretrain.SAMPLES,
                                         value_range=model.value_range)


class Curve(keras.callbacks.Callback):
    """At every epoch end (``evaluate_every`` steps): a checkpoint, then a row of scores;
    ``latest`` keeps the newest scores whole (None before the first)."""

    def __init__(self, manager, path, rows):
        super().__init__()
        self.manager, self.path, self.rows = manager, Path(path), rows
        self.latest = None
        self.train_seconds = rows[-1]["train_seconds"] if rows else 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.mark = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.train_seconds += time.perf_counter() - self.mark
        step = int(self.model.step_counter.numpy())
        self.manager.save(checkpoint_number=step)
        found = self.latest = score(self.model)
        row = dict(step=step, train_seconds=round(self.train_seconds, 1))
        row.update((key, round(float(found[key]), 4)) for key in CURVE_COLUMNS[2:])
        self.rows.append(row)
        pretrain.write_curve(self.path, self.rows, CURVE_COLUMNS)
        print(f"step {step:,} after {self.train_seconds:.0f} s: " + ", ".join(
            f"{key} {row[key]}" for key in CURVE_COLUMNS[2:]), flush=True)


def make(name, steps=None, run_dir=None, evaluate_every=5000):
    """Train (or resume) the run of ``name``, then write its ``.keras`` and ``.json``."""
    settings, total = recipe(name, steps)
    if total % evaluate_every:
        raise ValueError(f"steps ({total}) must be a multiple of evaluate_every "
                         f"({evaluate_every}).")
    run_dir = Path(run_dir) if run_dir else runs_dir() / "pretrained" / name
    run_dir.mkdir(parents=True, exist_ok=True)
    set_seed(settings["seed"], deterministic=True)
    model = families.build(settings)
    checkpoint = tf.train.Checkpoint(model=model, optimizer=model.network_optimizer)
    manager = tf.train.CheckpointManager(checkpoint, run_dir / "checkpoints", max_to_keep=2)
    done = 0
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        done = int(model.step_counter.numpy())
    images, _ = load_mnist("train")
    curve = Curve(manager, run_dir / "curve.csv",
                  pretrain.read_curve(run_dir / "curve.csv", done))
    command = f"python tools/pretrain.py {name}" + (f" --steps {steps}" if steps else "")
    if done < total:
        model.fit(images, batch_size=settings["batch_size"], epochs=total // evaluate_every,
                  initial_epoch=done // evaluate_every, steps_per_epoch=evaluate_every,
                  callbacks=[curve], verbose=0)
    # The last row's scores are the final ones (the same digits of the same network); a run
    # that was already finished is scored here.
    final = curve.latest if curve.latest is not None else score(model)
    generators = pretrain.GENERATORS
    generators.mkdir(exist_ok=True)
    weights = generators / f"{name}.keras"
    files.write_atomically(weights, lambda temporary: model.sampler.save(temporary))
    check_saved(model, weights)
    record = dict(
        name=name, command=command, steps=total, settings=settings,
        train_seconds=curve.rows[-1]["train_seconds"] if curve.rows else None,
        versions=versions(), samples=pretrain.SAMPLES, seed=EVALUATION_SEED,
        scores={key: pretrain.json_ready(final[key]) for key in RECORDED if key in final},
        curve=pretrain.json_ready(curve.rows),
    )
    files.write_text(generators / f"{name}.json",
                     json.dumps(record, indent=1, allow_nan=False) + "\n")
    return record


def check_saved(model, path):
    """The saved file loads in safe mode and draws the same digits as the model."""
    from gan_mnist import shipped

    loaded = shipped.load_family(model.settings, path)
    # To 1e-5: the diffusion network's outputs have been seen to move by about 1e-7 between
    # calls of equal weights (tests/test_families.py).
    if not np.allclose(loaded.generate(8, seed=1), model.generate(8, seed=1), atol=1e-5):
        raise RuntimeError(f"{path} does not reproduce the network it was saved from.")
