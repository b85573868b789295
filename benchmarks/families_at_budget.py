"""The other families at a budget: train a diffusion model (or a VAE) for some wall-clock minutes,
then measure it as the GANs are measured.

    python benchmarks/families_at_budget.py --model diffusion --minutes 5
    python benchmarks/families_at_budget.py --model diffusion --minutes 5 --residual
    python benchmarks/families_at_budget.py --model diffusion --minutes 5 --prediction v
    python benchmarks/families_at_budget.py --model diffusion --minutes 5 --ddim 10 25 50 100
    python benchmarks/families_at_budget.py --model vae --minutes 5 --widths 64 128

Each setting is one change from the recipe of lesson "Where GANs stand" (diffusion: the plain
116k-parameter U-Net predicting the noise, Adam at 1e-3 held constant, batch 64; VAE: 16 latent
numbers, Adam at 1e-3). Both families train on the GANs' engine (``engine.Trainer``: the digits
in memory, ``--steps-per-execution`` steps per compiled call, batches drawn uniformly with
replacement) and every run keeps a weight average beside the network (``--ema-decay``, with
warm-up), so the raw network and its average are both scored: the average is the change "a
weight average" measured inside the same run. The clock (``callbacks.TimeBudget``) starts when
training starts: it covers tracing, not building the networks or clustering. Progress goes to
standard error: steps per second in each quarter of the budget and the slowest call after the
first, which would show a stall.

Then 10,000 digits (``--samples``) of each sampler are scored with
``class_metrics.evaluate_images`` against the test set (FID over the floor, score, precision,
recall, density, coverage, the worst class against its own floor, the share the evaluator is
unsure of), with the digits per second of each sampler; a diffusion model is scored at each
``--ddim`` step count. One JSON line goes to standard output. Op determinism is off: the budget
decides the steps, so the numbers depend on the machine's speed anyway; the load is recorded.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

from gan_mnist import class_metrics, clustering, evaluator, families, speed
from gan_mnist.callbacks import TimeBudget
from gan_mnist.data import load_mnist
from gan_mnist.seeding import set_seed

SAMPLES = 10_000


def build(arguments, images):
    """The compiled model of ``arguments`` (clustering its training images first, if asked)."""
    set_seed(arguments.seed, deterministic=False)
    changes = dict(learning_rate=arguments.learning_rate, warmup=arguments.warmup,
                   decay_steps=arguments.decay_steps, ema_decay=arguments.ema_decay,
                   clusters=arguments.clusters or None, seed=arguments.seed,
                   steps_per_execution=arguments.steps_per_execution)
    if arguments.widths:
        changes["widths"] = arguments.widths
    if arguments.model == "diffusion":
        changes.update(residual=arguments.residual, group_norm=arguments.group_norm,
                       prediction=arguments.prediction, min_snr=arguments.min_snr)
    found = None
    if arguments.clusters:
        found = clustering.cluster_images(images, arguments.clusters, seed=arguments.seed)
    return families.build(families.settings(arguments.model, **changes), clustering=found)


def score(draw, value_range, n=SAMPLES):
    """The evaluator's numbers for ``n`` digits of ``draw`` and its digits per second."""
    found = class_metrics.evaluate_images(draw(n, seed=0), n=n, value_range=value_range)
    pace = speed.sampling_speed(lambda count: draw(count, seed=1), n=1000, batch_size=1000)
    keys = ("fid", "fid_ratio", "score", "precision", "recall", "density", "coverage",
            "worst_class", "worst_class_ratio", "unsure_share")
    result = {key: round(float(found[key]), 4) for key in keys}
    result["digits_per_second"] = round(pace.digits_per_second, 1)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=("diffusion", "vae"), required=True)
    parser.add_argument("--minutes", type=float, required=True, help="training budget")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--warmup", type=int, default=0, help="steps of linear warm-up")
    parser.add_argument("--decay-steps", type=int, default=0,
                        help="cosine decay of the rate to zero at this step (0: constant)")
    parser.add_argument("--ema-decay", type=float, default=0.999)
    parser.add_argument("--clusters", type=int, default=0,
                        help="condition on K k-means clusters of the pixels (no labels)")
    parser.add_argument("--widths", type=int, nargs="+", default=None)
    parser.add_argument("--steps-per-execution", type=int, default=20)
    parser.add_argument("--residual", action="store_true", help="diffusion: residual blocks")
    parser.add_argument("--group-norm", action="store_true",
                        help="diffusion: group normalisation in the residual blocks")
    parser.add_argument("--prediction", choices=("epsilon", "v"), default="epsilon")
    parser.add_argument("--min-snr", type=float, default=None, help="diffusion: min-SNR gamma")
    parser.add_argument("--samples", type=int, default=SAMPLES,
                        help=f"digits scored per sampler (default {SAMPLES:,})")
    parser.add_argument("--ddim", type=int, nargs="+", default=[25],
                        help="diffusion: DDIM step counts to score")
    arguments = parser.parse_args(argv)
    if arguments.minutes <= 0:
        parser.error("--minutes must be above 0")

    evaluator.load_evaluator()  # Fails now, not after the training, when the weights are missing.
    images, _ = load_mnist("train")
    model = build(arguments, images)
    clock = TimeBudget(arguments.minutes * 60)
    load_before = os.getloadavg()[0]
    batch_size = model.settings["batch_size"]
    model.fit(images, batch_size=batch_size, epochs=10**6,
              steps_per_epoch=len(images) // batch_size, callbacks=[clock], verbose=0)
    longest = clock.longest_call() or (float("nan"), 0)
    print(f"{clock.steps:,} steps in {clock.seconds:.1f} s; steps/s by quarter: "
          + ", ".join(f"{rate:.1f}" for rate in clock.pace())
          + f"; slowest call after the first: {longest[0]:.2f} s for {longest[1]} steps",
          file=sys.stderr, flush=True)
    result = dict(vars(arguments), steps=clock.steps, train_seconds=round(clock.seconds, 1),
                  pace=[None if np.isnan(rate) else round(rate, 2) for rate in clock.pace()],
                  slowest_call_seconds=None if np.isnan(longest[0]) else round(longest[0], 2),
                  median_call_seconds=round(float(np.median(np.diff(
                      [0.0] + [seconds for seconds, _ in clock.marks]))), 2),
                  parameters=model.sampler.count_params(),
                  load_before=round(load_before, 2), load_after=round(os.getloadavg()[0], 2))
    for name in ("raw", "average") if model.average is not None else ("raw",):
        raw = name == "raw"
        for steps in arguments.ddim if arguments.model == "diffusion" else (None,):
            key = name if steps is None else f"{name}_ddim{steps}"
            options = dict(raw=raw) if steps is None else dict(raw=raw, steps=steps)
            result[key] = score(lambda n, seed: model.generate(n, seed=seed, **options),
                                model.value_range, arguments.samples)
            print(key, result[key], file=sys.stderr, flush=True)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
