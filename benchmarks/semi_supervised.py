"""The discriminator as a classifier: test errors of a semi-supervised GAN with a few labels,
against the same network trained on those labels alone.

    python benchmarks/semi_supervised.py --labels 100 --minutes 20 --seed 0

``--labels`` training digits (as many of each class, chosen by ``--seed``,
``semi_supervised.labelled_subset``) are the only labels used for training; the other digits of
the 60,000 enter unlabelled. ``gan_mnist.semi_supervised`` trains with the paper's settings (the
MLP discriminator with weight normalisation and Gaussian noise, feature matching, Adam 0.003
with beta_1 0.5, batch 100, D's weight average of 0.999) for ``--minutes`` of training or
``--steps``, whichever comes first; every ``--every`` steps the weight average labels the 10,000
test digits (the curve: test error against training minutes, the scoring not counted in
them; the budget counts it, about a second each time).

The baseline is the same model with the unsupervised loss's weight at 0
(``SemiSupervisedGAN.supervised_step``): the same discriminator, initialisation, noise,
optimiser, labelled batches and weight average, trained on the labelled digits alone for as
many steps as the GAN ran (as many labelled batches as the GAN saw). Op determinism is off
(``--deterministic`` turns it on), so XLA compiles the MLPs. Steps per second go to standard error; the result is one JSON line (``test_error``,
``supervised_error``, the curve; ``budget_minutes_used`` counts the scoring, the curve's minutes
do not).
"""

import argparse
import json
import sys
import time

import numpy as np

import gan_mnist
from gan_mnist import callbacks
from gan_mnist import semi_supervised as ss


class TestErrors(callbacks.EveryNSteps):
    """Every ``every`` steps: the test error of D's weight average, with the training minutes."""

    def __init__(self, every, images, labels):
        super().__init__(every)
        self.images, self.labels, self.rows, self.seconds = images, labels, [], 0.0

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.mark = time.perf_counter()

    def on_interval(self, step):
        self.seconds += time.perf_counter() - self.mark
        error = float(np.mean(self.model.classify(self.images) != self.labels))
        self.rows.append(dict(step=step, minutes=round(self.seconds / 60, 2),
                              test_error=round(error, 4)))
        print(f"step {step:,} after {self.seconds:.0f} s ({step / self.seconds:.1f} steps/s): "
              f"test error {error:.4f}", file=sys.stderr, flush=True)
        self.mark = time.perf_counter()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", type=int, default=100, help="labelled digits (default 100)")
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--every", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--deterministic", action="store_true")
    arguments = parser.parse_args(argv)
    if arguments.steps % arguments.every:
        parser.error("--steps must be a multiple of --every")
    if arguments.labels % 10 or arguments.labels < 10:
        parser.error("--labels must be a multiple of 10 (as many of each digit)")

    images, labels = gan_mnist.load_mnist("train")
    test_images, test_labels = gan_mnist.load_mnist("test")
    chosen = ss.labelled_subset(labels, arguments.labels // 10, arguments.seed)

    gan_mnist.set_seed(arguments.seed, deterministic=arguments.deterministic)
    gan = ss.build(images[chosen], labels[chosen], seed=arguments.seed,
                   initialize_on=images[:500])
    budget = callbacks.TimeBudget(arguments.minutes * 60)
    errors = TestErrors(arguments.every, test_images, test_labels)
    gan.fit(images, batch_size=100, epochs=max(1, arguments.steps // arguments.every),
            steps_per_epoch=arguments.every, callbacks=[budget, errors], verbose=0)
    steps = int(gan.step_counter.numpy())
    test_error = float(np.mean(gan.classify(test_images) != test_labels))
    raw_error = float(np.mean(gan.classify(test_images, raw=True) != test_labels))

    # The baseline: the same model with the unsupervised weight at 0 (SemiSupervisedGAN's
    # supervised_step), from the same seed, for as many steps.
    gan_mnist.set_seed(arguments.seed, deterministic=arguments.deterministic)
    baseline = ss.build(images[chosen], labels[chosen], seed=arguments.seed,
                        initialize_on=images[:500], unsupervised_weight=0.0)
    start = time.perf_counter()
    baseline.fit(images, batch_size=100, epochs=1, steps_per_epoch=steps, verbose=0)
    baseline_seconds = time.perf_counter() - start
    predicted = baseline.classify(test_images)
    print(json.dumps(dict(
        labels=arguments.labels, seed=arguments.seed, steps=steps,
        budget_minutes_used=round(budget.seconds / 60, 2), jit_compile=bool(gan.jit_compile),
        test_error=round(test_error, 4), raw_test_error=round(raw_error, 4),
        supervised_error=round(float(np.mean(predicted != test_labels)), 4),
        supervised_minutes=round(baseline_seconds / 60, 2), curve=errors.rows,
    )))


if __name__ == "__main__":
    main()
