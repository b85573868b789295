"""Training: a Keras ``GAN`` model with a compiled train step, and the one-call ``train`` helper.

``GAN`` follows the classic write-ups' loop (Goodfellow et al., 2014; "Using GANs to generate
MNIST digits"): each iteration takes a batch of real digits, updates the discriminator on it and
on generated digits, then updates the generator, drawing fresh noise for each update. Being a
``keras.Model``, it gets ``fit()``'s progress bar, callbacks, ``steps_per_execution`` and XLA.

What makes it fast on a CPU: the training images live in memory on the device and every batch
is gathered inside the compiled graph, the noise is drawn inside the graph too, many steps run
per call from Python (``steps_per_execution``), and XLA compiles the step when op determinism is
off. What makes it reproducible: every random number of step ``s`` comes from counter-based
(stateless) random ops keyed by the GAN's seed and ``s``, so a run restored from a checkpoint at
step ``s`` draws exactly the numbers an uninterrupted run would draw.
"""

import math
import shutil
import zlib
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from gan_mnist import callbacks as callbacks_module
from gan_mnist import data, losses, models, seeding

RECORD_NAMES = ("d_loss", "g_loss", "d_real", "d_fake")
LATENTS = ("uniform", "normal")
DEFAULT_BATCH_SIZE = 64
# On a CPU, XLA halves the time of an MLP step but makes a compiled loop of convolution steps
# about ten times slower, so "auto" uses it for networks without convolutions only.
_CONVOLUTIONS = (
    keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D,
    keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose, keras.layers.Conv3DTranspose,
    keras.layers.DepthwiseConv1D, keras.layers.DepthwiseConv2D,
    keras.layers.SeparableConv1D, keras.layers.SeparableConv2D,
)
# Keras' fit costs about 0.37 ms per call from Python; 200 steps per call make it ~0.002 ms a step.
DEFAULT_STEPS_PER_EXECUTION = 200


def _check_integer(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer of at least {minimum}, got {value!r}.")
    return int(value)


def _check_model(name, model):
    if not isinstance(model, keras.Model):
        raise ValueError(f"{name} must be a keras.Model, got {type(model).__name__}.")
    try:
        return tuple(model.input_shape), tuple(model.output_shape)
    except (AttributeError, ValueError):
        raise ValueError(
            f"The {name} has no known input shape yet. Build it with an Input layer (the "
            "gan_mnist.models builders do) or call it once on a batch before making a GAN."
        ) from None


def _optimizer(name, value):
    if value is None:
        return keras.optimizers.Adam()
    try:
        return keras.optimizers.get(value)
    except ValueError:
        raise ValueError(
            f"{name} must be a keras.optimizers.Optimizer or the name of one (such as 'adam'), "
            f"got {value!r}."
        ) from None


def _has_convolutions(model):
    """Whether a model (or a model nested in it) has convolution layers."""
    return any(
        isinstance(layer, _CONVOLUTIONS)
        or (isinstance(layer, keras.Model) and _has_convolutions(layer))
        for layer in model.layers
    )


def _largest_divisor(number, limit):
    """The largest divisor of ``number`` that is at most ``limit``."""
    return next(size for size in range(min(number, limit), 0, -1) if number % size == 0)


class _RunState:
    """Training-time variables kept out of the GAN's weights and checkpoints.

    A plain object, so Keras and ``tf.train.Checkpoint`` do not track what it holds: the
    training images (kept in memory on the device) and the per-step record buffer.
    """

    def __init__(self):
        self.images = None
        self.fingerprint = None
        self.records = None
        self.signature = None
        self.read_step = 0
        self.latest = []
        self.plan = iter(())


class _ReadSteps(keras.callbacks.Callback):
    """Copies each execution's per-step records to the host, before any other callback runs."""

    def on_train_batch_end(self, batch, logs=None):
        self.model.latest_steps()


class GAN(keras.Model):
    """A generator and a discriminator trained together with ``fit()``.

    ``latent_dim`` defaults to the generator's input size (a different value raises
    ``ValueError``); ``latent`` is ``"uniform"`` (in [-1, 1], as in the MLP write-ups) or
    ``"normal"`` (standard normal, as in DCGAN). ``seed`` keys the noise and batch sampling
    of every step; ``None`` draws it from NumPy's global generator, which
    ``gan_mnist.set_seed`` seeds.

    Calling the GAN on latent vectors runs the generator. ``step_counter`` counts training
    steps; ``step_history`` holds the per-step metrics of every step run in this process.
    To train on several devices, build and compile the GAN (and its networks) inside
    ``tf.distribute.MirroredStrategy().scope()``; the batch size stays the global one and the
    losses match a single-device run up to float rounding.
    """

    def __init__(self, generator, discriminator, latent_dim=None, latent="uniform", seed=None,
                 name="gan", **kwargs):
        generator_shapes = _check_model("generator", generator)
        discriminator_shapes = _check_model("discriminator", discriminator)
        generator_latent = generator_shapes[0][-1]
        if latent_dim is None:
            latent_dim = generator_latent
        latent_dim = _check_integer("latent_dim", latent_dim, 1)
        if len(generator_shapes[0]) != 2 or latent_dim != generator_latent:
            raise ValueError(
                f"latent_dim is {latent_dim} but the generator takes inputs of shape "
                f"{generator_shapes[0]}. Pass latent_dim={generator_latent} or leave it out."
            )
        if generator_shapes[1][1:] != discriminator_shapes[0][1:]:
            raise ValueError(
                f"The generator makes images of shape {generator_shapes[1][1:]} but the "
                f"discriminator takes {discriminator_shapes[0][1:]}; build them for the same "
                "image shape."
            )
        if tuple(discriminator_shapes[1][1:]) != (1,):
            raise ValueError(
                f"The discriminator must return one logit per image, shape (N, 1), but it "
                f"returns {discriminator_shapes[1]}."
            )
        if latent not in LATENTS:
            raise ValueError(f"Unknown latent distribution {latent!r}; use 'uniform' or 'normal'.")
        if seed is None:
            seed = int(np.random.randint(0, 2**31 - 1))
        seed = _check_integer("seed", seed, 0)
        super().__init__(name=name, **kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.latent = latent
        self.image_shape = tuple(generator_shapes[1][1:])
        # One copy on every replica; under a distribution strategy the first replica's
        # update is kept.
        self.step_counter = self.add_weight(
            name="step", shape=(), dtype="int64", initializer="zeros", trainable=False,
            aggregation="only_first_replica",
        )
        self.random_seed = self.add_weight(
            name="random_seed", shape=(), dtype="int64",
            initializer=keras.initializers.Constant(seed), trainable=False,
            aggregation="only_first_replica",
        )
        self.trackers = [keras.metrics.Mean(name=name) for name in RECORD_NAMES]
        self.step_history = {name: [] for name in ("step",) + RECORD_NAMES}
        self._run = _RunState()
        self.built = True

    @property
    def metrics(self):
        return self.trackers

    def call(self, latents, training=False):
        return self.generator(latents, training=training)

    # -----------------------------------------------------------------------------------------
    # Latent vectors and images.

    def sample_latent(self, n, seed=None):
        """``n`` latent vectors, float32 ``(n, latent_dim)``; the same ``seed`` gives the same ones.

        Drawn with a NumPy generator of their own, so calling this never shifts training's
        random numbers. ``seed=None`` takes a seed from NumPy's global generator.
        """
        n = _check_integer("n", n, 1)
        if seed is None:
            seed = int(np.random.randint(0, 2**31 - 1))
        generator = np.random.default_rng(_check_integer("seed", seed, 0))
        shape = (n, self.latent_dim)
        if self.latent == "uniform":
            return generator.uniform(-1.0, 1.0, size=shape).astype(np.float32)
        return generator.standard_normal(size=shape).astype(np.float32)

    def generate(self, n, seed=None):
        """``n`` generated images as a NumPy array, from ``sample_latent(n, seed)``.

        Batch normalisation runs in inference mode, so a fixed seed gives the same images
        on every call until the generator trains further.
        """
        latents = self.sample_latent(n, seed)
        return keras.ops.convert_to_numpy(self.generator(latents, training=False))

    # -----------------------------------------------------------------------------------------
    # Compiling.

    def compile(self, d_optimizer=None, g_optimizer=None, loss="non_saturating", d_steps=1,
                gradient_penalty=0.0, steps_per_execution=DEFAULT_STEPS_PER_EXECUTION,
                jit_compile="auto", **kwargs):
        """Set the optimizers, the loss and the update schedule.

        ``d_optimizer`` and ``g_optimizer`` default to Adam with Keras' (and TensorFlow's)
        defaults, the optimizer of the MLP write-up; they must be two different objects.
        ``loss`` is a ``gan_mnist.losses`` name or loss object. ``d_steps`` discriminator
        updates run per generator update and ``gradient_penalty`` weights the WGAN-GP term
        (Gulrajani et al., 2017), for example ``loss="wasserstein", d_steps=5,
        gradient_penalty=10``. ``steps_per_execution`` is the most steps run per call from
        Python; ``fit`` lowers it when step callbacks need it. ``jit_compile="auto"`` uses XLA
        for networks without convolutions (on a CPU it makes a loop of convolution steps
        slower), unless op determinism is on (Keras 3 refuses XLA then) or a distribution
        strategy with several replicas is active. Other keyword arguments go to
        ``keras.Model.compile``.
        """
        loss = losses.get(loss)
        d_optimizer = _optimizer("d_optimizer", d_optimizer)
        g_optimizer = _optimizer("g_optimizer", g_optimizer)
        if d_optimizer is g_optimizer:
            raise ValueError(
                "d_optimizer and g_optimizer are the same object; each network needs an "
                "optimizer of its own (its moment estimates belong to that network's weights)."
            )
        d_steps = _check_integer("d_steps", d_steps, 1)
        if (isinstance(gradient_penalty, bool) or not isinstance(gradient_penalty, (int, float))
                or not gradient_penalty >= 0):
            raise ValueError(
                f"gradient_penalty must be a non-negative number (10 in WGAN-GP), got "
                f"{gradient_penalty!r}."
            )
        steps_per_execution = _check_integer("steps_per_execution", steps_per_execution, 1)
        if jit_compile == "auto":
            jit_compile = (
                not seeding.is_deterministic()
                and self.distribute_strategy.num_replicas_in_sync == 1
                and not kwargs.get("run_eagerly", False)
                and not (_has_convolutions(self.generator) or _has_convolutions(self.discriminator))
            )
        elif not isinstance(jit_compile, bool):
            raise ValueError(f"jit_compile must be True, False or 'auto', got {jit_compile!r}.")
        pairs = ((d_optimizer, self.discriminator), (g_optimizer, self.generator))
        for optimizer, network in pairs:
            if optimizer.built and len(optimizer.variables) and not _built_for(optimizer, network):
                raise ValueError(
                    f"The optimizer {optimizer.name!r} was already used for other weights; "
                    "pass a fresh optimizer."
                )
        super().compile(optimizer=None, steps_per_execution=steps_per_execution,
                        jit_compile=jit_compile, **kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.gan_loss = loss
        self.d_steps = d_steps
        self.gradient_penalty = float(gradient_penalty)
        self.max_steps_per_execution = steps_per_execution
        # Build the optimizer slots now so that a checkpoint can be restored before training.
        with self.distribute_strategy.scope():
            if not d_optimizer.built:
                d_optimizer.build(self.discriminator.trainable_variables)
            if not g_optimizer.built:
                g_optimizer.build(self.generator.trainable_variables)
        self._run.signature = None

    # -----------------------------------------------------------------------------------------
    # The training step.

    def _draw(self, key, shape, replicas, draw):
        """Draw the whole global batch and keep this replica's share.

        Every replica draws the same global numbers, so a run gives the same batches and noise
        on one device or on several.
        """
        local = shape[0]
        values = draw([local * replicas] + list(shape[1:]), key)
        if replicas == 1:
            return values
        replica = tf.distribute.get_replica_context().replica_id_in_sync_group
        return values[replica * local:(replica + 1) * local]

    def _noise(self, key, local_batch, replicas):
        if self.latent == "uniform":
            def draw(shape, seed):
                return tf.random.stateless_uniform(shape, seed, minval=-1.0, maxval=1.0)
        else:
            def draw(shape, seed):
                return tf.random.stateless_normal(shape, seed)
        return self._draw(key, [local_batch, self.latent_dim], replicas, draw)

    def _real_batch(self, data, key, replicas):
        """This replica's real images and their number."""
        if self._run.signature[0] == "dataset":
            return tf.cast(data, self.compute_dtype), tf.shape(data)[0]
        images = self._run.images
        count = images.shape[0]
        local = self._run.signature[1] // replicas

        def draw(shape, seed):
            return tf.random.stateless_uniform(shape, seed, minval=0, maxval=count, dtype=tf.int64)

        # Batches are drawn uniformly with replacement, a fresh draw every step.
        return tf.gather(images, self._draw(key, [local], replicas, draw)), local

    def train_step(self, data):
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        step = tf.convert_to_tensor(self.step_counter)
        # Independent random streams for this step: a real batch and noise per discriminator
        # update, then noise for the generator update.
        keys = tf.random.experimental.stateless_split(
            tf.stack([tf.convert_to_tensor(self.random_seed), step]), num=2 * self.d_steps + 1
        )
        discriminator_weights = self.discriminator.trainable_weights
        generator_weights = self.generator.trainable_weights
        for update in range(self.d_steps):
            real, local_batch = self._real_batch(data, keys[2 * update], replicas)
            noise = self._noise(keys[2 * update + 1], local_batch, replicas)
            fake = self.generator(noise, training=True)
            with tf.GradientTape() as tape:
                real_logits = self.discriminator(real, training=True)
                fake_logits = self.discriminator(fake, training=True)
                d_loss = self.gan_loss.discriminator_loss(real_logits, fake_logits)
                if self.gradient_penalty:
                    # The interpolation weights come from this update's own keyed stream,
                    # so WGAN-GP resumes exactly too.
                    epsilon = tf.random.stateless_uniform(
                        [local_batch], tf.random.experimental.stateless_fold_in(keys[2 * update], 1)
                    )
                    d_loss += losses.gradient_penalty(
                        self.discriminator, real, fake, weight=self.gradient_penalty, epsilon=epsilon
                    )
                # Gradients are summed over replicas, so each replica's loss is scaled by
                # its share of the global batch.
                scaled_loss = d_loss / replicas if replicas > 1 else d_loss
            gradients = tape.gradient(scaled_loss, discriminator_weights)
            self.d_optimizer.apply_gradients(zip(gradients, discriminator_weights))

        noise = self._noise(keys[-1], local_batch, replicas)
        with tf.GradientTape() as tape:
            generated = self.generator(noise, training=True)
            generated_logits = self.discriminator(generated, training=True)
            g_loss = self.gan_loss.generator_loss(generated_logits)
            scaled_loss = g_loss / replicas if replicas > 1 else g_loss
        gradients = tape.gradient(scaled_loss, generator_weights)
        self.g_optimizer.apply_gradients(zip(gradients, generator_weights))

        # d_real and d_fake: the mean probability D gives real and generated digits (1/2 at
        # the equilibrium), from the last discriminator update.
        values = tf.stack([
            tf.cast(d_loss, tf.float32),
            tf.cast(g_loss, tf.float32),
            tf.reduce_mean(tf.sigmoid(tf.cast(real_logits, tf.float32))),
            tf.reduce_mean(tf.sigmoid(tf.cast(fake_logits, tf.float32))),
        ])
        for tracker, value in zip(self.trackers, tf.unstack(values)):
            tracker.update_state(value)
        if replicas > 1:
            values = tf.distribute.get_replica_context().all_reduce("mean", values)
        records = self._run.records
        slot = tf.math.floormod(step, records.shape[0])
        records.assign(tf.tensor_scatter_nd_update(records, [[slot]], [values]))
        self.step_counter.assign_add(1)
        return {tracker.name: tracker.result() for tracker in self.trackers}

    def make_train_function(self, force=False):
        if self.train_function is not None and not force:
            return self.train_function
        # One row per step of an execution, copied to the host after each execution.
        records = self._run.records
        if records is None or records.shape[0] < self.steps_per_execution:
            with self.distribute_strategy.scope():
                self._run.records = tf.Variable(
                    tf.zeros([self.steps_per_execution, len(RECORD_NAMES)]),
                    trainable=False,
                    synchronization=tf.VariableSynchronization.ON_WRITE,
                    aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
                )
        in_memory = self._run.signature is not None and self._run.signature[0] == "memory"
        if not in_memory or self.run_eagerly or self.distribute_strategy.num_replicas_in_sync > 1:
            # Keras' own loop: one step per element of the input, each step under
            # `strategy.run`, which cross-replica updates need.
            return super().make_train_function(force=force)

        # With the images in memory a step needs no input, so a whole execution is one
        # compiled loop (with XLA: one XLA program) instead of one call per step.
        def run_steps(count):
            def body(index):
                self.train_step(None)
                return index + 1

            tf.while_loop(lambda index: index < count, body, [tf.constant(0)])
            return {tracker.name: tracker.result() for tracker in self.trackers}

        run_steps = tf.function(run_steps, jit_compile=self.jit_compile, reduce_retracing=True)

        def train_function(iterator):
            # Keras still hands over one input element per step; the sizes of the executions
            # come from the plan that `fit` made for the same epochs.
            return run_steps(tf.constant(next(self._run.plan, 1), tf.int32))

        self.train_function = train_function
        return train_function

    def latest_steps(self):
        """The per-step records of the latest execution, as a list of row dicts.

        Rows hold ``step`` (1 for the first update) and the metrics in ``RECORD_NAMES``.
        Reading them also appends them to ``step_history``; repeated calls after one
        execution return the same rows.
        """
        step = int(self.step_counter.numpy())
        read = self._run.read_step
        if step == read:
            return self._run.latest
        if self._run.records is None:
            # The counter was set by hand (a restored checkpoint): no step has run here.
            self._run.read_step, self._run.latest = step, []
            return []
        buffer = self._run.records.numpy()
        if not 0 < step - read <= len(buffer):
            raise RuntimeError(
                f"Cannot recover the records of steps {read + 1}-{step}: only the last "
                f"{len(buffer)} steps are kept. Read them after every execution."
            )
        rows = []
        for number in range(read + 1, step + 1):
            values = buffer[(number - 1) % len(buffer)]
            row = {"step": number}
            row.update((name, float(value)) for name, value in zip(RECORD_NAMES, values))
            rows.append(row)
            for name, value in row.items():
                self.step_history[name].append(value)
        self._run.read_step = step
        self._run.latest = rows
        return rows

    # -----------------------------------------------------------------------------------------
    # Fitting.

    def _prepare_images(self, images, value_range):
        images = np.asarray(images)
        if images.dtype == np.uint8:
            images = data.scale_images(images, value_range)
        elif not np.issubdtype(images.dtype, np.floating):
            raise ValueError(
                f"Expected uint8 digits (as load_mnist returns them) or float images, got "
                f"dtype {images.dtype}."
            )
        if images.ndim == len(self.image_shape) and self.image_shape[-1] == 1:
            images = images[..., np.newaxis]
        if images.shape[1:] != self.image_shape or not len(images):
            raise ValueError(
                f"Expected images of shape (N, {', '.join(map(str, self.image_shape))}) with "
                f"N > 0 for this generator and discriminator, got {images.shape}."
            )
        return images.astype(np.float32, copy=False)

    def _store_images(self, images, value_range):
        """Keep the training images in a device variable; return the variable.

        Copying 60,000 digits to the device takes a noticeable fraction of a second, so the
        same images (by checksum) given again are not copied again.
        """
        array = np.ascontiguousarray(images)
        fingerprint = (array.shape, array.dtype.str, tuple(value_range), zlib.crc32(array.data))
        stored = self._run.images
        if stored is not None and fingerprint == self._run.fingerprint:
            return stored
        array = self._prepare_images(array, value_range)
        if stored is not None and tuple(stored.shape) == array.shape:
            stored.assign(array)
        else:
            with self.distribute_strategy.scope():
                stored = self._run.images = tf.Variable(array, trainable=False)
        self._run.fingerprint = fingerprint
        return stored

    def release_images(self):
        """Drop the device copy of the training images; the next ``fit`` makes a new one.

        ``train`` calls this when it returns, so that a notebook holding several trained
        GANs does not hold a copy of the training set for each.
        """
        self._run.images = None
        self._run.fingerprint = None
        self._run.signature = None
        self.train_function = None

    def _execution_size(self, callbacks, steps_per_epoch, epochs):
        """Steps per execution such that step callbacks see every step they ask for.

        Keras calls callbacks between executions only, so each callback's ``step_interval``,
        the current step and (with several epochs) the epoch length must be multiples of it.
        """
        if self.distribute_strategy.num_replicas_in_sync > 1:
            # Keras 3 fails on several steps per execution under MirroredStrategy
            # (keras-team/keras#19246), so each step is its own execution there.
            return 1
        intervals = [getattr(callback, "step_interval", None) for callback in callbacks]
        intervals = [int(interval) for interval in intervals if interval]
        if not intervals:
            return self.max_steps_per_execution
        current = int(self.step_counter.numpy())
        common = math.gcd(*intervals, current, steps_per_epoch if epochs > 1 else 0)
        return _largest_divisor(common, self.max_steps_per_execution)

    def fit(self, x=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            steps_per_epoch=None, initial_epoch=0, value_range=(-1.0, 1.0)):
        """Train for exactly ``steps_per_epoch * (epochs - initial_epoch)`` steps.

        ``x`` is either the training images (uint8 digits as ``load_mnist`` gives them, scaled
        to ``value_range``, or float images already scaled) or a ``tf.data.Dataset`` of image
        batches. Images are kept in memory on the device and ``batch_size`` of them (default
        64) are drawn per step inside the graph; an epoch defaults to ``len(x) // batch_size``
        steps. A dataset is read one batch per step (all ``d_steps`` discriminator updates of a
        step use it); each epoch starts a new pass over it (give it ``.repeat()`` when
        ``steps_per_epoch`` is larger than one pass). In-memory images are the fast path.

        Returns Keras' ``History`` (per-epoch means); the per-step metrics are in
        ``step_history`` and ``latest_steps()``.
        """
        if getattr(self, "d_optimizer", None) is None:
            raise ValueError("Call compile() before fit().")
        if x is None:
            raise ValueError(
                "fit needs training images (an array) or a tf.data.Dataset of batches."
            )
        epochs = _check_integer("epochs", epochs, 1)
        initial_epoch = _check_integer("initial_epoch", initial_epoch, 0)
        if steps_per_epoch is not None:
            steps_per_epoch = _check_integer("steps_per_epoch", steps_per_epoch, 1)
        replicas = self.distribute_strategy.num_replicas_in_sync
        callbacks = list(callbacks or [])

        if isinstance(x, tf.data.Dataset):
            if batch_size is not None:
                raise ValueError(
                    "batch_size is set by the dataset; leave it out with a tf.data.Dataset."
                )
            if isinstance(x.element_spec, tuple):
                x = x.map(lambda images, *rest: images)
            if steps_per_epoch is not None:
                x = x.take(steps_per_epoch)
            else:
                cardinality = int(x.cardinality())
                if cardinality <= 0:
                    raise ValueError(
                        "The dataset's length is infinite or unknown; pass steps_per_epoch."
                    )
                steps_per_epoch = cardinality
            signature = ("dataset", None)
            inputs = x
        else:
            stored = self._store_images(x, value_range)
            batch_size = _check_integer(
                "batch_size", DEFAULT_BATCH_SIZE if batch_size is None else batch_size, 1
            )
            if batch_size > stored.shape[0]:
                raise ValueError(
                    f"batch_size {batch_size} is larger than the {stored.shape[0]} images given."
                )
            if batch_size % replicas:
                raise ValueError(
                    f"batch_size {batch_size} must be a multiple of the {replicas} replicas."
                )
            if steps_per_epoch is None:
                steps_per_epoch = stored.shape[0] // batch_size
            signature = ("memory", batch_size, id(stored))
            # Keras only needs one element per step: the batches are drawn in the graph. The
            # finite dataset ends each epoch after exactly steps_per_epoch steps.
            inputs = tf.data.Dataset.range(steps_per_epoch * replicas).batch(replicas)

        size = self._execution_size(callbacks, steps_per_epoch, epochs - initial_epoch)
        signature += (size,)
        if signature != self._run.signature:
            self._run.signature = signature
            self.steps_per_execution = size
            self.train_function = None
        self._run.read_step = int(self.step_counter.numpy())
        self._run.latest = []
        # Keras runs each epoch as executions of `size` steps, the last one shorter.
        self._run.plan = iter([
            min(size, steps_per_epoch - start)
            for _ in range(initial_epoch, epochs)
            for start in range(0, steps_per_epoch, size)
        ])
        return super().fit(
            inputs, epochs=epochs, verbose=verbose, callbacks=[_ReadSteps()] + callbacks,
            initial_epoch=initial_epoch, shuffle=False,
        )


def _built_for(optimizer, network):
    """Whether an optimizer's slots were made for this network's weights."""
    own = {id(variable) for variable in network.trainable_variables}
    return len(getattr(optimizer, "_trainable_variables", [])) == len(own) and all(
        id(variable) in own for variable in optimizer._trainable_variables
    )


# ---------------------------------------------------------------------------------------------
# The one-call helper.


@dataclass
class TrainingResult:
    """What ``train`` did: the trained ``gan``, the per-step ``history`` and the files it wrote.

    ``history`` is a dict of lists with ``step``, ``d_loss``, ``g_loss``, ``d_real`` and
    ``d_fake``; when resuming it covers the whole run, read back from the history file.
    ``steps`` is the final step count and ``resumed_from`` the checkpoint step training
    continued from (``None`` for a fresh start). Paths are ``None`` when nothing was written.
    """

    gan: GAN
    history: dict
    steps: int
    resumed_from: int | None = None
    run_dir: Path | None = None
    frames_dir: Path | None = None
    history_path: Path | None = None
    checkpoints_dir: Path | None = None


_GENERIC_SETTINGS = dict(
    value_range=(-1.0, 1.0), latent="uniform", loss="non_saturating", label_smoothing=0.0,
    learning_rate=0.0002, beta_1=0.5, batch_size=DEFAULT_BATCH_SIZE,
)


def _clear_outputs(frames_dir, checkpoints_dir, history_path, resumed_from):
    """Remove an earlier run's outputs: all of them, or those beyond the resumed step."""
    if frames_dir.is_dir():
        for frame in frames_dir.glob("step_*.png"):
            number = frame.stem[len("step_"):]
            if resumed_from is None or not number.isdigit() or int(number) > resumed_from:
                frame.unlink()
    if resumed_from is None:
        if checkpoints_dir.is_dir():
            shutil.rmtree(checkpoints_dir)
        if history_path.is_file():
            history_path.unlink()


def train(generator, discriminator, images, steps, *, preset=None, loss=None, run_dir=None,
          batch_size=None, value_range=None, latent=None, learning_rate=None, beta_1=None,
          label_smoothing=None, d_steps=1, gradient_penalty=0.0, snapshot_every=None,
          snapshot_count=16, snapshot_seed=0, checkpoint_every=None, keep_checkpoints=3,
          resume=False, seed=None, steps_per_execution=DEFAULT_STEPS_PER_EXECUTION,
          jit_compile="auto", verbose=0, callbacks=None):
    """Train a GAN for ``steps`` generator updates in one call and return a ``TrainingResult``.

    ``images`` are the training digits: uint8 ``(N, 28, 28)`` from ``load_mnist`` (scaled to
    ``value_range``), float images already scaled, or a ``tf.data.Dataset`` of batches.
    Settings left at ``None`` come from ``gan_mnist.models.preset_settings(preset)`` when a
    preset is named, else from DCGAN-paper defaults (Adam 2e-4, beta_1 0.5, batch 64, images in
    [-1, 1], uniform noise, the non-saturating loss). Both networks get an Adam optimizer of
    their own with ``learning_rate`` and ``beta_1``.

    With ``run_dir`` the run writes ``frames/step_000100.png`` (a 4x4 grid from a fixed latent
    batch every ``snapshot_every`` steps, plus the first and last step), ``history.csv`` (one row
    per step) and ``checkpoints/`` (every ``checkpoint_every`` steps and at the end, keeping
    the last ``keep_checkpoints``). ``steps`` is the total for the run: with ``resume=True``
    training continues from the latest checkpoint (if any) up to ``steps``; without it, earlier
    outputs in ``run_dir`` are replaced. ``seed`` keys the noise and batch draws (see ``GAN``);
    call ``gan_mnist.set_seed`` before building the networks for bit-identical repeats.
    ``steps_per_execution`` and ``jit_compile`` go to ``GAN.compile``, ``verbose`` (Keras'
    progress bar) and ``callbacks`` (run after the built-in ones) to ``GAN.fit``. A NaN or
    infinite loss stops training with ``callbacks.DivergenceError``.
    """
    steps = _check_integer("steps", steps, 1)
    settings = dict(_GENERIC_SETTINGS) if preset is None else models.preset_settings(preset)
    given = dict(loss=loss, batch_size=batch_size, value_range=value_range, latent=latent,
                 learning_rate=learning_rate, beta_1=beta_1, label_smoothing=label_smoothing)
    settings.update({key: value for key, value in given.items() if value is not None})
    if run_dir is None and (snapshot_every or checkpoint_every or resume):
        raise ValueError(
            "snapshot_every, checkpoint_every and resume write to or read from a run folder; "
            "pass run_dir as well."
        )
    if snapshot_every is not None:
        snapshot_every = _check_integer("snapshot_every", snapshot_every, 1)
    if checkpoint_every is not None:
        checkpoint_every = _check_integer("checkpoint_every", checkpoint_every, 1)
    keep_checkpoints = _check_integer("keep_checkpoints", keep_checkpoints, 1)
    smoothing = settings["label_smoothing"]
    gan_loss = (
        losses.get(settings["loss"], label_smoothing=smoothing) if smoothing
        else losses.get(settings["loss"])
    )

    gan = GAN(generator, discriminator, latent=settings["latent"], seed=seed)

    def adam():
        return keras.optimizers.Adam(settings["learning_rate"], beta_1=settings["beta_1"])

    gan.compile(adam(), adam(), loss=gan_loss, d_steps=d_steps, gradient_penalty=gradient_penalty,
                steps_per_execution=steps_per_execution, jit_compile=jit_compile)

    result = TrainingResult(gan=gan, history=gan.step_history, steps=0)
    run_callbacks = []
    checkpoints = None
    if run_dir is not None:
        result.run_dir = Path(run_dir)
        result.frames_dir = result.run_dir / "frames"
        result.history_path = result.run_dir / "history.csv"
        result.checkpoints_dir = result.run_dir / "checkpoints"
        result.run_dir.mkdir(parents=True, exist_ok=True)
        if resume:
            result.resumed_from = callbacks_module.restore_latest(gan, result.checkpoints_dir)
        _clear_outputs(
            result.frames_dir, result.checkpoints_dir, result.history_path, result.resumed_from
        )
        run_callbacks.append(callbacks_module.StepHistory(
            result.history_path, append=result.resumed_from is not None
        ))
        if snapshot_every:
            run_callbacks.append(callbacks_module.Snapshots(
                result.frames_dir, snapshot_every, count=snapshot_count, seed=snapshot_seed,
                value_range=settings["value_range"],
            ))
        checkpoints = callbacks_module.Checkpoints(
            result.checkpoints_dir, checkpoint_every, keep=keep_checkpoints
        )
        run_callbacks.append(checkpoints)
    run_callbacks.append(callbacks_module.DivergenceGuard())

    done = int(gan.step_counter.numpy())
    if steps > done:
        fit_options = dict(steps_per_epoch=steps - done, verbose=verbose,
                           callbacks=run_callbacks + list(callbacks or []))
        if not isinstance(images, tf.data.Dataset):
            fit_options.update(
                batch_size=settings["batch_size"], value_range=settings["value_range"]
            )
        try:
            gan.fit(images, **fit_options)
        except callbacks_module.DivergenceError as error:
            if checkpoints is not None and checkpoints.last_saved is not None:
                raise callbacks_module.DivergenceError(
                    f"{error} The last good checkpoint (step {checkpoints.last_saved}) is kept "
                    f"in {result.checkpoints_dir}; train with resume=True to continue from it."
                ) from None
            raise
        finally:
            gan.release_images()
    result.steps = int(gan.step_counter.numpy())
    if result.history_path is not None and result.history_path.is_file():
        result.history = callbacks_module.read_history(result.history_path)
    return result
