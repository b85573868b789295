"""Training data kept on the device, so that every batch is drawn inside the compiled step.

``InMemoryData`` holds the training images (and, for a conditional GAN, their labels) in
device variables, copied once: the same arrays given again (by checksum) are not copied again,
which matters when a notebook calls ``fit`` many times on 60,000 digits. ``fit_inputs`` turns
what ``fit`` was given (images, or a ``tf.data.Dataset`` of batches) into what Keras iterates.
"""

import zlib

import numpy as np

from gan_mnist import conditioning, data
from gan_mnist.backend import tf


class InMemoryData:
    """Images (float32, in the model's value range) and labels (int32 or ``None``) on a device.

    Plain Python, so Keras and ``tf.train.Checkpoint`` do not track (or save) the data.
    """

    def __init__(self):
        self.images = None
        self.labels = None
        # Log class frequencies of the labels, for drawing generated labels like the data's.
        self.label_logits = None
        self._fingerprint = None

    def store(self, images, labels, value_range, image_shape, classes, strategy):
        """Keep ``images`` (and ``labels``, of ``classes`` values) on the device; return the
        image variable.
        """
        array = np.ascontiguousarray(images)
        labels = _checked_labels(labels, len(array), classes)
        fingerprint = (array.shape, array.dtype.str, zlib.crc32(array.data),
                       None if labels is None else zlib.crc32(labels.data))
        if self.images is not None and fingerprint == self._fingerprint:
            return self.images
        array = data.training_images(array, value_range, image_shape)
        if self.images is not None and tuple(self.images.shape) == array.shape:
            self.images.assign(array)
        else:
            with strategy.scope():
                self.images = tf.Variable(array, trainable=False)
        if labels is not None:
            # Assigned in place where possible: a traced train step keeps reading the variable
            # it captured, so new labels for the same images (new clusters) must land in it.
            if self.labels is not None and tuple(self.labels.shape) == labels.shape:
                self.labels.assign(labels)
            else:
                with strategy.scope():
                    self.labels = tf.Variable(labels, trainable=False)
            frequencies = np.bincount(labels, minlength=classes) / len(labels)
            self.label_logits = tf.constant(np.log(np.maximum(frequencies, 1e-12)), tf.float32)
        self._fingerprint = fingerprint
        return self.images

    def release(self):
        """Drop the device copies; the next ``store`` makes new ones."""
        self.images = self.labels = self.label_logits = self._fingerprint = None

    def batch(self, indices):
        """The images (and labels, or ``None``) at ``indices``, gathered in the graph."""
        labels = None if self.labels is None else tf.gather(self.labels, indices)
        return tf.gather(self.images, indices), labels


def fit_inputs(stored, x, y, batch_size, steps_per_epoch, value_range, image_shape, classes,
               strategy):
    """Keras' input for ``Trainer.fit``, the steps per epoch and the signature of the set-up.

    A ``tf.data.Dataset`` ``x`` is read one batch per step (``batch_size`` must be ``None``);
    images ``x`` (and labels ``y``) go into ``stored``, an ``InMemoryData``, and Keras gets one
    element per step, the batch (``batch_size``, a positive integer) being drawn in the graph.
    """
    if isinstance(x, tf.data.Dataset):
        if batch_size is not None:
            raise ValueError(
                "batch_size is set by the dataset; leave it out with a tf.data.Dataset."
            )
        if classes and not isinstance(x.element_spec, tuple):
            raise ValueError("A conditional GAN needs a dataset of (images, labels) batches.")
        if classes:
            x = x.map(lambda images, labels, *rest: (images, tf.cast(labels, tf.int32)))
        elif isinstance(x.element_spec, tuple):
            x = x.map(lambda images, *rest: images)
        if steps_per_epoch is not None:
            return x.take(steps_per_epoch), steps_per_epoch, ("dataset", None)
        cardinality = int(x.cardinality())
        if cardinality <= 0:
            raise ValueError(
                "The dataset's length is infinite or unknown; pass steps_per_epoch."
            )
        return x, cardinality, ("dataset", None)
    replicas = strategy.num_replicas_in_sync
    images = stored.store(x, y, value_range, image_shape, classes, strategy)
    if batch_size > images.shape[0]:
        raise ValueError(
            f"batch_size {batch_size} is larger than the {images.shape[0]} images given."
        )
    if batch_size % replicas:
        raise ValueError(
            f"batch_size {batch_size} must be a multiple of the {replicas} replicas."
        )
    if steps_per_epoch is None:
        steps_per_epoch = images.shape[0] // batch_size
    # Keras only needs one element per step: the batches are drawn in the graph. The
    # finite dataset ends each epoch after exactly steps_per_epoch steps.
    inputs = tf.data.Dataset.range(steps_per_epoch * replicas).batch(replicas)
    return inputs, steps_per_epoch, ("memory", batch_size, id(images))


def _checked_labels(labels, count, classes):
    if not classes:
        if labels is not None:
            raise ValueError(
                "Labels were given, but this GAN is not conditional; build it with conditional "
                "networks (RunConfig(conditional=True)) or leave the labels out."
            )
        return None
    if labels is None:
        raise ValueError(
            "A conditional GAN trains on images and their labels: fit(images, labels), or a "
            "dataset of (images, labels) batches."
        )
    return np.ascontiguousarray(conditioning.check_labels(labels, count, classes))
