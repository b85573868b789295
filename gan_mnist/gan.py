"""``GAN``: a generator and a discriminator trained together with Keras' ``fit``.

The training step is the algorithm of Goodfellow et al. (2014) as the classic write-ups run it:
each step takes a batch of real digits, updates the discriminator on it and on generated
digits (``d_steps`` times, with a gradient penalty for WGAN-GP), then updates the generator,
drawing fresh noise for each update. Everything that makes the loop fast, exact and
reproducible (in-memory batches, many steps per call, per-step records, counter-based random
numbers, several devices) lives in ``gan_mnist.engine``.
"""

import numpy as np

from gan_mnist import conditioning, engine, losses, models, sampling, schedules
from gan_mnist.backend import keras, tf
from gan_mnist.choices import LABEL_DISTRIBUTIONS
from gan_mnist.latent import DISTRIBUTIONS


def _shapes(name, model):
    """The shape of a network's first input (noise or images) and of its output."""
    if not isinstance(model, keras.Model):
        raise ValueError(f"{name} must be a keras.Model, got {type(model).__name__}.")
    try:
        inputs = model.input_shape
        first = inputs[0] if conditioning.is_conditional(model) else inputs
        return tuple(first), tuple(model.output_shape)
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


class GAN(sampling.Sampling, engine.Trainer):
    """A generator and a discriminator, trained with ``compile`` and ``fit``.

    ``latent`` is ``"uniform"`` (in [-1, 1], as in the MLP write-ups) or ``"normal"`` (standard
    normal, as in DCGAN); ``latent_dim`` defaults to the generator's input size.
    ``value_range`` is the range of the generator's images, (-1, 1) for tanh and (0, 1) for
    sigmoid outputs: training images are scaled to it and everything that turns generated
    images into pixels reads it. ``seed`` keys the noise and batches of every step; ``None``
    draws it from NumPy's global generator, which ``gan_mnist.set_seed`` seeds.

    Conditional networks (a label as their second input, ``gan_mnist.conditioning``) make a
    conditional GAN: it trains on images and labels, draws its generated labels
    ``label_distribution`` (``"uniform"``, or ``"data"``: by the training labels' frequencies)
    and generates digits on demand. With ``clusters=K`` the same networks (built for ``K``
    classes) make a self-conditioned GAN (``gan_mnist.clustering``): it trains on the images'
    cluster ids, and draws the ids of its digits by the clusters' shares of the data,
    ``cluster_frequencies`` (a weight, saved with its checkpoints). ``ema_decay`` keeps
    ``ema_generator``, an exponential moving average of the generator's weights updated after
    every step; ``sampler`` (the average when there is one) draws every generated image, and
    ``generator`` keeps the raw weights. What the generator is fed, in training and in
    ``generate``, and the clusters' bookkeeping live in ``gan_mnist.sampling``.
    """

    def __init__(self, generator, discriminator, latent_dim=None, latent="uniform",
                 value_range=(-1.0, 1.0), seed=None, ema_decay=None,
                 label_distribution="uniform", clusters=None, name="gan", **kwargs):
        (generator_input, image_shape), (discriminator_input, logit_shape) = (
            _shapes("generator", generator), _shapes("discriminator", discriminator)
        )
        latent_dim = generator_input[-1] if latent_dim is None else latent_dim
        latent_dim = engine.check_integer("latent_dim", latent_dim, 1)
        if len(generator_input) != 2 or latent_dim != generator_input[-1]:
            raise ValueError(
                f"latent_dim is {latent_dim} but the generator takes inputs of shape "
                f"{generator_input}. Pass latent_dim={generator_input[-1]} or leave it out."
            )
        if image_shape[1:] != discriminator_input[1:]:
            raise ValueError(
                f"The generator makes images of shape {image_shape[1:]} but the "
                f"discriminator takes {discriminator_input[1:]}; build them for the same "
                "image shape."
            )
        if tuple(logit_shape[1:]) != (1,):
            raise ValueError(
                f"The discriminator must return one logit per image, shape (N, 1), but it "
                f"returns {logit_shape}."
            )
        if latent not in DISTRIBUTIONS:
            raise ValueError(f"Unknown latent distribution {latent!r}; use 'uniform' or 'normal'.")
        conditional = conditioning.is_conditional(generator)
        if conditional != conditioning.is_conditional(discriminator):
            raise ValueError(
                "Only one of the networks takes labels; a conditional GAN needs both "
                "conditional (models.build(preset, conditional=True))."
            )
        if label_distribution not in LABEL_DISTRIBUTIONS:
            raise ValueError(f"label_distribution must be 'uniform' or 'data', got "
                             f"{label_distribution!r}.")
        if clusters is not None:
            clusters = engine.check_integer("clusters", clusters, 2)
            if not conditional:
                raise ValueError(
                    f"A self-conditioned GAN of {clusters} clusters needs networks that take a "
                    f"cluster id (models.build(preset, conditional={clusters}))."
                )
        seed = int(np.random.randint(0, 2**31 - 1)) if seed is None else seed
        seed = engine.check_integer("seed", seed, 0)
        classes = (clusters or conditioning.NUM_CLASSES) if conditional else None
        super().__init__(image_shape[1:], value_range, seed, classes, name=name, **kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.latent = latent
        self.label_distribution = label_distribution
        self.keep_clusters(clusters)
        self.ema_decay = None if ema_decay is None else float(ema_decay)
        self.ema_generator = None
        if ema_decay is not None:
            if not 0 < ema_decay < 1 or self.distribute_strategy.num_replicas_in_sync > 1:
                raise ValueError(
                    f"ema_decay must be in (0, 1), such as 0.999, and the average is kept on one "
                    f"device only; got {ema_decay!r} on "
                    f"{self.distribute_strategy.num_replicas_in_sync} replicas."
                )
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
        self.built = True

    def compile(self, d_optimizer=None, g_optimizer=None, loss="non_saturating", d_steps=1,
                gradient_penalty=0.0, mode_seeking=0.0, steps_per_execution=200,
                jit_compile="auto", **kwargs):
        """Set the optimizers, the loss and the update schedule.

        ``d_optimizer`` and ``g_optimizer`` default to Adam with Keras' defaults; each network
        needs its own. ``loss`` is a ``gan_mnist.losses`` name or object; ``d_steps``
        discriminator updates run per generator update and ``gradient_penalty`` weights the
        WGAN-GP term (Gulrajani et al., 2017); ``mode_seeking`` weights MSGAN's term on the
        generator (``losses.mode_seeking``, Mao et al., 2019). ``steps_per_execution`` (the most
        steps per call from Python) and ``jit_compile`` (``"auto"``: XLA on a GPU, and on a CPU
        for networks without convolutions) go to ``engine.Trainer.compile``, other keyword
        arguments to ``keras.Model.compile``.
        """
        loss = losses.get(loss)
        d_optimizer = _optimizer("d_optimizer", d_optimizer)
        g_optimizer = _optimizer("g_optimizer", g_optimizer)
        d_steps = engine.check_integer("d_steps", d_steps, 1)
        losses.check_weight("gradient_penalty", gradient_penalty, "10 in WGAN-GP")
        losses.check_weight("mode_seeking", mode_seeking, "1 in MSGAN")
        self.set_optimizers(d_optimizer, g_optimizer)
        super().compile(steps_per_execution, jit_compile,
                        (self.generator, self.discriminator), **kwargs)
        self.gan_loss = loss
        self.d_steps = d_steps
        self.gradient_penalty = float(gradient_penalty)
        self.mode_seeking = float(mode_seeking)

    def fake_batch(self, key, batch_size, paired=False):
        """Generated images for ``batch_size`` noise vectors (and labels) drawn from ``key``.

        ``paired`` gives image ``i`` of the second half the label of image ``i`` of the first:
        the pairs of ``losses.mode_seeking``, two noise vectors for one label.
        """
        noise = self.noise(key, batch_size)
        if self.classes is None:
            return self.generator(noise, training=True), None
        labels = self.fake_labels(tf.random.experimental.stateless_fold_in(key, 1), batch_size)
        if paired:
            half = batch_size // 2
            labels = tf.concat([labels[:half], labels[:half], labels[2 * half:]], axis=0)
        return self.generator([noise, labels], training=True), labels

    def critic(self, images, labels, training=True):
        """The discriminator's logits for images (of these labels, when conditional)."""
        return self.discriminator(images if labels is None else [images, labels],
                                  training=training)

    def train_step(self, data):
        # Independent random streams for this step: a real batch and noise per discriminator
        # update, then noise for the generator update.
        keys = self.step_keys(2 * self.d_steps + 1)
        for update in range(self.d_steps):
            # 1. The discriminator learns to score real digits high and generated ones low.
            real, real_labels = self.real_batch(data, keys[2 * update])
            batch_size = real.shape[0] or tf.shape(real)[0]
            fake, fake_labels = self.fake_batch(keys[2 * update + 1], batch_size)
            with tf.GradientTape() as tape:
                real_logits = self.critic(real, real_labels)
                fake_logits = self.critic(fake, fake_labels)
                d_loss = self.gan_loss.discriminator_loss(real_logits, fake_logits)
                if self.gradient_penalty:
                    # WGAN-GP: the critic's gradient norm is pulled to 1 between real and fake,
                    # with interpolation weights from this update's own key.
                    epsilon = tf.random.stateless_uniform(
                        [batch_size], tf.random.experimental.stateless_fold_in(keys[2 * update], 1)
                    )
                    critic = self.discriminator if real_labels is None else (
                        lambda images, training: self.critic(images, real_labels, training)
                    )
                    d_loss += losses.gradient_penalty(critic, real, fake, self.gradient_penalty,
                                                      epsilon)
            self.update(self.discriminator, self.d_optimizer, tape, d_loss)

        # 2. The generator learns to make digits the discriminator scores as real (with
        # mode_seeking, also to make different digits of different noise: MSGAN).
        with tf.GradientTape() as tape:
            generated, labels = self.fake_batch(keys[-1], batch_size, self.mode_seeking > 0)
            g_loss = self.gan_loss.generator_loss(self.critic(generated, labels))
            if self.mode_seeking:
                g_loss += losses.mode_seeking(generated, self.noise(keys[-1], batch_size),
                                              self.mode_seeking)
        self.update(self.generator, self.g_optimizer, tape, g_loss)
        if self.ema_generator is not None:
            # 3. The weight average follows the generator (Yazici et al., 2019).
            engine.average_into(self.ema_generator, self.generator, self.ema_decay)

        # 4. The step's record: both losses, and the mean probability D gives real and
        # generated digits (1/2 at the equilibrium) at the last discriminator update.
        return self.record(
            d_loss=d_loss,
            g_loss=g_loss,
            d_real=tf.reduce_mean(tf.sigmoid(tf.cast(real_logits, tf.float32))),
            d_fake=tf.reduce_mean(tf.sigmoid(tf.cast(fake_logits, tf.float32))),
        )


def build_gan(config, networks=None, clustering=None):
    """A compiled ``GAN`` for a ``RunConfig``, untrained.

    The networks are the config's preset (with its widths and ``latent_dim``) unless
    ``networks=(generator, discriminator)`` is given; each gets an Adam optimiser with the
    config's settings for it. A self-conditioned config (``clusters=K``) takes the shares of
    its clusters from ``clustering`` (a ``clustering.Clustering``), else from the checkpoint
    restored into it. Seed first (``gan_mnist.set_seed``) for repeatable weights;
    ``gan_mnist.train`` does.
    """
    if networks is None:
        networks = models.build(
            config.preset, latent_dim=config.latent_dim,
            generator_widths=config.generator_widths,
            discriminator_widths=config.discriminator_widths,
            conditional=config.clusters or config.conditional,
            minibatch_std=config.minibatch_std,
        )
    generator, discriminator = networks
    gan = GAN(generator, discriminator, latent_dim=config.latent_dim, latent=config.latent,
              value_range=config.value_range, seed=config.seed, ema_decay=config.ema_decay,
              label_distribution=config.label_distribution, clusters=config.clusters)
    if clustering is not None:
        gan.set_clusters(clustering)
    options = {"label_smoothing": config.label_smoothing} if config.label_smoothing else {}
    d_rate, g_rate = schedules.rates(config)
    gan.compile(
        keras.optimizers.Adam(d_rate, beta_1=config.d_beta_1, beta_2=config.d_beta_2),
        keras.optimizers.Adam(g_rate, beta_1=config.g_beta_1, beta_2=config.g_beta_2),
        loss=losses.get(config.loss, **options), d_steps=config.d_steps,
        gradient_penalty=config.gradient_penalty, mode_seeking=config.mode_seeking,
        steps_per_execution=config.steps_per_execution, jit_compile=config.jit_compile,
    )
    return gan
