"""From the ``train`` command's arguments to a run's config and folder (``resolve_config``).

A GAN (``--model mlp`` or ``dcgan``) gets a ``RunConfig`` whose preset fills the settings left
out; InfoGAN and the semi-supervised GAN (``--model infogan``, ``semi-supervised``) get their
``learner_config`` config, with the papers' settings. Each refuses the options of the others in
one line. It loads neither Keras nor TensorFlow.
"""

import math
from pathlib import Path

from gan_mnist import learner_config, run_config
from gan_mnist.arguments import UsageError
from gan_mnist.choices import ARCHITECTURES as MODELS
from gan_mnist.choices import SMOOTHED_LOSSES

DEFAULT_PRESETS = {"mlp": "vanilla", "dcgan": "recommended"}
TRAINING_IMAGES = 60_000
# Without --snapshot-every / --checkpoint-every a run takes about 20 snapshots and 10
# checkpoints, at round intervals (1, 2 or 5 times a power of ten).
SNAPSHOTS_PER_RUN = 20
CHECKPOINTS_PER_RUN = 10
# The GANs' own options and their values when not given: InfoGAN and the semi-supervised GAN
# refuse them (a value equal to the default passes unseen).
GAN_OPTIONS = dict(
    conditional=False, clusters=None, label_distribution="uniform", minibatch_std=False,
    ema_decay=None, preset=None, loss=None, label_smoothing=None, decay_start=None,
    beta_1=None, d_steps=1, gradient_penalty=0.0, mode_seeking=0.0, snapshot_every=None,
    jit=None, tensorboard=False,
)
# The options of InfoGAN and of the semi-supervised GAN (None when not given), which every other
# model refuses. --learning-rate is the GANs' and the semi-supervised GAN's; InfoGAN refuses it
# (its two rates are InfoGANConfig's d_learning_rate and g_learning_rate).
MODEL_OPTIONS = dict(
    infogan=("info_weight", "widths"),
    semi_supervised=("labels", "label_seed", "unsupervised_weight"),
)


def round_interval(value):
    """The largest of 1, 2, 5, 10, 20, 50, ... that is at most ``value`` (at least 1)."""
    if value < 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return max(factor * power for factor in (1, 2, 5) if factor * power <= value)


def _option(dest):
    return "--jit/--no-jit" if dest == "jit" else f"--{dest.replace('_', '-')}"


def _refuse_others(arguments, model):
    """A ``UsageError`` for the first option given that ``model`` does not take."""
    name = model.replace("-", "_")
    own = MODEL_OPTIONS.get(name, ())
    refused = [dest for options in MODEL_OPTIONS.values() for dest in options
               if dest not in own and getattr(arguments, dest) is not None]
    if name in MODEL_OPTIONS:
        refused = [dest for dest, unset in GAN_OPTIONS.items()
                   if getattr(arguments, dest) != unset] + refused
    if name == "infogan" and arguments.learning_rate is not None:
        refused.insert(0, "learning_rate")
    if refused:
        config = learner_config.CONFIGS.get(name)
        hint = (f"its other settings are its paper's; change them in gan_mnist.{config.__name__}"
                if name in MODEL_OPTIONS else "it is an option of infogan or semi-supervised")
        raise UsageError(f"argument {_option(refused[0])}: --model {model} does not take it "
                         f"({hint})")


def _steps(arguments, batch_size, default):
    if arguments.steps is not None:
        return arguments.steps
    if arguments.epochs is not None:
        return arguments.epochs * (TRAINING_IMAGES // batch_size)
    return default


def _resolve_learner(arguments):
    """The config and run folder of ``train --model infogan`` or ``semi-supervised``."""
    _refuse_others(arguments, arguments.model)
    if arguments.model == "infogan":
        kind, defaults = learner_config.InfoGANConfig, learner_config.InfoGANConfig()
        given = dict(info_weight=arguments.info_weight, widths=arguments.widths)
    else:
        kind, defaults = learner_config.SemiSupervisedConfig, learner_config.SemiSupervisedConfig()
        given = dict(labels=arguments.labels, unsupervised_weight=arguments.unsupervised_weight,
                     learning_rate=arguments.learning_rate, label_seed=arguments.label_seed)
        if arguments.labels is not None and arguments.labels % learner_config.CLASSES:
            raise UsageError(f"argument --labels: a multiple of {learner_config.CLASSES} (as "
                             f"many of each digit), got {arguments.labels}")
    batch_size = arguments.batch_size or defaults.batch_size
    if batch_size > TRAINING_IMAGES:
        raise UsageError(f"argument --batch-size: at most {TRAINING_IMAGES:,} (the training "
                         f"set), got {batch_size:,}")
    steps = _steps(arguments, batch_size, defaults.steps)
    config = kind(
        **{key: value for key, value in given.items() if value is not None},
        batch_size=batch_size, steps=steps, seed=arguments.seed,
        deterministic=arguments.deterministic,
        checkpoint_every=(
            arguments.checkpoint_every or round_interval(steps / CHECKPOINTS_PER_RUN)
        ),
        eval_samples=arguments.eval_samples,
    )
    # The default folder names what sets the run apart: widths other than the paper's, the
    # labels alone, another label seed.
    if arguments.model == "infogan":
        paper = config.widths == learner_config.InfoGANConfig().widths
        widths = "" if paper else "-" + "-".join(map(str, config.widths))
        name = f"infogan{widths}-seed{config.seed}"
    else:
        alone = "supervised" if config.unsupervised_weight == 0 else "semi-supervised"
        labelled = ("" if config.label_seed is None
                    else f"-labelseed{config.label_seed}")
        name = f"{alone}-{config.labels}labels{labelled}-seed{config.seed}"
    return config, Path(arguments.run_dir or Path("runs") / name)


def resolve_config(arguments):
    """The config and run folder of a ``train`` command: a GAN's ``RunConfig`` (the preset
    fills the gaps), or the ``InfoGANConfig`` or ``SemiSupervisedConfig`` of ``--model
    infogan`` or ``semi-supervised`` (the paper's settings fill them).
    """
    model = arguments.model
    if model not in MODELS:
        return _resolve_learner(arguments)
    _refuse_others(arguments, model)
    preset = arguments.preset or DEFAULT_PRESETS[model]
    if preset not in MODELS[model]:
        raise UsageError(
            f"argument --preset: {preset!r} is not a preset of --model {model}; "
            f"choose from {', '.join(MODELS[model])}"
        )
    defaults = run_config.PRESET_SETTINGS[preset]
    loss = arguments.loss or defaults["loss"]
    if arguments.label_smoothing and loss not in SMOOTHED_LOSSES:
        raise UsageError(
            f"argument --label-smoothing: only the minimax and non_saturating losses smooth "
            f"labels, not --loss {loss}"
        )
    batch_size = arguments.batch_size or defaults["batch_size"]
    if batch_size > TRAINING_IMAGES:
        raise UsageError(
            f"argument --batch-size: at most {TRAINING_IMAGES:,} (the training set), "
            f"got {batch_size:,}"
        )
    if arguments.jit and arguments.deterministic:
        raise UsageError(
            "argument --jit: XLA cannot run with --deterministic (Keras turns it off under "
            "op determinism); drop one of them"
        )
    steps = _steps(arguments, batch_size, defaults["steps"])
    if arguments.decay_start is not None and arguments.decay_start >= steps:
        raise UsageError(f"argument --decay-start: must be below the run's {steps:,} steps")
    given = dict(
        loss=arguments.loss, label_smoothing=arguments.label_smoothing,
        learning_rate=arguments.learning_rate, beta_1=arguments.beta_1,
        jit_compile=arguments.jit,
    )
    if arguments.conditional and preset == "classic":
        raise UsageError("argument --conditional: the classic DCGAN has no conditional version")
    if arguments.clusters and preset == "classic":
        raise UsageError("argument --clusters: the classic DCGAN has no conditional version")
    config = run_config.RunConfig.from_preset(
        preset, **{key: value for key, value in given.items() if value is not None},
        conditional=arguments.conditional, clusters=arguments.clusters,
        ema_decay=arguments.ema_decay, decay_start=arguments.decay_start,
        minibatch_std=arguments.minibatch_std,
        label_distribution=arguments.label_distribution,
        batch_size=batch_size, steps=steps, d_steps=arguments.d_steps,
        gradient_penalty=arguments.gradient_penalty, mode_seeking=arguments.mode_seeking,
        seed=arguments.seed,
        deterministic=arguments.deterministic,
        snapshot_every=arguments.snapshot_every or round_interval(steps / SNAPSHOTS_PER_RUN),
        checkpoint_every=(
            arguments.checkpoint_every or round_interval(steps / CHECKPOINTS_PER_RUN)
        ),
        eval_samples=arguments.eval_samples, tensorboard=arguments.tensorboard,
    )
    kind = f"conditional-{model}" if config.conditional else model
    if config.clusters:
        kind = f"clusters{config.clusters}-{model}"
    run_dir = arguments.run_dir or str(Path("runs") / f"{kind}-{preset}-{loss}-seed{config.seed}")
    return config, Path(run_dir)


def describe(config):
    """What a run trains, for its first line."""
    name = learner_config.NAMES.get(getattr(config, "model", None))
    if isinstance(config, learner_config.InfoGANConfig):
        return f"{name} (widths {' '.join(map(str, config.widths))}, lambda {config.info_weight:g})"
    if isinstance(config, learner_config.SemiSupervisedConfig):
        if config.unsupervised_weight == 0:
            return f"{name}'s network on its {config.labels} labelled digits alone"
        return f"{name} ({config.labels} labels)"
    kind = "conditional " * config.conditional
    if config.clusters:
        kind = f"self-conditioned ({config.clusters} clusters) "
    return f"{kind}{config.architecture} (preset {config.preset}, loss {config.loss})"


def takes_labels(config):
    """Whether a run takes the training labels: a conditional GAN's, or the semi-supervised
    GAN's (which keeps ``config.labels`` of them).
    """
    if isinstance(config, learner_config.SemiSupervisedConfig):
        return True
    return isinstance(config, run_config.RunConfig) and config.conditional
