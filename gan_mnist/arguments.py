"""The ``gan-mnist`` argument parser: every command, option and help text, and one-line errors.

It loads neither Keras nor TensorFlow, so ``--help`` and ``--version`` answer at once.
"""

import argparse
import math

import gan_mnist
from gan_mnist.choices import (
    ARCHITECTURES, EVALUATION_SEED, EVALUATOR_SETTINGS, LABEL_DISTRIBUTIONS, LEARNER_MODELS, LOSSES,
    MAX_SAMPLES, PRESETS, REFERENCES, SAMPLE_COUNT,
)

PROG = "gan-mnist"


def one_line(error):
    """An error message on one line."""
    return " ".join(str(error).split())


class UsageError(ValueError):
    """A bad combination of arguments, reported like argparse's own errors (exit status 2)."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line: the problem and where to find help."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


def _integer(minimum, maximum=None):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f"from {minimum:,} to {maximum:,}" if maximum else f"of at least {minimum}"
            raise argparse.ArgumentTypeError(f"expected an integer {bounds}, got {text}")
        return value

    return parse


def _number(low, high=None, low_inclusive=True, high_inclusive=False):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        too_low = value < low if low_inclusive else value <= low
        too_high = high is not None and (value > high if high_inclusive else value >= high)
        if not math.isfinite(value) or too_low or too_high:
            upper = "inf" if high is None else f"{high:g}"
            opening = "[" if low_inclusive else "("
            closing = "]" if high_inclusive else ")"
            bounds = f"{opening}{low:g}, {upper}{closing}"
            raise argparse.ArgumentTypeError(f"expected a number in {bounds}, got {text}")
        return value

    return parse


def _add_train(commands):
    train = _command(
        commands, "train", "train a GAN into a run folder",
        (
            "Train a GAN on the 60,000 MNIST training digits into a run folder: config.json, "
            "history.csv (one row per step), checkpoints/, frames/, progress.gif, losses.png, "
            "samples.png and metrics.json. Settings left out come from the preset (for "
            "infogan and semi-supervised: from the paper; they keep no frames). Stop it "
            "with Ctrl-C (or kill) and run the same command with --resume to continue."
        ),
    )
    train.add_argument("--model", required=True, choices=(*sorted(ARCHITECTURES), *LEARNER_MODELS),
                       help="mlp: the fully connected GAN; dcgan: the convolutional one; "
                            "infogan: InfoGAN, whose codes find the digits without labels; "
                            "semi-supervised: a GAN whose discriminator learns to classify "
                            "digits from a few labels (lesson \"What a GAN learns\")")
    conditioning = train.add_mutually_exclusive_group()
    conditioning.add_argument("--conditional", action="store_true",
                              help="give both networks the digit's label: digits on demand (not "
                                   "for the classic preset)")
    conditioning.add_argument("--clusters", type=_integer(2), metavar="K",
                              help="self-conditioned: cluster the training digits into K groups "
                                   "(no labels used) and condition both networks on the "
                                   "cluster id, such as 50 (not for the classic preset)")
    train.add_argument("--label-distribution", choices=LABEL_DISTRIBUTIONS, default="uniform",
                       help="how a conditional run draws its generated labels: uniform, or by "
                            "the training digits' class frequencies (default: uniform)")
    train.add_argument("--minibatch-std", action="store_true",
                       help="give the discriminator a minibatch standard deviation channel, so "
                            "it sees how varied a batch is (recommended dcgan only)")
    train.add_argument("--ema-decay", type=_number(0.0, 1.0, low_inclusive=False), metavar="D",
                       help="keep an exponential moving average of the generator's weights "
                            "(such as 0.999), which then draws every sample and score")
    train.add_argument("--preset", choices=PRESETS,
                       help="vanilla or leaky for mlp, classic or recommended for dcgan "
                            "(default: vanilla for mlp, recommended for dcgan)")
    train.add_argument("--loss", choices=LOSSES, help="the GAN loss (default: the preset's)")
    train.add_argument("--label-smoothing", type=_number(0.0, 1.0), metavar="S",
                       help="one-sided label smoothing for the minimax and non_saturating "
                            "losses (default: the preset's)")
    length = train.add_mutually_exclusive_group()
    length.add_argument("--steps", type=_integer(1), metavar="N",
                        help="generator updates in the whole run (default: the preset's)")
    length.add_argument("--epochs", type=_integer(1), metavar="E",
                        help="passes over the training set: E * (60000 // batch size) steps")
    train.add_argument("--batch-size", type=_integer(1), metavar="B",
                       help="digits per step (default: the preset's)")
    train.add_argument("--learning-rate", type=_number(0.0, low_inclusive=False), metavar="LR",
                       help="Adam's learning rate for both networks (default: the preset's)")
    train.add_argument("--decay-start", type=_integer(0), metavar="S",
                       help="from step S, lower both learning rates linearly to zero at the "
                            "last step (default: no decay)")
    train.add_argument("--beta-1", type=_number(0.0, 1.0), metavar="B1",
                       help="Adam's beta_1 (default: the preset's)")
    train.add_argument("--d-steps", type=_integer(1), default=1, metavar="K",
                       help="discriminator updates per generator update (default: 1; 5 for "
                            "WGAN-GP)")
    train.add_argument("--gradient-penalty", type=_number(0.0), default=0.0, metavar="W",
                       help="weight of the WGAN-GP gradient penalty (default: 0; 10 for WGAN-GP)")
    train.add_argument("--mode-seeking", type=_number(0.0), default=0.0, metavar="W",
                       help="weight of MSGAN's mode-seeking term on the generator, which pushes "
                            "different noise towards different digits (default: 0; 1 in MSGAN)")
    train.add_argument("--seed", type=_integer(0), default=0,
                       help="seeds the weights, batches and noise (default: 0)")
    train.add_argument("--run-dir", metavar="DIR",
                       help="the run folder (default: runs/MODEL-PRESET-LOSS-seedSEED; "
                            "runs/infogan[-C1-C2-FC]-seedSEED, "
                            "runs/[semi-]supervised-Llabels[-labelseedS]-seedSEED)")
    start = train.add_mutually_exclusive_group()
    start.add_argument("--resume", action="store_true",
                       help="continue the run in --run-dir from its last checkpoint")
    start.add_argument("--overwrite", action="store_true",
                       help="delete the run in --run-dir and start it over")
    train.add_argument("--snapshot-every", type=_integer(1), metavar="N",
                       help="steps between snapshot frames (default: about 20 per run)")
    train.add_argument("--checkpoint-every", type=_integer(1), metavar="N",
                       help="steps between checkpoints (default: about 10 per run)")
    train.add_argument("--jit", action=argparse.BooleanOptionalAction, default=None,
                       help="compile the train step with XLA (default: for MLPs only, where "
                            "it is faster on a CPU)")
    train.add_argument("--deterministic", action="store_true",
                       help="TensorFlow op determinism: bit-identical repeats, slower and "
                            "without XLA (default: off)")
    train.add_argument("--tensorboard", action="store_true",
                       help="also write TensorBoard logs (metrics and samples) to "
                            "DIR/tensorboard")
    train.add_argument("--eval-samples", type=_integer(0, MAX_SAMPLES),
                       default=MAX_SAMPLES, metavar="N",
                       help="samples scored for metrics.json (default: 10,000; 0: no metrics); "
                            "for infogan and semi-supervised, the test digits scored")
    learner = train.add_argument_group("infogan and semi-supervised")
    learner.add_argument("--info-weight", type=_number(0.0), metavar="W",
                         help="infogan: lambda, the weight of the information term (default: "
                              "1, the paper's)")
    learner.add_argument("--widths", type=_integer(1), nargs=3, metavar=("C1", "C2", "FC"),
                         help="infogan: the discriminator's two convolutions and dense layer, "
                              "mirrored by the generator (default: the paper's 64 128 1024)")
    learner.add_argument("--labels", type=_integer(10), metavar="L",
                         help="semi-supervised: labelled training digits, as many of each "
                              "class (a multiple of 10; default: 100)")
    learner.add_argument("--label-seed", type=_integer(0), metavar="S",
                         help="semi-supervised: seed of which digits are labelled (default: "
                              "--seed)")
    learner.add_argument("--unsupervised-weight", type=_number(0.0), metavar="W",
                         help="semi-supervised: the GAN loss's weight against the labels "
                              "(default: 0.5, the paper's code; 0: the same network on the "
                              "labelled digits alone)")


def _command(commands, name, summary, description):
    """A subcommand's parser, which reports its own errors."""
    command = commands.add_parser(name, help=summary, description=description)
    command.set_defaults(command_parser=command)
    return command


def _seed(command, default, what):
    command.add_argument("--seed", type=_integer(0), default=default,
                         help=f"seed of {what} (default: {default})")


def build_parser():
    parser = Parser(
        prog=PROG,
        description="Train GANs on MNIST, sample from them and score them.",
        epilog=f"Run `{PROG} COMMAND --help` for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {gan_mnist.__version__}")
    parser.add_argument("--verbose", action="store_true",
                        help="show TensorFlow's own log lines (hidden by default)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_train(commands)

    sample = _command(
        commands, "sample", "draw digits from a trained run",
        "Draw digits from the latest checkpoint of a run folder.",
    )
    sample.add_argument("--run-dir", required=True, metavar="DIR", help="a run folder of train")
    sample.add_argument("--n", type=_integer(1), default=SAMPLE_COUNT,
                        help=f"number of digits (default: {SAMPLE_COUNT})")
    _seed(sample, 0, "the latent vectors")
    sample.add_argument("--digit", type=_integer(0, 9), metavar="D",
                        help="for a conditional run: only this digit (default: every digit, "
                             "one row each)")
    sample.add_argument("--cluster", type=_integer(0), metavar="C",
                        help="for a self-conditioned run: only this cluster (default: clusters "
                             "drawn by their sizes)")
    sample.add_argument("--truncation", type=_number(0.0, 1.0, high_inclusive=True), default=1.0,
                        metavar="PSI",
                        help="the truncation trick: shrink the noise towards its mean by PSI; "
                             "smaller values give more typical, less varied digits, 0 one digit "
                             "per label or cluster (default: 1, the noise as drawn)")
    sample.add_argument("--out", required=True, metavar="PATH",
                        help="a .png for a grid of the digits, or .npy for the images themselves")

    evaluate = _command(
        commands, "evaluate", "score a trained run or a .npy of images (JSON on stdout)",
        (
            "Score the latest checkpoint of a run folder, or images saved as a .npy array (uint8, "
            "or floats in [0, 1] or [-1, 1]), with gan_mnist.metrics: Frechet and kernel "
            "distances, classifier score, class coverage, precision, recall, density and "
            "coverage, each with the value real digits get (floor_*), and per-class scores. "
            "A run of infogan or semi-supervised gets its paper's scores on the first N test "
            "digits instead (the categorical code's error, or the test error). Prints JSON."
        ),
    )
    source = evaluate.add_mutually_exclusive_group(required=True)
    source.add_argument("--run-dir", metavar="DIR", help="a run folder of train")
    source.add_argument("--images", metavar="FILE", help="a .npy file of images (N, 28, 28[, 1])")
    evaluate.add_argument("--n", type=_integer(2, MAX_SAMPLES), default=None,
                          help="number of samples (default: 10,000, or all the images up to "
                               "10,000)")
    _seed(evaluate, EVALUATION_SEED, "a run's samples")
    evaluate.add_argument("--reference", choices=REFERENCES, default="test",
                          help="the MNIST split compared against (default: test)")

    data_command = _command(
        commands, "data", "download or verify the MNIST files",
        "Download the MNIST files that are missing and verify their checksums.",
    )
    data_command.add_argument(
        "--dir", default=None, help="data folder (default: $GAN_MNIST_DATA_DIR or data/)"
    )

    trainer = _command(
        commands, "train-evaluator", "train the MNIST classifier behind the metrics",
        (
            "Train the evaluator that gan_mnist.metrics uses (deterministically, a few minutes "
            "on a CPU), check its test accuracy and save it with a JSON record beside it."
        ),
    )
    settings = EVALUATOR_SETTINGS
    trainer.add_argument("--output", required=True, metavar="PATH",
                         help="the .keras file to write; its record goes beside it as .json")
    trainer.add_argument("--force", action="store_true",
                         help="allow --output to replace the evaluator shipped in the package")
    trainer.add_argument("--seed", type=_integer(0), default=settings["seed"],
                         help=f"seeds the weights and the shifts (default: {settings['seed']})")
    trainer.add_argument("--epochs", type=_integer(1), default=settings["epochs"],
                         help=f"passes over the 60,000 digits (default: {settings['epochs']})")
    trainer.add_argument("--batch-size", type=_integer(1), default=settings["batch_size"],
                         metavar="B", help=f"digits per step (default: {settings['batch_size']})")

    export = _command(
        commands, "export", "write a run's generator as a .keras file",
        (
            "Write the generator of a run's latest checkpoint as a .keras file that "
            "keras.saving.load_model(path, safe_mode=True) loads; it maps latent vectors (for "
            "infogan: noise and codes) to images in the run's value range."
        ),
    )
    export.add_argument("--run-dir", required=True, metavar="DIR", help="a run folder of train")
    export.add_argument("--out", required=True, metavar="PATH", help="the .keras file to write")
    return parser
