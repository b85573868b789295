"""``RunConfig``: every setting of a training run in one frozen, validated dataclass.

A run is fully described by its config: the networks (a preset of ``gan_mnist.models`` and its
widths), the images' value range, the noise, the loss, one Adam optimiser per network, the
batch, the number of steps, the seed, and what the run folder keeps (snapshots, checkpoints,
metrics). ``RunConfig.from_preset(name, **overrides)`` starts from a write-up's settings;
``to_dict``/``from_dict`` (and ``to_json``/``from_json``) are the one source of a run folder's
``config.json``; ``differences`` says which settings stop a run from being resumed with another.
"""

import dataclasses
import json
import math
import numbers

from gan_mnist.choices import (
    LABEL_DISTRIBUTIONS, LATENTS, LOSSES, MLP_PRESETS, PRESETS, SMOOTHED_LOSSES,
)

DEFAULT_STEPS_PER_EXECUTION = 200

# The training settings of each preset, from the write-ups.
PRESET_SETTINGS = {
    # "Using GANs to generate MNIST digits": images in [0, 1] (sigmoid output), uniform noise,
    # Adam with TensorFlow's defaults, 100,000 iterations. Its "Goodfellow" loss
    # G_loss = -mean(log D(G(z))) and its "alternative" cross-entropy loss are both the
    # non-saturating loss. The batch size (`mb_size`) is not shown in the text; 128 is the value
    # of the original code.
    "vanilla": dict(
        value_range=(0.0, 1.0), latent="uniform", latent_dim=100, loss="non_saturating",
        label_smoothing=0.0, learning_rate=0.001, beta_1=0.9, batch_size=128, steps=100_000,
    ),
    # The leaky-ReLU MLP write-up: images scaled to [-1, 1], uniform noise in [-1, 1], one-sided
    # label smoothing 0.1, Adam 0.002, batch 100, 500 epochs of 550 batches.
    "leaky": dict(
        value_range=(-1.0, 1.0), latent="uniform", latent_dim=100, loss="non_saturating",
        label_smoothing=0.1, learning_rate=0.002, beta_1=0.9, batch_size=100, steps=275_000,
    ),
    # The DCGAN write-up: Adam with TensorFlow's defaults (its prose suggests 0.0002), batch 16,
    # 3000 iterations, cross-entropy losses with the generator's label 1 (non-saturating).
    # Two bugs of the original are fixed here: it fed [0, 1] images to a discriminator that
    # sees tanh outputs in [-1, 1] (we use [-1, 1] throughout), and it drew its noise with
    # `np.random.normal(-1, 1)`, i.e. mean -1 and standard deviation 1, so the ReLU after the
    # reshape zeroed 84% of it (we draw a standard normal).
    "classic": dict(
        value_range=(-1.0, 1.0), latent="normal", latent_dim=100, loss="non_saturating",
        label_smoothing=0.0, learning_rate=0.001, beta_1=0.9, batch_size=16, steps=3000,
    ),
    # Ours: the DCGAN paper's Adam 2e-4 / beta_1 0.5, batch 64, standard-normal noise; 5000
    # steps (about two minutes of train steps on 2 cores) is our suggestion, not a write-up's.
    "recommended": dict(
        value_range=(-1.0, 1.0), latent="normal", latent_dim=100, loss="non_saturating",
        label_smoothing=0.0, learning_rate=0.0002, beta_1=0.5, batch_size=64, steps=5000,
    ),
}

# What a resumed run must share with the run it continues. The number of steps may change (to
# extend a run), and so may speed options and the intervals of snapshots and checkpoints.
RESUME_KEYS = (
    "preset", "conditional", "clusters", "label_distribution", "ema_decay", "minibatch_std",
    "generator_widths",
    "discriminator_widths", "latent", "latent_dim", "value_range", "loss", "label_smoothing", "d_steps", "gradient_penalty",
    "mode_seeking", "g_learning_rate", "d_learning_rate", "decay_start", "g_beta_1", "d_beta_1", "g_beta_2", "d_beta_2", "batch_size", "seed",
    "snapshot_count", "snapshot_seed",
)
# `from_preset` shortcuts that set one optimiser setting for both networks.
SHARED_OPTIMIZER_KEYS = ("learning_rate", "beta_1", "beta_2")


def _integer(name, value, minimum, optional=False):
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer of at least {minimum}, got {value!r}.")


def _number(name, value, low, high=math.inf, low_open=False, high_open=True):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}.")
    if value < low or (low_open and value == low) or value > high or (high_open and value == high):
        bounds = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be a number in {bounds}, got {value!r}.")


def _choice(name, value, valid):
    if value not in valid:
        raise ValueError(f"Unknown {name} {value!r}. Valid values: {', '.join(map(str, valid))}.")


def _widths(name, value):
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ValueError(f"{name} must be a sequence of positive integers or None, got {value!r}.")
    value = tuple(value)
    for width in value:
        _integer(name, width, 1)
    return tuple(int(width) for width in value)


class Settings:
    """What every run's settings can do (``RunConfig``, ``learner_config``'s configs): copies,
    JSON, and the settings that stop one run from being resumed as another. Subclasses are
    frozen dataclasses that name, in ``resume_keys()``, the settings a resumed run must share.
    """

    def replace(self, **changes):
        """A copy with ``changes`` applied (and validated)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self):
        """The settings as a dict of JSON types (tuples become lists)."""
        return {
            field.name: list(value) if isinstance(value, tuple) else value
            for field in dataclasses.fields(self)
            for value in [getattr(self, field.name)]
        }

    @classmethod
    def from_dict(cls, values):
        """The config of ``to_dict``'s output; unknown keys raise, missing ones take defaults."""
        names = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"Unknown setting(s) {unknown} for {cls.__name__}.")
        return cls(**values)

    def to_json(self):
        """``to_dict`` as indented JSON text."""
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_json(cls, text):
        """The config of ``to_json``'s output."""
        return cls.from_dict(json.loads(text))

    def differences(self, other):
        """``{key: (this value, other value)}`` for every setting of ``resume_keys()`` that
        differs.
        """
        if type(other) is not type(self):
            raise ValueError(f"A {type(self).__name__} is not compared with a "
                             f"{type(other).__name__}: they are runs of different models.")
        mine, theirs = self.to_dict(), other.to_dict()
        return {key: (mine[key], theirs[key]) for key in self.resume_keys()
                if mine[key] != theirs[key]}


@dataclasses.dataclass(frozen=True)
class RunConfig(Settings):
    """Every setting of a training run; see the module docstring. Validated when made.

    Defaults are the recommended DCGAN's. ``generator_widths``/``discriminator_widths`` of
    ``None`` keep the preset's (for an MLP: one hidden width; for a DCGAN: its two filter
    counts). ``conditional`` gives both networks the digit's label (``gan_mnist.conditioning``);
    generated labels are drawn ``label_distribution``: ``"uniform"`` or by the training data's
    class frequencies (``"data"``). ``ema_decay`` keeps an exponential moving average of the
    generator's weights, which then draws every sample, snapshot and score. ``clusters=K``
    makes the run self-conditioned (``gan_mnist.clustering``): the training images are clustered
    into ``K`` groups without their labels, and the networks are conditioned on the cluster ids,
    drawn for generated digits by the clusters' sizes (``label_distribution`` is then unused).
    ``minibatch_std=True`` gives the recommended DCGAN's discriminator a minibatch standard
    deviation channel (``gan_mnist.layers.MinibatchStdDev``), so it can see a batch's variety.
    ``mode_seeking`` weights MSGAN's mode-seeking term on the generator
    (``losses.mode_seeking``; the paper's weight is 1), which pushes different noise towards
    different digits.
    ``decay_start=S`` lowers both learning rates linearly from step ``S`` to zero at the last
    step (``gan_mnist.schedules``); such a run can only be resumed with the same ``steps``.
    ``snapshot_every``/``checkpoint_every`` of ``None`` save only at the start and end of
    training. ``eval_samples`` digits are scored into ``metrics.json`` at the end (0: none).
    """

    # The networks and their images.
    preset: str = "recommended"
    conditional: bool = False
    clusters: int | None = None
    minibatch_std: bool = False
    generator_widths: tuple | None = None
    discriminator_widths: tuple | None = None
    latent: str = "normal"
    latent_dim: int = 100
    value_range: tuple = (-1.0, 1.0)
    # The game.
    loss: str = "non_saturating"
    label_smoothing: float = 0.0
    d_steps: int = 1
    gradient_penalty: float = 0.0
    mode_seeking: float = 0.0
    label_distribution: str = "uniform"
    ema_decay: float | None = None
    # One Adam optimiser per network.
    g_learning_rate: float = 0.0002
    d_learning_rate: float = 0.0002
    g_beta_1: float = 0.5
    d_beta_1: float = 0.5
    g_beta_2: float = 0.999
    d_beta_2: float = 0.999
    decay_start: int | None = None
    # What the run folder keeps.
    snapshot_every: int | None = None
    snapshot_count: int = 16
    snapshot_seed: int = 0
    checkpoint_every: int | None = None
    keep_checkpoints: int = 3
    eval_samples: int = 0
    tensorboard: bool = False
    # How fast, how long and from which seed.
    jit_compile: bool | str = "auto"
    batch_size: int = 64
    steps: int = 5000
    seed: int = 0
    deterministic: bool = True
    steps_per_execution: int = DEFAULT_STEPS_PER_EXECUTION

    def __post_init__(self):
        _choice("preset", self.preset, PRESETS)
        for name in ("generator_widths", "discriminator_widths"):
            object.__setattr__(self, name, _widths(name, getattr(self, name)))
        _choice("latent distribution", self.latent, LATENTS)
        _integer("latent_dim", self.latent_dim, 1)
        try:
            low, high = (float(value) for value in self.value_range)
        except (TypeError, ValueError):
            raise ValueError(
                f"value_range must be a (low, high) pair, got {self.value_range!r}."
            ) from None
        if (low, high) not in ((0.0, 1.0), (-1.0, 1.0)):
            raise ValueError(
                f"value_range must be (0, 1) (sigmoid generators) or (-1, 1) (tanh generators), "
                f"got {self.value_range!r}."
            )
        object.__setattr__(self, "value_range", (low, high))
        _choice("loss", self.loss, LOSSES)
        _number("label_smoothing", self.label_smoothing, 0.0, 1.0)
        if self.label_smoothing and self.loss not in SMOOTHED_LOSSES:
            raise ValueError(
                f"label_smoothing applies to the minimax and non_saturating losses only, not to "
                f"{self.loss}; set it to 0."
            )
        _integer("d_steps", self.d_steps, 1)
        _number("gradient_penalty", self.gradient_penalty, 0.0)
        _number("mode_seeking", self.mode_seeking, 0.0)
        if not isinstance(self.conditional, bool):
            raise ValueError(f"conditional must be True or False, got {self.conditional!r}.")
        if self.conditional and self.preset == "classic":
            raise ValueError("The classic DCGAN has no conditional version; use 'recommended'.")
        _integer("clusters", self.clusters, 2, optional=True)
        if not isinstance(self.minibatch_std, bool):
            raise ValueError(f"minibatch_std must be True or False, got {self.minibatch_std!r}.")
        if self.minibatch_std and self.preset != "recommended":
            raise ValueError("minibatch_std is a layer of the recommended DCGAN's discriminator; "
                             f"the {self.preset!r} preset has none. Use preset='recommended'.")
        if self.clusters is not None and self.conditional:
            raise ValueError(
                "clusters makes a self-conditioned GAN, which learns without labels; it cannot "
                "be conditional on the digits too. Set conditional=False or clusters=None."
            )
        if self.clusters is not None and self.preset == "classic":
            raise ValueError("The classic DCGAN has no conditional version, so it cannot be "
                             "self-conditioned; use 'recommended'.")
        _choice("label_distribution", self.label_distribution, LABEL_DISTRIBUTIONS)
        if self.ema_decay is not None:
            _number("ema_decay", self.ema_decay, 0.0, 1.0, low_open=True)
        for network in ("g", "d"):
            _number(f"{network}_learning_rate", getattr(self, f"{network}_learning_rate"), 0.0,
                    low_open=True)
            _number(f"{network}_beta_1", getattr(self, f"{network}_beta_1"), 0.0, 1.0)
            _number(f"{network}_beta_2", getattr(self, f"{network}_beta_2"), 0.0, 1.0)
        _integer("batch_size", self.batch_size, 1)
        _integer("steps", self.steps, 1)
        _integer("decay_start", self.decay_start, 0, optional=True)
        if self.decay_start is not None and self.decay_start >= self.steps:
            raise ValueError(
                f"decay_start ({self.decay_start}) must be below steps ({self.steps}): the "
                "learning rates fall from step decay_start to zero at the last step."
            )
        _integer("seed", self.seed, 0)
        if not isinstance(self.deterministic, bool):
            raise ValueError(f"deterministic must be True or False, got {self.deterministic!r}.")
        if not (isinstance(self.jit_compile, bool) or self.jit_compile == "auto"):
            raise ValueError(
                f"jit_compile must be True, False or 'auto', got {self.jit_compile!r}."
            )
        if self.jit_compile is True and self.deterministic:
            raise ValueError(
                "jit_compile=True cannot run with deterministic=True (Keras turns XLA off under "
                "op determinism); drop one of them."
            )
        _integer("steps_per_execution", self.steps_per_execution, 1)
        _integer("snapshot_every", self.snapshot_every, 1, optional=True)
        _integer("snapshot_count", self.snapshot_count, 1)
        _integer("snapshot_seed", self.snapshot_seed, 0)
        _integer("checkpoint_every", self.checkpoint_every, 1, optional=True)
        _integer("keep_checkpoints", self.keep_checkpoints, 1)
        _integer("eval_samples", self.eval_samples, 0)
        if not isinstance(self.tensorboard, bool):
            raise ValueError(f"tensorboard must be True or False, got {self.tensorboard!r}.")

    @classmethod
    def from_preset(cls, preset, **overrides):
        """The config of a preset's write-up, with ``overrides`` (any field) applied.

        ``learning_rate``, ``beta_1`` and ``beta_2`` set that Adam setting for both networks.
        A loss without label smoothing drops the preset's smoothing unless it is given.
        """
        _choice("preset", preset, PRESETS)
        settings = dict(PRESET_SETTINGS[preset])
        values = {}
        for key in ("learning_rate", "beta_1"):
            value = settings.pop(key)
            values.update({f"g_{key}": value, f"d_{key}": value})
        values.update(settings)
        for key in SHARED_OPTIMIZER_KEYS:
            if key in overrides:
                value = overrides.pop(key)
                values.update({f"g_{key}": value, f"d_{key}": value})
        loss = overrides.get("loss", values["loss"])
        if "label_smoothing" not in overrides and loss not in SMOOTHED_LOSSES:
            values["label_smoothing"] = 0.0
        unknown = sorted(set(overrides) - {field.name for field in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(f"Unknown setting(s) {unknown} for RunConfig.")
        values.update(overrides)
        return cls(preset=preset, **values)

    @property
    def architecture(self):
        """``"mlp"`` or ``"dcgan"``: the kind of networks of the preset."""
        return "mlp" if self.preset in MLP_PRESETS else "dcgan"

    def resume_keys(self):
        """``RESUME_KEYS``, and with a learning-rate decay the number of steps too: it sets where
        the rates reach zero.
        """
        return RESUME_KEYS + (("steps",) if self.decay_start is not None else ())
