"""The names the package knows, in one module that loads neither Keras nor TensorFlow.

The command line lists them in its help (which answers without starting TensorFlow), and
``RunConfig`` validates against them; the modules that implement each choice import its names
from here.
"""

# gan_mnist.models: the write-ups' networks and ours.
MLP_PRESETS = ("vanilla", "leaky")
DCGAN_PRESETS = ("classic", "recommended")
PRESETS = MLP_PRESETS + DCGAN_PRESETS
ARCHITECTURES = {"mlp": MLP_PRESETS, "dcgan": DCGAN_PRESETS}
# gan_mnist.learners: the GANs of lesson "What a GAN learns", as the command line names them.
LEARNER_MODELS = ("infogan", "semi-supervised")

# gan_mnist.losses: the GAN losses, and those whose real label can be smoothed.
LOSSES = ("minimax", "non_saturating", "least_squares", "wasserstein", "hinge")
SMOOTHED_LOSSES = ("minimax", "non_saturating")

# gan_mnist.latent: the noise distributions (uniform in [-1, 1], standard normal).
LATENTS = ("uniform", "normal")
# gan_mnist.gan: how a class-conditional GAN draws the labels of its generated digits.
LABEL_DISTRIBUTIONS = ("uniform", "data")

# gan_mnist.metrics: the MNIST splits compared against, and the most samples scored (the size
# of the test set, which is either the reference or the floor's sample).
REFERENCES = ("test", "train")
MAX_SAMPLES = 10_000

# gan_mnist.run: what a run folder shows at the end of training.
SAMPLE_COUNT = 64
SAMPLE_SEED = 1
EVALUATION_SEED = 0

# gan_mnist.evaluator: the training settings of the shipped evaluator.
EVALUATOR_SETTINGS = dict(seed=0, epochs=5, batch_size=128, learning_rate=0.001, translation=0.08)
