"""Training data kept on the device, so that every batch is drawn inside the compiled step.

``InMemoryData`` holds the training images (and, for a conditional GAN, their labels) in
device variables, copied once: the same arrays given again (by checksum) are not copied again,
which matters when a notebook calls ``fit`` many times on 60,000 digits.
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
