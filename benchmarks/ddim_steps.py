"""The shipped diffusion model at several DDIM step counts: quality against sampling cost.

    python benchmarks/ddim_steps.py --steps 10 25 50 100

For each step count, 10,000 digits (``--samples``) of ``gan_mnist.pretrained("diffusion")`` are
scored as ``benchmarks/families_at_budget.py`` scores them (its ``score``: the evaluator's numbers
against the test set and digits per second, the best of three draws of 1,000 digits after an
untimed one). One JSON line goes to standard output, progress to standard error.
"""

import argparse
import json
import os
import sys

import gan_mnist
from families_at_budget import score


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[10, 25, 50, 100])
    parser.add_argument("--samples", type=int, default=10_000)
    arguments = parser.parse_args(argv)
    model = gan_mnist.pretrained("diffusion")
    result = dict(samples=arguments.samples, load_before=round(os.getloadavg()[0], 2))
    for steps in arguments.steps:
        row = score(lambda n, seed: model.generate(n, seed=seed, steps=steps),
                    model.value_range, arguments.samples)
        result[f"ddim{steps}"] = row
        print(steps, row, file=sys.stderr, flush=True)
    result["load_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
