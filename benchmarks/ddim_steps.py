"""The shipped diffusion model at several DDIM step counts: quality against sampling cost.

    python benchmarks/ddim_steps.py --steps 10 25 50 100

For each step count, 10,000 digits (``--samples``) of ``gan_mnist.pretrained("diffusion")`` are
scored with ``metrics.evaluate`` and ``class_metrics.evaluate_classes`` against the test set (FID
over the floor, score, precision, recall, density, coverage, the worst class against its own
floor, the share the evaluator is unsure of), and its digits per second are timed with
``speed.sampling_speed`` (the best of three draws of 1,000 digits after an untimed one). One
JSON line goes to standard output, progress to standard error.
"""

import argparse
import json
import os
import sys

import gan_mnist
from gan_mnist import class_metrics, metrics, speed

KEYS = ("fid", "fid_ratio", "score", "precision", "recall", "density", "coverage",
        "worst_class", "worst_class_ratio", "unsure_share")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[10, 25, 50, 100])
    parser.add_argument("--samples", type=int, default=10_000)
    arguments = parser.parse_args(argv)
    model = gan_mnist.pretrained("diffusion")
    result = dict(samples=arguments.samples, load_before=round(os.getloadavg()[0], 2))
    for steps in arguments.steps:
        digits = model.generate(arguments.samples, seed=0, steps=steps)
        found = metrics.evaluate(digits, n=arguments.samples, value_range=model.value_range)
        found.update(class_metrics.evaluate_classes(digits, n=arguments.samples,
                                                    value_range=model.value_range))
        pace = speed.sampling_speed(lambda count: model.generate(count, seed=1, steps=steps),
                                    n=1000, batch_size=1000)
        row = {key: round(float(found[key]), 4) for key in KEYS}
        row["digits_per_second"] = round(pace.digits_per_second, 1)
        result[f"ddim{steps}"] = row
        print(steps, row, file=sys.stderr, flush=True)
    result["load_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
