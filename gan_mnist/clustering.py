"""Self-conditioning: clusters of the training images stand in for their labels.

One connected noise space mapped continuously onto digits that lie apart must also draw what
lies between them (Khayatkhoei et al., 2018, "Disconnected Manifold Learning for Generative
Adversarial Networks"): the malformed in-between digits of an unconditional GAN. A conditional
GAN avoids them by giving each class its own piece of the input, but needs labels. A
self-conditioned GAN (Liu et al., 2020, "Diverse Image Generation via Self-Conditioned GANs")
uses cluster ids instead, found without any label. Here the clusters are k-means (k-means++)
on the first principal components of the pixels: the images, and nothing trained on labels,
decide them.

``cluster_images(images, k, seed)`` returns a ``Clustering``: the id of each training image,
the centres, the projection that maps new images to the same features, and the clusters'
shares of the data, by which a self-conditioned GAN draws the ids of its generated digits.
``cluster_features`` does the same for rows of other features (a discriminator's, say).
``purity`` and ``matching_error`` compare the clusters (or any groups, such as an InfoGAN's
categorical code) with the labels, as diagnostics only.
"""

import dataclasses
from pathlib import Path

import numpy as np

from gan_mnist import files

COMPONENTS = 50
FORMAT = 1


def _pixels(images):
    """Images as float32 rows of pixels in [0, 1]: uint8 digits, or floats in [0, 1]."""
    array = np.asarray(images)
    if array.ndim not in (3, 4) or array.shape[1:3] != (28, 28):
        raise ValueError(
            f"Clustering takes MNIST images shaped (N, 28, 28) or (N, 28, 28, 1), got "
            f"{array.shape}."
        )
    if array.dtype == np.uint8:
        return array.reshape(len(array), -1).astype(np.float32) / 255.0
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"Images must be uint8 or floats in [0, 1], got dtype {array.dtype}.")
    return array.reshape(len(array), -1).astype(np.float32)


def check_cluster_count(k, count):
    """``k`` as an int from 2 to ``count`` (the number of images); ``ValueError`` otherwise."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise ValueError(
            f"The number of clusters must be an integer of at least 2, got {k!r} (one cluster "
            "is the plain unconditional GAN: leave clusters out)."
        )
    if k > count:
        raise ValueError(
            f"Cannot make {k} clusters of {count} images; choose at most {count} (20 to 200 "
            "suit MNIST)."
        )
    return int(k)


@dataclasses.dataclass(frozen=True, eq=False)
class Clustering:
    """Clusters of training images: ``assignments`` (the cluster of each image, int32),
    ``centres`` (k-means centres in the principal-component features), and the projection
    ``mean`` and ``components`` that give any image those features (``features`` and ``assign``
    take images: they serve a clustering of pixels). ``seed`` made it.
    """

    assignments: np.ndarray
    centres: np.ndarray
    mean: np.ndarray
    components: np.ndarray
    seed: int

    @property
    def k(self):
        """The number of clusters."""
        return len(self.centres)

    @property
    def counts(self):
        """Training images per cluster, int64 ``(k,)``."""
        return np.bincount(self.assignments, minlength=self.k)

    @property
    def frequencies(self):
        """Each cluster's share of the training images, float64 ``(k,)``, summing to 1."""
        return self.counts / self.counts.sum()

    def features(self, images):
        """The principal-component features of ``images`` (uint8, or floats in [0, 1])."""
        return (_pixels(images) - self.mean) @ self.components.T

    def assign(self, images):
        """The nearest centre of each image, int32 ``(N,)``."""
        features = self.features(images)
        distances = (np.sum(features**2, axis=1, keepdims=True) - 2 * features @ self.centres.T
                     + np.sum(self.centres**2, axis=1))
        return np.argmin(distances, axis=1).astype(np.int32)

    def purity(self, labels):
        """The share of images whose label is their cluster's most common one (a diagnostic:
        the clustering never sees labels). ``labels`` go with the training images.
        """
        labels = np.asarray(labels)
        if labels.shape != self.assignments.shape:
            raise ValueError(f"Expected one label per clustered image, {self.assignments.shape}, "
                             f"got {labels.shape}.")
        table = contingency(self.assignments, labels, groups=self.k)
        return float(table.max(axis=1).sum() / len(labels))

    def save(self, path):
        """Write the clustering to ``path`` (``.npz``, no pickle), atomically."""
        arrays = {field.name: np.asarray(getattr(self, field.name))
                  for field in dataclasses.fields(self)}
        files.write_atomically(
            path, lambda temporary: np.savez(temporary, format=np.int64(FORMAT), **arrays)
        )
        return Path(path)

    @classmethod
    def load(cls, path):
        """The clustering ``save`` wrote to ``path``."""
        if not Path(path).is_file():
            raise FileNotFoundError(f"No clustering at {path}.")
        with np.load(path, allow_pickle=False) as stored:
            values = {field.name: stored[field.name] for field in dataclasses.fields(cls)}
        values["seed"] = int(values["seed"])
        return cls(**values)


def contingency(ids, labels, groups=None, classes=None):
    """The table of counts, int64 ``(groups, classes)``: row ``i``, column ``j`` counts the
    images of group ``ids == i`` whose label is ``j``. ``groups`` and ``classes`` default to
    one more than the largest id and label (pass them to keep rows of empty groups).
    ``ValueError`` for arrays of other lengths, negative values, or values out of range.
    """
    ids, labels = np.asarray(ids), np.asarray(labels)
    if ids.ndim != 1 or ids.shape != labels.shape or len(ids) == 0:
        raise ValueError(f"Expected one label per group id, as two non-empty 1-D arrays; got "
                         f"shapes {ids.shape} and {labels.shape}.")
    if not (np.issubdtype(ids.dtype, np.integer) and np.issubdtype(labels.dtype, np.integer)) \
            or ids.min() < 0 or labels.min() < 0:
        raise ValueError("Group ids and labels must be non-negative integers.")
    groups = int(ids.max()) + 1 if groups is None else groups
    classes = int(labels.max()) + 1 if classes is None else classes
    if ids.max() >= groups or labels.max() >= classes:
        raise ValueError(f"Ids must be below {groups} and labels below {classes}.")
    table = np.zeros((groups, classes), np.int64)
    np.add.at(table, (ids, labels), 1)
    return table


def matching_error(ids, labels, groups=None, classes=None):
    """The error of groups used as a classifier when each group is matched to one label, one to
    one, so that the most images agree (the Hungarian method on the contingency table, as the
    InfoGAN paper scores its categorical code): ``(error, matching)``, where ``matching[i]`` is
    group ``i``'s label (-1 for a group left without one when there are more groups than
    labels; its images count as errors); ``groups`` and ``classes`` as in ``contingency``.
    Unlike ``purity``, two groups cannot both claim the 4s.
    """
    from scipy.optimize import linear_sum_assignment

    table = contingency(ids, labels, groups, classes)
    rows, columns = linear_sum_assignment(table, maximize=True)
    matching = np.full(len(table), -1, np.int64)
    matching[rows] = columns
    return float(1.0 - table[rows, columns].sum() / table.sum()), matching


def cluster_images(images, k, seed=0, components=COMPONENTS):
    """Cluster ``images`` (uint8 ``(N, 28, 28)`` or floats in [0, 1]) into ``k`` groups: their
    pixels through ``cluster_features``. No label is taken, or could be.
    """
    return cluster_features(_pixels(images), k, seed, components)


def cluster_features(rows, k, seed=0, components=COMPONENTS):
    """Cluster float ``rows`` ``(N, D)`` into ``k`` groups.

    The rows are projected on their first ``components`` principal components (scikit-learn's
    randomized PCA), then clustered by k-means with k-means++ seeding; both draw from ``seed``,
    so the same rows and seed give the same clusters.
    """
    # Imported here: scikit-learn is only needed by self-conditioned runs.
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    rows = np.asarray(rows, dtype=np.float32)
    k = check_cluster_count(k, len(rows))
    components = min(components, *rows.shape)
    pca = PCA(components, svd_solver="randomized", random_state=seed).fit(rows)
    features = pca.transform(rows)
    kmeans = KMeans(k, init="k-means++", n_init=1, random_state=seed).fit(features)
    return Clustering(
        assignments=kmeans.labels_.astype(np.int32),
        centres=kmeans.cluster_centers_.astype(np.float32),
        mean=pca.mean_.astype(np.float32),
        components=pca.components_.astype(np.float32),
        seed=int(seed),
    )
