"""The execution engine under ``GAN``: exact, fast, reproducible steps inside Keras' ``fit``.

``Trainer`` is a ``keras.Model`` base class that leaves the algorithm (``train_step``) to its
subclass and supplies what makes it fast and exact:

- **In-memory batches.** ``fit`` keeps the training images in a device variable and each step
  gathers its batch inside the graph, so a step needs no input and a whole execution (up to
  ``steps_per_execution`` steps) is one compiled ``tf.while_loop``, with XLA where it pays.
- **Exact step counts.** ``fit`` plans the size of every execution, so that each epoch has
  exactly ``steps_per_epoch`` steps and every callback's ``step_interval`` falls on an
  execution boundary (Keras alone rounds epochs up to whole executions).
- **Per-step records.** ``record`` writes each step's numbers into a buffer that ``fit`` copies
  to the host after every execution (``latest_steps``, ``step_history``).
- **Counter-based random numbers.** ``step_keys`` derives every random number of step ``s``
  from the seed and ``s``, so a run restored at step ``s`` continues exactly.
- **Several devices.** Under ``tf.distribute.MirroredStrategy`` every replica draws the same
  global batch and keeps its share, so one device and several give the same numbers.
"""

import math

import numpy as np

from gan_mnist import seeding
from gan_mnist.backend import keras, tf
from gan_mnist.batches import InMemoryData, fit_inputs
from gan_mnist.history import RECORDS

DEFAULT_BATCH_SIZE = 64
# On a CPU, XLA cuts an MLP step by about a third but makes a compiled loop of convolution steps
# about ten times slower, so "auto" uses it there for networks without convolutions only. On a
# GPU, where XLA usually fuses convolutions well, "auto" uses it for every network (not measured
# here: the project's machines have no GPU).
_CONVOLUTIONS = (
    keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D,
    keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose, keras.layers.Conv3DTranspose,
    keras.layers.DepthwiseConv1D, keras.layers.DepthwiseConv2D,
    keras.layers.SeparableConv1D, keras.layers.SeparableConv2D,
)


def check_integer(name, value, minimum):
    """``value`` as an int; ``ValueError`` unless it is an integer of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer of at least {minimum}, got {value!r}.")
    return int(value)


def average_into(average, network, decay):
    """One step of a weight average: ``average <- decay * average + (1 - decay) * network``."""
    for averaged, weight in zip(average.weights, network.weights):
        averaged.assign(decay * averaged + (1.0 - decay) * weight)


def has_convolutions(model):
    """Whether a model (or a model nested in it) has convolution layers."""
    return any(
        isinstance(layer, _CONVOLUTIONS)
        or (isinstance(layer, keras.Model) and has_convolutions(layer))
        for layer in model.layers
    )


def _largest_divisor(number, limit):
    """The largest divisor of ``number`` that is at most ``limit``."""
    return next(size for size in range(min(number, limit), 0, -1) if number % size == 0)


class _State:
    """Training-time values kept out of the model's weights and checkpoints.

    A plain object, so Keras and ``tf.train.Checkpoint`` do not track what it holds: the
    training data on the device, the per-step record buffer and the execution plan.
    """

    def __init__(self):
        self.data = InMemoryData()
        self.records = None
        self.signature = None
        self.read_step = 0
        self.latest = []
        self.plan = iter(())


class _ReadSteps(keras.callbacks.Callback):
    """Copies each execution's per-step records to the host, before any other callback runs."""

    def on_train_batch_end(self, batch, logs=None):
        self.model.latest_steps()


class Trainer(keras.Model):
    """A Keras model trained step by step on images, one ``record`` per step (see the module).

    ``image_shape`` and ``value_range`` describe the images it trains on; ``seed`` keys every
    random draw. ``step_counter`` counts steps and ``step_history`` holds the records of every
    step run in this process. ``RECORDS`` names what each step records (a GAN's losses and
    discriminator outputs by default; a subclass of another family names its own).
    """

    RECORDS = RECORDS

    def __init__(self, image_shape, value_range, seed, classes=None, **kwargs):
        super().__init__(**kwargs)
        self.image_shape = tuple(image_shape)
        # The number of label values the networks take (None: they take no label).
        self.classes = classes
        self.value_range = tuple(float(value) for value in value_range)
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
        self.trackers = [keras.metrics.Mean(name=name) for name in self.RECORDS]
        self.step_history = {name: [] for name in ("step",) + self.RECORDS}
        self._state = _State()

    @property
    def metrics(self):
        return self.trackers

    @property
    def checked_records(self):
        """The records that must stay finite, or training has diverged: all of ``RECORDS``
        (a model that records NaN on purpose, for a network it leaves out, names fewer).
        """
        return self.RECORDS

    def compile(self, steps_per_execution, jit_compile, networks, **kwargs):
        """Compile with ``jit_compile`` (``"auto"``: XLA on a GPU, and on a CPU for ``networks``
        without convolutions; never with op determinism, several replicas or eager runs).
        """
        steps_per_execution = check_integer("steps_per_execution", steps_per_execution, 1)
        if jit_compile == "auto":
            on_gpu = bool(tf.config.list_logical_devices("GPU"))
            jit_compile = (
                not seeding.is_deterministic()
                and self.distribute_strategy.num_replicas_in_sync == 1
                and not kwargs.get("run_eagerly", False)
                and (on_gpu or not any(has_convolutions(network) for network in networks))
            )
        elif not isinstance(jit_compile, bool):
            raise ValueError(f"jit_compile must be True, False or 'auto', got {jit_compile!r}.")
        super().compile(optimizer=None, steps_per_execution=steps_per_execution,
                        jit_compile=jit_compile, **kwargs)
        self.max_steps_per_execution = steps_per_execution
        self._state.signature = None

    # -----------------------------------------------------------------------------------------
    # What a train step uses.

    def step_keys(self, count):
        """``count`` independent stateless random keys for the current step."""
        step = tf.convert_to_tensor(self.step_counter)
        return tf.random.experimental.stateless_split(
            tf.stack([tf.convert_to_tensor(self.random_seed), step]), num=count
        )

    def draw(self, key, shape, draw):
        """``draw(shape, key)`` for the whole global batch, keeping this replica's share.

        Every replica draws the same global numbers, so a run gives the same batches and noise
        on one device or on several.
        """
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        local = shape[0]
        values = draw([local * replicas] + list(shape[1:]), key)
        if replicas == 1:
            return values
        replica = tf.distribute.get_replica_context().replica_id_in_sync_group
        return values[replica * local:(replica + 1) * local]

    def real_batch(self, data, key):
        """This replica's real images and their labels (``None`` unless conditional): from the
        dataset, or drawn from memory.
        """
        if self._state.signature[0] == "dataset":
            images, labels = data if self.classes else (data, None)
            return tf.cast(images, self.compute_dtype), labels
        count = self._state.data.images.shape[0]
        local = self._state.signature[1] // tf.distribute.get_strategy().num_replicas_in_sync

        def uniform_indices(shape, seed):
            return tf.random.stateless_uniform(shape, seed, minval=0, maxval=count, dtype=tf.int64)

        # Batches are drawn uniformly with replacement, a fresh draw every step.
        return self._state.data.batch(self.draw(key, [local], uniform_indices))

    def training_label_logits(self):
        """Log class frequencies of the labels trained on (kept with the images in memory)."""
        if self._state.data.label_logits is None:
            raise ValueError(
                "label_distribution='data' draws labels by the training labels' frequencies, "
                "which needs the images and labels in memory (not a tf.data.Dataset)."
            )
        return self._state.data.label_logits

    def set_optimizers(self, d_optimizer, g_optimizer):
        """Give a two-network model (``discriminator`` and ``generator``) an optimiser each, and
        build their slots now, so that a checkpoint can be restored before training. Refuses one
        optimiser for both, and one already built for other weights.
        """
        if d_optimizer is g_optimizer:
            raise ValueError(
                "d_optimizer and g_optimizer are the same object; each network needs an "
                "optimizer of its own (its moment estimates belong to that network's weights)."
            )
        for optimizer, current in ((d_optimizer, "d_optimizer"), (g_optimizer, "g_optimizer")):
            if not isinstance(optimizer, keras.optimizers.Optimizer):
                raise ValueError(f"{current} must be a keras.optimizers.Optimizer (such as "
                                 f"keras.optimizers.Adam(2e-4, beta_1=0.5)), got {optimizer!r}.")
            if optimizer.built and optimizer is not getattr(self, current, None):
                raise ValueError(
                    f"The optimizer {optimizer.name!r} was already used for other weights; "
                    "pass a fresh optimizer."
                )
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer
        with self.distribute_strategy.scope():
            for optimizer, network in ((d_optimizer, self.discriminator),
                                       (g_optimizer, self.generator)):
                if not optimizer.built:
                    optimizer.build(network.trainable_variables)

    def update(self, network, optimizer, tape, loss):
        """One optimiser step of ``network`` on the gradient of ``loss`` recorded by ``tape``."""
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        weights = network.trainable_weights
        if replicas > 1:
            # Gradients are summed over replicas: each replica's share of the global batch.
            gradients = tape.gradient(loss, weights, output_gradients=tf.constant(1 / replicas))
        else:
            gradients = tape.gradient(loss, weights)
        optimizer.apply_gradients(zip(gradients, weights))

    def record(self, **values):
        """Record this step's ``RECORDS`` values, count the step, return the epoch means."""
        values = tf.stack([tf.cast(values[name], tf.float32) for name in self.RECORDS])
        for tracker, value in zip(self.trackers, tf.unstack(values)):
            tracker.update_state(value)
        if tf.distribute.get_strategy().num_replicas_in_sync > 1:
            values = tf.distribute.get_replica_context().all_reduce("mean", values)
        records = self._state.records
        slot = tf.math.floormod(tf.convert_to_tensor(self.step_counter), records.shape[0])
        records.assign(tf.tensor_scatter_nd_update(records, [[slot]], [values]))
        self.step_counter.assign_add(1)
        return {tracker.name: tracker.result() for tracker in self.trackers}

    # -----------------------------------------------------------------------------------------
    # Executions.

    def make_train_function(self, force=False):
        if self.train_function is not None and not force:
            return self.train_function
        # One row per step of an execution, copied to the host after each execution.
        records = self._state.records
        if records is None or records.shape[0] < self.steps_per_execution:
            with self.distribute_strategy.scope():
                self._state.records = tf.Variable(
                    tf.zeros([self.steps_per_execution, len(self.RECORDS)]),
                    trainable=False,
                    synchronization=tf.VariableSynchronization.ON_WRITE,
                    aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA,
                )
        in_memory = self._state.signature is not None and self._state.signature[0] == "memory"
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
            return run_steps(tf.constant(next(self._state.plan, 1), tf.int32))

        self.train_function = train_function
        return train_function

    def latest_steps(self):
        """The per-step records of the latest execution, as a list of row dicts.

        Rows hold ``step`` (1 for the first update) and the ``RECORDS`` values. Reading them
        also appends them to ``step_history``; repeated calls after one execution return the
        same rows.
        """
        step = int(self.step_counter.numpy())
        read = self._state.read_step
        if step == read:
            return self._state.latest
        if self._state.records is None:
            # The counter was set by hand (a restored checkpoint): no step has run here.
            self._state.read_step, self._state.latest = step, []
            return []
        buffer = self._state.records.numpy()
        if not 0 < step - read <= len(buffer):
            raise RuntimeError(
                f"Cannot recover the records of steps {read + 1}-{step}: only the last "
                f"{len(buffer)} steps are kept. Read them after every execution."
            )
        rows = []
        for number in range(read + 1, step + 1):
            values = buffer[(number - 1) % len(buffer)]
            row = {"step": number}
            row.update((name, float(value)) for name, value in zip(self.RECORDS, values))
            rows.append(row)
            for name, value in row.items():
                self.step_history[name].append(value)
        self._state.read_step = step
        self._state.latest = rows
        return rows

    # -----------------------------------------------------------------------------------------
    # Fitting.

    def release_images(self):
        """Drop the device copy of the training images; the next ``fit`` makes a new one."""
        self._state.data.release()
        self._state.signature = None
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

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            steps_per_epoch=None, initial_epoch=0):
        """Train for exactly ``steps_per_epoch * (epochs - initial_epoch)`` steps.

        ``x`` is either the training images (uint8 digits as ``load_mnist`` gives them, scaled
        to ``value_range``, or float images already scaled), with their labels ``y`` for a
        conditional model, or a ``tf.data.Dataset`` of image (or (image, label)) batches
        (``batches.fit_inputs``). Images are kept in memory on the device and ``batch_size`` of
        them (default 64) are drawn per step inside the graph; an epoch defaults to
        ``len(x) // batch_size`` steps. A dataset is read one batch per step; each epoch starts
        a new pass over it (give it ``.repeat()`` when ``steps_per_epoch`` is larger than one
        pass). In-memory images are the fast path.

        Returns Keras' ``History`` (per-epoch means); ``step_history`` has every step.
        """
        if not self.compiled:
            raise ValueError("Call compile() before fit().")
        if x is None:
            raise ValueError("fit needs training images (an array) or a tf.data.Dataset.")
        epochs = check_integer("epochs", epochs, 1)
        initial_epoch = check_integer("initial_epoch", initial_epoch, 0)
        if steps_per_epoch is not None:
            steps_per_epoch = check_integer("steps_per_epoch", steps_per_epoch, 1)
        callbacks = list(callbacks or [])
        if not isinstance(x, tf.data.Dataset):
            batch_size = check_integer(
                "batch_size", DEFAULT_BATCH_SIZE if batch_size is None else batch_size, 1
            )
        inputs, steps_per_epoch, signature = fit_inputs(
            self._state.data, x, y, batch_size, steps_per_epoch, self.value_range,
            self.image_shape, self.classes, self.distribute_strategy,
        )

        size = self._execution_size(callbacks, steps_per_epoch, epochs - initial_epoch)
        signature += (size,)
        if signature != self._state.signature:
            self._state.signature = signature
            self.steps_per_execution = size
            self.train_function = None
        self._state.read_step = int(self.step_counter.numpy())
        self._state.latest = []
        # Keras runs each epoch as executions of `size` steps, the last one shorter.
        self._state.plan = iter([
            min(size, steps_per_epoch - start)
            for _ in range(initial_epoch, epochs)
            for start in range(0, steps_per_epoch, size)
        ])
        return super().fit(
            inputs, epochs=epochs, verbose=verbose, callbacks=[_ReadSteps()] + callbacks,
            initial_epoch=initial_epoch, shuffle=False,
        )
