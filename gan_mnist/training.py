"""``train``: a whole training run in one call, from a ``RunConfig`` (or the config of a GAN of
lesson "What a GAN learns", ``gan_mnist.learner_config``) and the training images."""

from dataclasses import dataclass, field

from gan_mnist import callbacks as callbacks_module
from gan_mnist import checkpoints, clustering, history, learners, seeding
from gan_mnist.backend import tf
from gan_mnist.engine import Trainer
from gan_mnist.gan import build_gan
from gan_mnist.run import Run
from gan_mnist.run_config import RunConfig


@dataclass
class TrainingResult:
    """What ``train`` did: the trained ``gan``, the per-step ``history`` and the run folder.

    ``gan`` is a ``GAN``, or the ``InfoGAN`` or ``SemiSupervisedGAN`` of a learner's config.
    ``history`` is a dict of lists with ``step`` and the model's ``RECORDS`` (a GAN's:
    ``d_loss``, ``g_loss``, ``d_real`` and ``d_fake``); when resuming it covers the whole run,
    read back from the history file.
    ``steps`` is the final step count and ``resumed_from`` the checkpoint step training
    continued from (``None`` for a fresh start). ``run`` is the ``Run`` (``None`` without a run
    folder) and ``outputs`` describes the files written at the end.
    """

    gan: Trainer
    history: dict
    steps: int
    resumed_from: int | None = None
    run: Run | None = None
    outputs: dict = field(default_factory=dict)


def train(config, images, run_dir=None, *, labels=None, resume=False, overwrite=False,
          networks=None, callbacks=None, verbose=0, command=None, clustering=None):
    """Train the GAN of ``config`` (a ``RunConfig``) on ``images``; return a ``TrainingResult``.

    ``images`` are the training digits: uint8 ``(N, 28, 28)`` from ``load_mnist`` (scaled to
    the config's ``value_range``), float images already scaled, or a ``tf.data.Dataset`` of
    batches; a conditional config (``conditional=True``) trains on their ``labels`` too (or a
    dataset of (images, labels) batches). A self-conditioned config (``clusters=K``) takes no
    labels: it clusters the images first (``gan_mnist.clustering``; the clusters are kept in
    the run folder, so a resumed run trains on the same ones), or takes ``clustering``, a
    ``clustering.Clustering`` of these images made another way (from features of an encoder
    trained on the images alone, say; never from labels). The run is seeded with ``gan_mnist.set_seed(config.seed, config.deterministic)``
    before the networks are built (the preset's, or ``networks=(generator, discriminator)``).

    With ``run_dir`` the run goes through ``gan_mnist.Run``: config.json, history.csv, frames
    every ``snapshot_every`` steps, checkpoints every ``checkpoint_every`` steps and at the end,
    then progress.gif, losses.png, samples.png (and metrics.json with ``eval_samples``). A folder
    that is not empty is refused unless ``resume=True`` (continue from its newest checkpoint up
    to ``config.steps``) or ``overwrite=True`` (start it over). ``callbacks`` run after the
    built-in ones and ``verbose`` is Keras' progress bar; ``command`` is recorded in
    config.json. A NaN or infinite loss stops training with ``callbacks.DivergenceError``.

    ``config`` may instead be an ``InfoGANConfig`` (it takes no labels) or a
    ``SemiSupervisedConfig`` (it takes the training images' ``labels`` and keeps
    ``config.labels`` of them; see ``gan_mnist.learners.build``), trained in the same way. Their
    run folders hold no frames: losses.png, samples.png and, with ``eval_samples``, their
    paper's scores in metrics.json (``learners.write_outputs``).
    """
    if not isinstance(config, RunConfig):
        if networks is not None or clustering is not None:
            raise ValueError(f"networks and clustering are a GAN's; the "
                             f"{type(config).__name__} builds its model's own networks.")
        if run_dir is None and (config.checkpoint_every or resume or config.eval_samples):
            raise ValueError("checkpoint_every, eval_samples and resume write to or read from "
                             "a run folder; pass run_dir as well.")
        learners.check_inputs(config, images, labels)
    elif run_dir is None and (config.snapshot_every or config.checkpoint_every or resume
                              or config.tensorboard or config.eval_samples):
        raise ValueError(
            "snapshot_every, checkpoint_every, tensorboard, eval_samples and resume write to "
            "or read from a run folder; pass run_dir as well."
        )
    if isinstance(config, RunConfig) and config.clusters is not None:
        if labels is not None:
            raise ValueError(
                "A self-conditioned run (clusters=K) learns without labels: its clusters stand "
                "in for them. Leave labels out."
            )
        if isinstance(images, tf.data.Dataset):
            raise ValueError("A self-conditioned run clusters its training images first; pass "
                             "them as an array, not a tf.data.Dataset.")
    if clustering is not None and (
            config.clusters is None or clustering.k != config.clusters
            or len(clustering.assignments) != len(images)):
        raise ValueError(
            f"The clustering given holds {clustering.k} clusters of "
            f"{len(clustering.assignments):,} images; the config asks for clusters="
            f"{config.clusters} of the {len(images):,} images given. Make it of these images "
            "with that many clusters."
        )
    data = (images, labels)
    if run_dir is None:
        return _train(config, data, None, None, networks, callbacks, verbose, None, clustering)
    run = Run(run_dir)
    with run.lock():
        stored = run.start(config, resume=resume, overwrite=overwrite)
        return _train(config, data, run, stored, networks, callbacks, verbose, command,
                      clustering)


def _clusters(config, images, run, stored, given=None):
    """The run's clusters: those kept in its folder when resuming, else those ``given``, else
    new ones.
    """
    if run is not None and stored and run.clusters_path.is_file():
        kept = run.clustering()
        if len(kept.assignments) == len(images):
            return kept
        raise ValueError(
            f"{run.clusters_path} holds the clusters of {len(kept.assignments):,} images, but "
            f"{len(images):,} were given; resume with the images the run started with."
        )
    if given is not None:
        return given
    return clustering.cluster_images(images, config.clusters, seed=config.seed)


def _build(config, data, run, stored, networks, given):
    """The untrained model of ``config``, the data it fits on and its clusters (a
    self-conditioned GAN's, else ``None``): ``(model, data, clusters)``.
    """
    if not isinstance(config, RunConfig):
        seeding.set_seed(config.seed, deterministic=config.deterministic)
        model = learners.build(config, *data)
        # Only the images are fit on: the semi-supervised GAN keeps its few labelled digits.
        return model, (data[0], None), None
    found = None
    if config.clusters is not None:
        found = _clusters(config, data[0], run, stored, given)
        data = (data[0], found.assignments)
    seeding.set_seed(config.seed, deterministic=config.deterministic)
    return build_gan(config, networks, found), data, found


def _train(config, data, run, stored, networks, callbacks, verbose, command=None, given=None):
    gan, data, found = _build(config, data, run, stored, networks, given)
    result = TrainingResult(gan=gan, history=gan.step_history, steps=0, run=run)
    try:
        run_callbacks = []
        if run is not None:
            result.resumed_from = run.restore(gan) if stored else None
            run.clear(after_step=result.resumed_from)
            if found is not None:
                found.save(run.clusters_path)
            resumed = [result.resumed_from] if result.resumed_from else []
            earlier = stored.get("resumed_from", []) if stored and resumed else []
            run.write_config(config, command, earlier + resumed)
            run_callbacks = _run_callbacks(run, config, append=result.resumed_from is not None)
        run_callbacks.append(callbacks_module.DivergenceGuard())
        done = int(gan.step_counter.numpy())
        if config.steps > done:
            _fit(gan, data, config, done, run, run_callbacks + list(callbacks or []), verbose)
        result.steps = int(gan.step_counter.numpy())
        if run is not None:
            result.history = run.history()
            result.outputs = (run.write_outputs(gan, config) if isinstance(config, RunConfig)
                              else learners.write_outputs(run, gan, config))
    except OSError as error:
        if run is None:
            raise
        raise RunWriteError(
            f"Could not write to the run folder {run.directory} at step "
            f"{int(gan.step_counter.numpy()):,} ({error.strerror or error}). Training stopped; "
            f"{_resume_hint(run)}"
        ) from None
    return result


class RunWriteError(OSError):
    """A run folder could not be written (a full disk, a read-only folder)."""


def _resume_hint(run):
    last = run.latest_step()
    if last is None:
        return "no checkpoint was saved yet: start the run over once the folder can be written."
    return (f"its last good checkpoint is step {last:,}: free some space, then resume the run "
            "(resume=True, --resume on the command line).")


def _fit(gan, data, config, done, run, callbacks, verbose):
    images, labels = data
    options = dict(steps_per_epoch=config.steps - done, verbose=verbose, callbacks=callbacks)
    if not isinstance(images, tf.data.Dataset):
        options["batch_size"] = config.batch_size
    try:
        gan.fit(images, labels, **options)
    except callbacks_module.DivergenceError as error:
        last = None if run is None else run.latest_step()
        if last is not None:
            raise callbacks_module.DivergenceError(
                f"{error} The last good checkpoint (step {last}) is kept in "
                f"{run.checkpoints_dir}; train with resume=True to continue from it."
            ) from None
        raise
    finally:
        gan.release_images()


def _run_callbacks(run, config, append):
    """The callbacks that write a run folder: history, snapshots, checkpoints, TensorBoard."""
    written = [history.StepHistory(run.history_path, append=append)]
    gan_run = isinstance(config, RunConfig)  # InfoGAN and the semi-supervised GAN keep no frames.
    if gan_run and config.snapshot_every:
        written.append(callbacks_module.Snapshots(
            run.frames_dir, config.snapshot_every, count=config.snapshot_count,
            seed=config.snapshot_seed,
        ))
    written.append(checkpoints.Checkpoints(
        run.checkpoints_dir, config.checkpoint_every, keep=config.keep_checkpoints
    ))
    if gan_run and config.tensorboard:
        written.append(callbacks_module.TensorBoardLogger(
            run.tensorboard_dir, config.snapshot_every or config.steps,
            count=config.snapshot_count, seed=config.snapshot_seed,
        ))
    return written
