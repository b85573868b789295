"""The settings of a whole run of the two GANs of lesson "What a GAN learns": ``InfoGANConfig``
and ``SemiSupervisedConfig``, frozen and validated as ``RunConfig`` is.

Each names its model in ``model`` ("infogan", "semi_supervised"), which a run folder's
``config.json`` keeps, so ``config_from_dict`` (and ``gan_mnist.Run``) reads back the right one; a
``config.json`` without it is a GAN's ``RunConfig``. ``gan_mnist.train(config, images, run_dir)``
and ``gan-mnist train --model infogan`` (or ``semi-supervised``) train them into run folders
that resume exactly, as the GANs' do (``gan_mnist.learners`` builds, scores and draws them).
The defaults are the models' own (``gan_mnist.infogan`` and ``gan_mnist.semi_supervised``
build them as the papers and their code do, and list where they differ), and the semi-supervised
run stops at 12,000 steps where the paper's code trains 180,000: 8.5 minutes of training in the
benchmark on 2 cores, 10 with the command line's checkpoints (``benchmarks/README.md``). This
module loads neither Keras nor TensorFlow.
"""

import dataclasses

from gan_mnist.choices import LEARNER_MODELS
from gan_mnist.run_config import RunConfig, Settings, _integer, _number, _widths

# Settings that may change when a run is resumed: its length, speed and what it writes.
FREE_KEYS = ("steps", "deterministic", "steps_per_execution", "checkpoint_every",
             "keep_checkpoints", "eval_samples")
CLASSES = 10  # The semi-supervised run labels as many digits of each of the ten classes.
# InfoGAN's Q reads digits through batch norm with each batch's own statistics, which need
# batches of at least this many digits (``infogan.MIN_STATISTICS_BATCH``).
MIN_INFOGAN_SCORED = 32
# Each model's name for people, and for the command line's --model.
NAMES = {"infogan": "InfoGAN", "semi_supervised": "the semi-supervised GAN"}
COMMAND_NAMES = {name.replace("-", "_"): name for name in LEARNER_MODELS}


@dataclasses.dataclass(frozen=True)
class _ModelSettings(Settings):
    """What both configs share: their model's name, the batch and length, the seed, and what
    the run folder keeps; a resumed run must keep every setting but ``FREE_KEYS``.
    """

    model: str = ""
    batch_size: int = 1
    steps: int = 1
    seed: int = 0
    deterministic: bool = True
    steps_per_execution: int = 100
    checkpoint_every: int | None = None
    keep_checkpoints: int = 3
    eval_samples: int = 0

    def _check_common(self, model):
        if self.model != model:
            raise ValueError(f"model must be {model!r} for {type(self).__name__}, got "
                             f"{self.model!r}.")
        _integer("batch_size", self.batch_size, 1)
        _integer("steps", self.steps, 1)
        _integer("seed", self.seed, 0)
        if not isinstance(self.deterministic, bool):
            raise ValueError(f"deterministic must be True or False, got {self.deterministic!r}.")
        _integer("steps_per_execution", self.steps_per_execution, 1)
        _integer("checkpoint_every", self.checkpoint_every, 1, optional=True)
        _integer("keep_checkpoints", self.keep_checkpoints, 1)
        _integer("eval_samples", self.eval_samples, 0)
        if self.eval_samples > 10_000:
            raise ValueError(f"eval_samples scores that many of the 10,000 test digits; got "
                             f"{self.eval_samples:,}.")

    def resume_keys(self):
        """Every setting but ``FREE_KEYS``: the networks, the game, the batch and the seeds."""
        return tuple(field.name for field in dataclasses.fields(self)
                     if field.name not in FREE_KEYS)


@dataclasses.dataclass(frozen=True)
class InfoGANConfig(_ModelSettings):
    """A run of ``gan_mnist.infogan.InfoGAN``; the defaults are the paper's (Chen et al., 2016).

    ``noise_dim``, ``categories`` and ``continuous`` size the generator's input (62 + 10 + 2);
    ``widths`` are the discriminator's two convolutions and dense layer, mirrored by the
    generator (the paper's 64, 128, 1024; the lesson trains half of each); ``leak`` is the
    leaky ReLU's slope and ``init_std`` the initial weights' spread (``None``: Keras' own; the
    paper's code: 0.02, with ``leak`` 0.01); ``info_weight`` is lambda. Adam with beta_1 0.5,
    ``d_learning_rate`` for D and Q, ``g_learning_rate`` for G (``infogan.build``); the paper's
    code trains 5,000 updates of 128 digits. ``eval_samples`` test digits (0, or at least
    ``MIN_INFOGAN_SCORED``) score the categorical code into ``metrics.json`` at the end;
    ``checkpoint_every`` of ``None`` saves at the end only.
    """

    model: str = "infogan"
    batch_size: int = 128
    steps: int = 5000
    noise_dim: int = 62
    categories: int = 10
    continuous: int = 2
    widths: tuple = (64, 128, 1024)
    leak: float = 0.1
    init_std: float | None = None
    info_weight: float = 1.0
    d_learning_rate: float = 2e-4
    g_learning_rate: float = 1e-3

    def __post_init__(self):
        self._check_common("infogan")
        if 0 < self.eval_samples < MIN_INFOGAN_SCORED:
            raise ValueError(f"eval_samples must be 0 or at least {MIN_INFOGAN_SCORED} for "
                             f"InfoGAN (Q reads digits by batch statistics), got "
                             f"{self.eval_samples}.")
        _integer("noise_dim", self.noise_dim, 1)
        _integer("categories", self.categories, 2)
        _integer("continuous", self.continuous, 1)
        widths = _widths("widths", self.widths)
        if widths is None or len(widths) != 3:
            raise ValueError(f"widths must be three sizes (two convolutions and a dense layer, "
                             f"the paper's (64, 128, 1024)), got {self.widths!r}.")
        object.__setattr__(self, "widths", widths)
        _number("leak", self.leak, 0.0, 1.0)
        if self.init_std is not None:
            _number("init_std", self.init_std, 0.0, low_open=True)
        _number("info_weight", self.info_weight, 0.0)
        for name in ("d_learning_rate", "g_learning_rate"):
            _number(name, getattr(self, name), 0.0, low_open=True)


@dataclasses.dataclass(frozen=True)
class SemiSupervisedConfig(_ModelSettings):
    """A run of ``gan_mnist.semi_supervised.SemiSupervisedGAN`` (Salimans et al., 2016), with
    ``semi_supervised.build``'s settings (the paper's code's, and where they differ) and 12,000
    steps.

    ``labels`` training digits, as many of each class (``semi_supervised.labelled_subset``,
    chosen by ``label_seed``; ``None``: by ``seed``), are the only labels it learns from; the
    other training digits enter unlabelled. ``d_widths`` are the discriminator's hidden layers,
    ``g_widths`` the generator's, ``noise_dim`` its input; ``unsupervised_weight`` weighs the
    GAN loss against the labels (0: the same network on the labelled digits alone, the
    baseline); Adam at ``learning_rate`` for both networks; ``ema_decay`` the discriminator's
    weight average, which labels digits; ``initialize_on`` the training digits (the first ones)
    that set the weight-normalised layers' initial scales. ``eval_samples`` test digits score
    the test error into ``metrics.json`` at the end (0: none).
    """

    model: str = "semi_supervised"
    batch_size: int = 100
    steps: int = 12_000
    labels: int = 100
    label_seed: int | None = None
    d_widths: tuple = (1000, 500, 250, 250, 250)
    g_widths: tuple = (500, 500)
    noise_dim: int = 100
    unsupervised_weight: float = 0.5
    learning_rate: float = 0.003
    ema_decay: float = 0.999
    initialize_on: int = 500

    def __post_init__(self):
        self._check_common("semi_supervised")
        _integer("labels", self.labels, CLASSES)
        if self.labels % CLASSES:
            raise ValueError(f"labels must be a multiple of {CLASSES} (as many of each digit), "
                             f"got {self.labels}.")
        _integer("label_seed", self.label_seed, 0, optional=True)
        for name in ("d_widths", "g_widths"):
            widths = _widths(name, getattr(self, name))
            if not widths:
                raise ValueError(f"{name} must hold at least one layer size, got "
                                 f"{getattr(self, name)!r}.")
            object.__setattr__(self, name, widths)
        _integer("noise_dim", self.noise_dim, 1)
        _number("unsupervised_weight", self.unsupervised_weight, 0.0)
        _number("learning_rate", self.learning_rate, 0.0, low_open=True)
        _number("ema_decay", self.ema_decay, 0.0, 1.0, low_open=True)
        _integer("initialize_on", self.initialize_on, 1)

    @property
    def labelled_seed(self):
        """The seed that chooses the labelled digits: ``label_seed``, or else ``seed``."""
        return self.seed if self.label_seed is None else self.label_seed


CONFIGS = {"infogan": InfoGANConfig, "semi_supervised": SemiSupervisedConfig}


def config_from_dict(values):
    """The config of a run folder's settings: ``values["model"]`` picks ``InfoGANConfig`` or
    ``SemiSupervisedConfig``; without a ``model`` it is a GAN's ``RunConfig``.
    """
    if "model" not in values:
        return RunConfig.from_dict(values)
    if values["model"] not in CONFIGS:
        raise ValueError(f"Unknown model {values['model']!r}; this version of gan_mnist trains "
                         f"{', '.join(CONFIGS)} (and GANs, whose settings name no model).")
    return CONFIGS[values["model"]].from_dict(values)
