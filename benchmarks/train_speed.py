"""Training speed: ``GAN.fit`` against a plain ``@tf.function`` loop over the same networks.

Run from the project root (it needs the MNIST files, see the README):

    .venv/bin/python benchmarks/train_speed.py

It times, side by side and in alternating rounds (the best round counts, so that other work on
the machine disturbs the comparison as little as possible):

- the classic MLP GAN ("vanilla" preset, batch 128): milliseconds per iteration;
- the recommended DCGAN at batch 64 and 256: images per second;
- the MLP GAN again with op determinism on (``set_seed(seed)``), which costs XLA;

then prints a table, peak resident memory (of each MLP path alone in a fresh process, and of
the whole benchmark) and one JSON line with every figure. Both paths use the preset's settings
(Adam for both networks) and ``GAN.compile``'s defaults; the plain loop is the usual tutorial
loop: a ``tf.data`` pipeline feeding a compiled step that draws its noise inside the graph.
"""

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from gan_mnist import RunConfig, build_gan, data, losses, models, seeding  # noqa: E402


def plain_loop(preset, images, batch_size):
    """A plain ``@tf.function`` training step and a function running it ``n`` times."""
    config = RunConfig.from_preset(preset)
    generator, discriminator = models.build(preset)
    d_optimizer = keras.optimizers.Adam(config.d_learning_rate, beta_1=config.d_beta_1)
    g_optimizer = keras.optimizers.Adam(config.g_learning_rate, beta_1=config.g_beta_1)
    loss = losses.get(config.loss)
    latent_shape = [batch_size, config.latent_dim]

    def noise():
        if config.latent == "uniform":
            return tf.random.uniform(latent_shape, -1.0, 1.0)
        return tf.random.normal(latent_shape)

    @tf.function
    def step(real):
        with tf.GradientTape() as tape:
            fake = generator(noise(), training=True)
            d_loss = loss.discriminator_loss(
                discriminator(real, training=True), discriminator(fake, training=True)
            )
        weights = discriminator.trainable_weights
        d_optimizer.apply_gradients(zip(tape.gradient(d_loss, weights), weights))
        with tf.GradientTape() as tape:
            fake = generator(noise(), training=True)
            g_loss = loss.generator_loss(discriminator(fake, training=True))
        weights = generator.trainable_weights
        g_optimizer.apply_gradients(zip(tape.gradient(g_loss, weights), weights))
        return d_loss, g_loss

    batches = iter(data.make_dataset(images, batch_size, config.value_range, seed=0))

    def run(steps):
        for _ in range(steps):
            d_loss, _ = step(next(batches))
        float(d_loss)  # Wait for the last step to finish.

    return run


def gan_fit(preset, images, batch_size):
    """The preset's compiled ``GAN`` (``build_gan``) and a function training it ``n`` steps."""
    gan = build_gan(RunConfig.from_preset(preset))

    def run(steps):
        gan.fit(images, batch_size=batch_size, steps_per_epoch=steps, verbose=0)

    return run


def best_seconds_per_step(runs, steps, rounds):
    """Warm every runner up, then time them in alternating rounds; best seconds per step."""
    for run in runs.values():
        run(max(2, steps // 10))
    best = {name: float("inf") for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run(steps)
            best[name] = min(best[name], (time.perf_counter() - start) / steps)
    return best


def peak_memory_mb(path):
    """Peak resident memory of a fresh process training the MLP GAN 500 steps on ``path``."""
    completed = subprocess.run(
        [sys.executable, __file__, "--memory-of", path], capture_output=True, text=True, check=True
    )
    return float(completed.stdout.split()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mlp-steps", type=int, default=1000, help="MLP steps per timed round")
    parser.add_argument(
        "--dcgan-images", type=int, default=4096, help="DCGAN images per timed round"
    )
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per path")
    parser.add_argument("--memory-of", choices=("fit", "plain"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()

    seeding.set_seed(0, deterministic=False)
    images, _ = data.load_mnist("train")
    if arguments.memory_of:
        runner = {"fit": gan_fit, "plain": plain_loop}[arguments.memory_of]
        runner("vanilla", images, 128)(500)
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        return
    results = {"cpu_threads": os.cpu_count()}
    for path in ("fit", "plain"):
        results[f"mlp_b128_{path}_peak_rss_mb"] = peak_memory_mb(path)

    # Each section builds its own runners; they are released before the next one starts so
    # that the peak memory is that of the largest section, not of all of them together.
    def section(runners, steps):
        timings = best_seconds_per_step(runners, steps, arguments.rounds)
        runners.clear()
        gc.collect()
        keras.backend.clear_session()
        return timings

    mlp = section(
        {"fit": gan_fit("vanilla", images, 128), "plain": plain_loop("vanilla", images, 128)},
        arguments.mlp_steps,
    )
    results["mlp_b128_fit_ms"] = 1e3 * mlp["fit"]
    results["mlp_b128_plain_ms"] = 1e3 * mlp["plain"]

    for batch_size in (64, 256):
        dcgan = section(
            {"fit": gan_fit("recommended", images, batch_size),
             "plain": plain_loop("recommended", images, batch_size)},
            max(4, arguments.dcgan_images // batch_size),
        )
        results[f"dcgan_b{batch_size}_fit_images_per_s"] = batch_size / dcgan["fit"]
        results[f"dcgan_b{batch_size}_plain_images_per_s"] = batch_size / dcgan["plain"]

    # Op determinism is process-wide and switches XLA off, so it is measured last.
    seeding.set_seed(0, deterministic=True)
    deterministic = section({"fit": gan_fit("vanilla", images, 128)}, arguments.mlp_steps)
    results["mlp_b128_fit_deterministic_ms"] = 1e3 * deterministic["fit"]
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    rows = [
        ("MLP GAN, batch 128 (ms/iteration)",
         results["mlp_b128_fit_ms"], results["mlp_b128_plain_ms"]),
        *(
            (f"DCGAN recommended, batch {size} (images/s)",
             results[f"dcgan_b{size}_fit_images_per_s"],
             results[f"dcgan_b{size}_plain_images_per_s"])
            for size in (64, 256)
        ),
    ]
    print(f"{'':44} {'GAN.fit':>10} {'plain loop':>11} {'speed-up':>9}")
    for index, (label, fit, plain) in enumerate(rows):
        speed_up = plain / fit if index == 0 else fit / plain
        print(f"{label:44} {fit:10.2f} {plain:11.2f} {speed_up:8.2f}x")
    deterministic_ms = results["mlp_b128_fit_deterministic_ms"]
    print(f"MLP GAN with op determinism on (ms/iteration): {deterministic_ms:.2f}")
    print(
        f"Peak resident memory, MLP GAN alone in a fresh process: GAN.fit "
        f"{results['mlp_b128_fit_peak_rss_mb']:.0f} MB, plain loop "
        f"{results['mlp_b128_plain_peak_rss_mb']:.0f} MB; this whole benchmark "
        f"{results['peak_rss_mb']:.0f} MB"
    )
    print(json.dumps({name: round(value, 3) for name, value in results.items()}))


if __name__ == "__main__":
    main()
