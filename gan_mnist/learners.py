"""The GANs of lesson "What a GAN learns" as whole runs: built from their configs
(``gan_mnist.learner_config``), scored, drawn, and summed up in a run folder.

``gan_mnist.train`` and ``gan_mnist.Run`` call these for an ``InfoGANConfig`` or a
``SemiSupervisedConfig`` where a GAN's run calls ``build_gan`` and ``Run.write_outputs``; the
training itself (checkpoints, history, resume, stops) is the GANs' own.

- ``build``: the untrained, compiled model of a config. The semi-supervised GAN takes its
  labelled digits from the training set: ``config.labels`` of them, chosen by
  ``config.label_seed``; no other label enters training. InfoGAN takes none.
- ``scores``: how each paper scores its model. InfoGAN: its categorical code as a classifier
  of the test digits (``clustering.matching_error``), and what each continuous code controls in
  generated digits (``infogan.code_correlations``: correlations where the paper shows pictures);
  the semi-supervised GAN: the test error of the discriminator's weight average, and of the
  discriminator itself. Labels only score.
- ``draw``: digits for a grid (InfoGAN: one row per categorical code, the same noise down each
  column).
- ``write_outputs``: losses.png, samples.png and metrics.json of a finished run.
"""

import json
import math

import numpy as np

from gan_mnist import clustering, files, infogan, visualize
from gan_mnist import semi_supervised as ss
from gan_mnist.backend import keras, tf
from gan_mnist.choices import EVALUATION_SEED, SAMPLE_SEED
from gan_mnist.learner_config import CLASSES, NAMES, InfoGANConfig, SemiSupervisedConfig


def check_inputs(config, images, labels):
    """``ValueError`` unless ``images`` and ``labels`` suit ``config`` (see ``build``)."""
    if isinstance(config, InfoGANConfig):
        if labels is not None:
            raise ValueError("InfoGAN learns without labels: its codes find what to mean on "
                             "their own. Leave labels out (they only score it, after).")
        return
    if not isinstance(config, SemiSupervisedConfig):
        raise ValueError(f"Expected an InfoGANConfig or a SemiSupervisedConfig, got "
                         f"{type(config).__name__}.")
    if images is None or labels is None or isinstance(images, tf.data.Dataset):
        raise ValueError("A semi-supervised run takes its labelled digits from the training "
                         "images: pass the images (an array) and their labels (it keeps "
                         f"{config.labels} of the labels).")
    if len(images) != len(labels) or len(images) < config.initialize_on:
        raise ValueError(f"Expected one label per image and at least initialize_on = "
                         f"{config.initialize_on} images; got {len(images):,} images and "
                         f"{len(labels):,} labels.")
    # The labelled digits' choice checks the labels: digits, enough of each class.
    ss.labelled_subset(labels, config.labels // CLASSES, config.labelled_seed)


def build(config, images=None, labels=None):
    """The untrained, compiled model of ``config``; seed first (``gan_mnist.set_seed``).

    A ``SemiSupervisedConfig`` needs the training ``images`` (uint8) and their ``labels``: it
    keeps the labels of ``config.labels`` digits (``semi_supervised.labelled_subset``) and
    initialises its discriminator on the first ``config.initialize_on`` images. InfoGAN takes
    neither (and refuses labels).
    """
    check_inputs(config, images, labels)
    if isinstance(config, InfoGANConfig):
        return infogan.build(config.noise_dim, config.categories, config.continuous,
                             config.widths, config.info_weight, config.d_learning_rate,
                             config.g_learning_rate, config.seed, config.steps_per_execution,
                             config.leak, config.init_std)
    chosen = ss.labelled_subset(labels, config.labels // CLASSES, config.labelled_seed)
    return ss.build(np.asarray(images)[chosen], np.asarray(labels)[chosen], config.d_widths,
                    config.g_widths, config.noise_dim, config.learning_rate,
                    config.unsupervised_weight, config.ema_decay, config.seed,
                    config.steps_per_execution, np.asarray(images)[:config.initialize_on])


def scores(model, config, test_images, test_labels, n=None, seed=EVALUATION_SEED):
    """The paper's scores of ``model`` on the first ``n`` test digits (all by default), a dict
    of JSON types; for InfoGAN also its continuous codes' correlations, measured on digits it
    draws from ``seed`` (see the module).
    """
    n = len(test_images) if n is None else n
    images, labels = test_images[:n], np.asarray(test_labels[:n])
    if isinstance(config, InfoGANConfig):
        ids, _ = model.encode(images)
        error, matching = clustering.matching_error(ids, labels, model.categories, CLASSES)
        return dict(test_digits=n, category_error=round(float(error), 4),
                    matching=[int(digit) for digit in matching],
                    code_correlations=infogan.code_correlations(model, seed=seed))
    return dict(test_digits=n,
                test_error=round(float(np.mean(model.classify(images) != labels)), 4),
                raw_test_error=round(float(np.mean(model.classify(images, raw=True) != labels)),
                                     4))


def draw(model, n, seed=SAMPLE_SEED):
    """``(images, rows)``: ``n`` digits in [0, 1] and the rows of their grid. InfoGAN's come
    in one row per categorical code, the same noise vectors in every row (the continuous codes
    at 0), the last row cut short when ``n`` is not a multiple of the codes; the
    semi-supervised GAN's from uniform noise (its training's), in a square.
    """
    if isinstance(model, infogan.InfoGAN):
        per_code = math.ceil(n / model.categories)
        zeros = np.zeros(model.continuous, np.float32)
        rows = [model.generate(per_code, seed, categories=code, continuous=zeros)
                for code in range(model.categories)]
        return np.concatenate(rows)[:n], math.ceil(n / per_code)
    noise = np.random.default_rng(seed).uniform(size=(n, model.noise_dim)).astype(np.float32)
    images = keras.ops.convert_to_numpy(model.generator(noise, training=False))
    return images, math.ceil(n / math.ceil(math.sqrt(n)))


def write_outputs(run, model, config):
    """Write losses.png, samples.png and (with ``config.eval_samples``) metrics.json into
    ``run``; describe each.
    """
    step = int(model.step_counter.numpy())
    name = NAMES[config.model]
    if isinstance(config, SemiSupervisedConfig) and not config.unsupervised_weight:
        name = f"{name}'s network on the {config.labels} labelled digits alone"
    name = name[0].upper() + name[1:]  # A title.
    written = {}
    # InfoGAN's GAN losses are the non-saturating ones (the dashed lines: their values at
    # D = 1/2); the semi-supervised GAN's are not (labels, feature matching): no lines.
    loss = "non_saturating" if isinstance(config, InfoGANConfig) else None
    figure = visualize.plot_losses(run.history_path, loss=loss, title=f"{name}, {step:,} steps")
    files.write_atomically(
        run.losses_path, lambda temporary: figure.savefig(temporary, format="png", dpi=100))
    written["losses.png"] = "loss curves"
    count = 100 if isinstance(config, InfoGANConfig) else 64
    images, rows = draw(model, count)
    visualize.save_grid(images, run.samples_path, rows=rows, cols=math.ceil(count / rows),
                        title=f"{name}, step {step:,}", value_range=(0.0, 1.0))
    written["samples.png"] = (f"{count} digits, one row per categorical code, one noise "
                              "vector per column"
                              if isinstance(config, InfoGANConfig) else f"{count} digits")
    if config.eval_samples:
        from gan_mnist import data

        test_images, test_labels = data.load_mnist("test")
        found = scores(model, config, test_images, test_labels, config.eval_samples)
        files.write_text(run.metrics_path, json.dumps(dict(step=step, **found), indent=2) + "\n")
        written["metrics.json"] = summary(found)
    return written


def summary(found):
    """``scores``' result in one line."""
    if "category_error" in found:
        slants = ", ".join(f"{code} {r['slant']:+.2f}"
                           for code, r in found["code_correlations"].items())
        return (f"categorical code {found['category_error']:.1%} wrong on "
                f"{found['test_digits']:,} test digits (the paper: 5%); correlation with "
                f"slant: {slants}")
    return (f"test error {found['test_error']:.2%} on {found['test_digits']:,} test digits "
            f"(the discriminator itself: {found['raw_test_error']:.2%}; the paper: 0.93%)")
