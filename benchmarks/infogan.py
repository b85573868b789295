"""InfoGAN's categorical code as a classifier, and what its continuous codes control.

    python benchmarks/infogan.py --minutes 20 --seed 0
    python benchmarks/infogan.py --steps 5000 --widths 32 64 512 --seed 1
    python benchmarks/infogan.py --steps 5000 --widths 32 64 512 --leak 0.01 --init-std 0.02

Trains ``gan_mnist.infogan`` (the paper's settings: lambda 1, Adam 2e-4 for D and Q and 1e-3 for
G with beta_1 0.5, batch 128) on the 60,000 training images, without their labels, for
``--steps`` updates (the paper's code: 5,000) or until ``--minutes`` of training have passed,
whichever comes first (``--leak 0.01 --init-std 0.02``: the slope and initial weights of the
paper's code, openai/InfoGAN, where they differ from its text and from Keras). Then, on the
10,000 test digits, with their labels used only to score:

- ``category_error``: each digit's categorical code as Q reads it (batch norm on each batch of
  1,000 test digits' own statistics, as the paper's code; ``category_error_moving_statistics``
  with Keras' moving averages instead), the codes matched one to one
  to the digits by the Hungarian method on the contingency table (``clustering.matching_error``),
  the share of digits on the wrong side (the paper: 5%, from one run);
- ``kmeans_error``: the same score for lesson "Digits without labels"' clusters, k-means with
  K = 10 on 50 principal components of the training pixels (``clustering.cluster_images``), the
  test digits assigned to their nearest centre;
- ``confusions``: each code's two most common digits and their shares (a code that mixes 4s and
  9s shows here);
- ``correlations``: each continuous code swept from -2 to 2 (9 values) with the noise and the
  other codes fixed, on 200 noise vectors and every category: its Pearson correlation with the
  slant and the width of the digits drawn (``infogan.code_correlations``).

Steps per second go to standard error as training runs; the result is one JSON line.
"""

import argparse
import json
import sys
import time

import numpy as np

import gan_mnist
from gan_mnist import callbacks, checkpoints, clustering, infogan

def confusions(ids, labels, groups):
    """Each code's two most common digits with their shares of the code's digits."""
    table = clustering.contingency(ids, labels, groups=groups, classes=10)
    rows = []
    for code, counts in enumerate(table):
        top = np.argsort(counts)[::-1][:2]
        share = counts / max(counts.sum(), 1)
        rows.append([code, int(counts.sum())]
                    + [[int(digit), round(float(share[digit]), 3)] for digit in top])
    return rows


class Pace(callbacks.EveryNSteps):
    """Prints the steps per second of every ``every`` steps to standard error."""

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.mark = time.perf_counter()

    def on_interval(self, step):
        now = time.perf_counter()
        print(f"step {step:,}: {self.step_interval / (now - self.mark):.2f} steps/s",
              file=sys.stderr, flush=True)
        self.mark = now


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=20.0,
                        help="stop training after this many minutes (default 20)")
    parser.add_argument("--steps", type=int, default=5000,
                        help="the most updates (default 5,000, the paper's code)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--widths", type=int, nargs=3, default=list(infogan.WIDTHS),
                        help="D's two convolutions and dense layer, G mirroring them "
                             f"(default {' '.join(map(str, infogan.WIDTHS))}, the paper's)")
    parser.add_argument("--leak", type=float, default=infogan.LEAK,
                        help=f"the leaky ReLU's slope (default {infogan.LEAK}, the paper's; its "
                             f"code: {infogan.PAPER_CODE['leak']})")
    parser.add_argument("--init-std", type=float, default=None,
                        help="initial weights from N(0, this) as the paper's code "
                             f"({infogan.PAPER_CODE['init_std']}); default: Keras' own")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--save", default=None,
                        help="write the trained networks to this checkpoint prefix")
    arguments = parser.parse_args(argv)
    if arguments.minutes <= 0 or arguments.steps < 100 or arguments.steps % 100:
        parser.error("--minutes must be positive and --steps a multiple of 100")

    images, _ = gan_mnist.load_mnist("train")
    test_images, test_labels = gan_mnist.load_mnist("test")
    gan_mnist.set_seed(arguments.seed)
    gan = infogan.build(widths=tuple(arguments.widths), seed=arguments.seed,
                        leak=arguments.leak, init_std=arguments.init_std)
    budget = callbacks.TimeBudget(arguments.minutes * 60)
    gan.fit(images, batch_size=arguments.batch_size, epochs=arguments.steps // 100,
            steps_per_epoch=100, callbacks=[budget, Pace(500)], verbose=0)
    steps = int(gan.step_counter.numpy())

    if arguments.save:
        checkpoints.make_checkpoint(gan).save(arguments.save)
    codes, _ = gan.encode(test_images)
    error, matching = clustering.matching_error(codes, test_labels, gan.categories, 10)
    moving_error, _ = clustering.matching_error(
        gan.encode(test_images, batch_statistics=False)[0], test_labels, gan.categories, 10)
    kmeans = clustering.cluster_images(images, 10, seed=arguments.seed)
    kmeans_error, _ = clustering.matching_error(kmeans.assign(test_images), test_labels, 10, 10)
    result = dict(
        seed=arguments.seed, steps=steps, train_seconds=round(budget.seconds, 1),
        steps_per_second=round(steps / budget.seconds, 2), widths=arguments.widths,
        batch_size=arguments.batch_size, leak=arguments.leak, init_std=arguments.init_std,
        category_error=round(error, 4),
        category_error_moving_statistics=round(moving_error, 4),
        kmeans_error=round(kmeans_error, 4), matching=matching.tolist(),
        confusions=confusions(codes, test_labels, gan.categories),
        correlations={code: {key: round(r, 3) for key, r in found.items()} for code, found
                      in infogan.code_correlations(gan, arguments.seed).items()},
    )
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
