"""Tuning the recommended DCGAN: train one variant for a wall-clock budget and measure it.

    python benchmarks/dcgan_sweep.py --learning-rate 1e-3 --at 2.5
    python benchmarks/dcgan_sweep.py --kernel-size 3 --discriminator-filters 64,128 --at 2.5
    python benchmarks/dcgan_sweep.py --at 5,10,15

Each option left out keeps the recommended preset's value. At each time in ``--at`` (minutes of
training steps; building, tracing and evaluating are not counted, unlike
``quality_at_budget.py``) 10,000 digits are scored with ``gan_mnist.metrics.evaluate``, from the
generator as trained and from an exponential moving average of its weights (``--ema``, as in
Karras et al., 2018 and Yazici et al., 2019), and one JSON line is printed. The variants and
their numbers are in ``benchmarks/README.md``.
"""

import argparse
import json
import sys
import time

import keras

from gan_mnist import RunConfig, evaluator, losses, metrics, models
from gan_mnist.gan import GAN
from gan_mnist.data import load_mnist
from gan_mnist.seeding import set_seed

SAMPLES = 10_000
CHUNK_SECONDS = 15.0
KEYS = ("fid", "kid", "score", "class_kl", "classes_seen")


class AveragedGAN(GAN):
    """A GAN that also keeps an exponential moving average of its generator's weights."""

    def __init__(self, generator, discriminator, decay, **options):
        super().__init__(generator, discriminator, **options)
        self.decay = decay
        self.averaged_generator = keras.models.clone_model(generator)
        self.averaged_generator.set_weights(generator.get_weights())

    def train_step(self, data):
        logs = super().train_step(data)
        pairs = zip(self.averaged_generator.weights, self.generator.weights)
        for averaged, weight in pairs:
            averaged.assign(self.decay * averaged + (1.0 - self.decay) * weight)
        return logs


def widths(text):
    return tuple(int(width) for width in text.split(","))


def score(generator, seed):
    result = metrics.evaluate(
        generator, n=SAMPLES, seed=seed, latent="normal", value_range=(-1.0, 1.0)
    )
    return {key: round(float(result[key]), 3) for key in KEYS}


def main(argv=None):
    preset = RunConfig.from_preset("recommended")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--at", default="2.5", help="minutes at which to measure, e.g. 5,10,15")
    parser.add_argument("--learning-rate", type=float, default=preset.g_learning_rate)
    parser.add_argument("--discriminator-learning-rate", type=float, default=None,
                        help="default: --learning-rate")
    parser.add_argument("--beta-1", type=float, default=preset.g_beta_1)
    parser.add_argument("--batch-size", type=int, default=preset.batch_size)
    parser.add_argument("--loss", default=preset.loss, choices=losses.NAMES)
    parser.add_argument("--kernel-size", type=int, default=None)
    parser.add_argument("--generator-filters", type=widths, default=None, help="e.g. 64,32")
    parser.add_argument("--discriminator-filters", type=widths, default=None, help="e.g. 32,64")
    parser.add_argument("--ema", type=float, default=0.999, help="decay of the weight average")
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args(argv)
    times = sorted(float(minutes) * 60.0 for minutes in arguments.at.split(","))

    evaluator.load_evaluator()
    set_seed(arguments.seed, deterministic=False)
    images, _ = load_mnist("train")
    generator = models.dcgan_generator(
        filters=arguments.generator_filters, kernel_size=arguments.kernel_size
    )
    discriminator = models.dcgan_discriminator(
        filters=arguments.discriminator_filters, kernel_size=arguments.kernel_size
    )
    gan = AveragedGAN(generator, discriminator, arguments.ema, latent="normal",
                      seed=arguments.seed)
    d_rate = arguments.discriminator_learning_rate or arguments.learning_rate
    gan.compile(
        keras.optimizers.Adam(d_rate, beta_1=arguments.beta_1),
        keras.optimizers.Adam(arguments.learning_rate, beta_1=arguments.beta_1),
        loss=arguments.loss,
    )

    trained, steps, chunk = 0.0, 0, 200
    while times:
        start = time.perf_counter()
        gan.fit(images, batch_size=arguments.batch_size, steps_per_epoch=chunk, verbose=0)
        seconds = time.perf_counter() - start
        trained, steps = trained + seconds, steps + chunk
        print(f"step {steps:,} after {trained:.0f} s", file=sys.stderr)
        if trained >= times[0] - 1.0:
            times.pop(0)
            print(json.dumps(dict(
                options={key: value for key, value in vars(arguments).items() if key != "at"},
                minutes=round(trained / 60.0, 2),
                steps=steps,
                trained=score(gan.generator, arguments.seed),
                averaged=score(gan.averaged_generator, arguments.seed),
            )), flush=True)
        if times:
            chunk = max(1, int(min(times[0] - trained, CHUNK_SECONDS) * chunk / seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
