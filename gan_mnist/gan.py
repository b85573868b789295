"""``GAN``: a generator and a discriminator trained together with Keras' ``fit``.

The training step is the algorithm of Goodfellow et al. (2014) as the classic write-ups run it:
each step takes a batch of real digits, updates the discriminator on it and on generated
digits (``d_steps`` times, with a gradient penalty for WGAN-GP), then updates the generator,
drawing fresh noise for each update. Everything that makes the loop fast, exact and
reproducible (in-memory batches, many steps per call, per-step records, counter-based random
numbers, several devices) lives in ``gan_mnist.engine``.
"""

import numpy as np

from gan_mnist import engine, losses, models
from gan_mnist.backend import keras, tf
from gan_mnist.latent import DISTRIBUTIONS, sample_latent


def _shapes(name, model):
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


class GAN(engine.Trainer):
    """A generator and a discriminator, trained with ``compile`` and ``fit``.

    ``latent`` is ``"uniform"`` (in [-1, 1], as in the MLP write-ups) or ``"normal"`` (standard
    normal, as in DCGAN); ``latent_dim`` defaults to the generator's input size.
    ``value_range`` is the range of the generator's images, (-1, 1) for tanh and (0, 1) for
    sigmoid outputs: training images are scaled to it and everything that turns generated
    images into pixels reads it. ``seed`` keys the noise and batches of every step; ``None``
    draws it from NumPy's global generator, which ``gan_mnist.set_seed`` seeds. Calling the
    GAN on latent vectors runs the generator.
    """

    def __init__(self, generator, discriminator, latent_dim=None, latent="uniform",
                 value_range=(-1.0, 1.0), seed=None, name="gan", **kwargs):
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
        seed = int(np.random.randint(0, 2**31 - 1)) if seed is None else seed
        seed = engine.check_integer("seed", seed, 0)
        super().__init__(image_shape[1:], value_range, seed, name=name, **kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.latent = latent
        self.built = True

    def call(self, latents, training=False):
        return self.generator(latents, training=training)

    def sample_latent(self, n, seed=None):
        """``n`` latent vectors, float32 ``(n, latent_dim)``; the same ``seed`` gives the same ones.

        Drawn with a NumPy generator of their own, so calling this never shifts training's
        random numbers.
        """
        return sample_latent(n, self.latent_dim, self.latent, seed)

    def generate(self, n, seed=None):
        """``n`` generated images in ``value_range``, a NumPy array, from ``sample_latent``.

        Batch normalisation runs in inference mode, so a fixed seed gives the same images
        on every call until the generator trains further.
        """
        latents = self.sample_latent(n, seed)
        return keras.ops.convert_to_numpy(self.generator(latents, training=False))

    def compile(self, d_optimizer=None, g_optimizer=None, loss="non_saturating", d_steps=1,
                gradient_penalty=0.0, steps_per_execution=200, jit_compile="auto", **kwargs):
        """Set the optimizers, the loss and the update schedule.

        ``d_optimizer`` and ``g_optimizer`` default to Adam with Keras' defaults; each network
        needs its own. ``loss`` is a ``gan_mnist.losses`` name or object; ``d_steps``
        discriminator updates run per generator update and ``gradient_penalty`` weights the
        WGAN-GP term (Gulrajani et al., 2017). ``steps_per_execution`` (the most steps per call
        from Python) and ``jit_compile`` (``"auto"``: XLA for networks without convolutions)
        go to ``engine.Trainer.compile``, other keyword arguments to ``keras.Model.compile``.
        """
        loss = losses.get(loss)
        d_optimizer = _optimizer("d_optimizer", d_optimizer)
        g_optimizer = _optimizer("g_optimizer", g_optimizer)
        if d_optimizer is g_optimizer:
            raise ValueError(
                "d_optimizer and g_optimizer are the same object; each network needs an "
                "optimizer of its own (its moment estimates belong to that network's weights)."
            )
        d_steps = engine.check_integer("d_steps", d_steps, 1)
        if (isinstance(gradient_penalty, bool) or not isinstance(gradient_penalty, (int, float))
                or not gradient_penalty >= 0):
            raise ValueError(
                f"gradient_penalty must be a non-negative number (10 in WGAN-GP), got "
                f"{gradient_penalty!r}."
            )
        for optimizer, current in ((d_optimizer, "d_optimizer"), (g_optimizer, "g_optimizer")):
            if optimizer.built and optimizer is not getattr(self, current, None):
                raise ValueError(
                    f"The optimizer {optimizer.name!r} was already used for other weights; "
                    "pass a fresh optimizer."
                )
        super().compile(steps_per_execution, jit_compile,
                        (self.generator, self.discriminator), **kwargs)
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer
        self.gan_loss = loss
        self.d_steps = d_steps
        self.gradient_penalty = float(gradient_penalty)
        # Build the optimizer slots now so that a checkpoint can be restored before training.
        with self.distribute_strategy.scope():
            for optimizer, network in ((d_optimizer, self.discriminator),
                                       (g_optimizer, self.generator)):
                if not optimizer.built:
                    optimizer.build(network.trainable_variables)

    def noise(self, key, batch_size):
        """This replica's noise for ``batch_size`` images, from the stateless ``key``."""
        if self.latent == "uniform":
            def draw(shape, seed):
                return tf.random.stateless_uniform(shape, seed, minval=-1.0, maxval=1.0)
        else:
            def draw(shape, seed):
                return tf.random.stateless_normal(shape, seed)
        return self.draw(key, [batch_size, self.latent_dim], draw)

    def train_step(self, data):
        # Independent random streams for this step: a real batch and noise per discriminator
        # update, then noise for the generator update.
        keys = self.step_keys(2 * self.d_steps + 1)
        for update in range(self.d_steps):
            # 1. The discriminator learns to score real digits high and generated ones low.
            real = self.real_batch(data, keys[2 * update])
            batch_size = real.shape[0] or tf.shape(real)[0]
            fake = self.generator(self.noise(keys[2 * update + 1], batch_size), training=True)
            with tf.GradientTape() as tape:
                real_logits = self.discriminator(real, training=True)
                fake_logits = self.discriminator(fake, training=True)
                d_loss = self.gan_loss.discriminator_loss(real_logits, fake_logits)
                if self.gradient_penalty:
                    # WGAN-GP: the critic's gradient norm is pulled to 1 between real and fake,
                    # with interpolation weights from this update's own key.
                    epsilon = tf.random.stateless_uniform(
                        [batch_size], tf.random.experimental.stateless_fold_in(keys[2 * update], 1)
                    )
                    d_loss += losses.gradient_penalty(self.discriminator, real, fake,
                                                      self.gradient_penalty, epsilon)
            self.update(self.discriminator, self.d_optimizer, tape, d_loss)

        # 2. The generator learns to make digits the discriminator scores as real.
        noise = self.noise(keys[-1], batch_size)
        with tf.GradientTape() as tape:
            generated_logits = self.discriminator(self.generator(noise, training=True),
                                                  training=True)
            g_loss = self.gan_loss.generator_loss(generated_logits)
        self.update(self.generator, self.g_optimizer, tape, g_loss)

        # 3. The step's record: both losses, and the mean probability D gives real and
        # generated digits (1/2 at the equilibrium) at the last discriminator update.
        return self.record(
            d_loss=d_loss,
            g_loss=g_loss,
            d_real=tf.reduce_mean(tf.sigmoid(tf.cast(real_logits, tf.float32))),
            d_fake=tf.reduce_mean(tf.sigmoid(tf.cast(fake_logits, tf.float32))),
        )


def build_gan(config, networks=None):
    """A compiled ``GAN`` for a ``RunConfig``, untrained.

    The networks are the config's preset (with its widths and ``latent_dim``) unless
    ``networks=(generator, discriminator)`` is given; each gets an Adam optimiser with the
    config's settings for it. Seed first (``gan_mnist.set_seed``) for repeatable weights;
    ``gan_mnist.train`` does.
    """
    if networks is None:
        networks = models.build(
            config.preset, latent_dim=config.latent_dim,
            generator_widths=config.generator_widths,
            discriminator_widths=config.discriminator_widths,
        )
    generator, discriminator = networks
    gan = GAN(generator, discriminator, latent_dim=config.latent_dim, latent=config.latent,
              value_range=config.value_range, seed=config.seed)
    options = {"label_smoothing": config.label_smoothing} if config.label_smoothing else {}
    gan.compile(
        keras.optimizers.Adam(config.d_learning_rate, beta_1=config.d_beta_1,
                              beta_2=config.d_beta_2),
        keras.optimizers.Adam(config.g_learning_rate, beta_1=config.g_beta_1,
                              beta_2=config.g_beta_2),
        loss=losses.get(config.loss, **options), d_steps=config.d_steps,
        gradient_penalty=config.gradient_penalty,
        steps_per_execution=config.steps_per_execution, jit_compile=config.jit_compile,
    )
    return gan
