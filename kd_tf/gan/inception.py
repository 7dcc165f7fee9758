"""Inception-v3 features for FID (2048-d pool features, or the 1,000-way
logits the reference used) and class probabilities for IS.

Weights come from --inception_weights (a Keras InceptionV3 .h5/.weights.h5
with its top), or from Keras's download where the machine is online. Without
either, FID and IS are skipped with a warning, never faked.
"""

import socket

import keras
import numpy as np
import tensorflow as tf
from absl import logging

DOWNLOAD_HOST = ("storage.googleapis.com", 443)


def _online(timeout=3.0):
    try:
        with socket.create_connection(DOWNLOAD_HOST, timeout=timeout):
            return True
    except OSError:
        return False


class InceptionFeatures:
    def __init__(self, model):
        self.model = model
        pool = model.get_layer("avg_pool").output
        self.features = keras.Model(model.input, pool)
        self.top = model.get_layer("predictions")

    def __call__(self, images, batch_size=100):
        """images in [-1, 1], any size and 1 or 3 channels -> (pool, logits, probabilities)."""
        pools = []
        for start in range(0, len(images), batch_size):
            x = tf.convert_to_tensor(images[start:start + batch_size], tf.float32)
            if x.shape[-1] == 1:
                x = tf.image.grayscale_to_rgb(x)
            x = tf.image.resize(x, (299, 299), method="bilinear")  # Keras's Inception takes [-1, 1]
            pools.append(np.asarray(self.features(x, training=False)))
        pool = np.concatenate(pools)
        logits = pool @ np.asarray(self.top.kernel) + np.asarray(self.top.bias)
        probabilities = np.asarray(tf.nn.softmax(logits))
        return pool, logits, probabilities


def load(weights_path=None):
    """InceptionFeatures, or None (with a warning) when no weights are to be had."""
    if weights_path:
        model = keras.applications.InceptionV3(weights=None, include_top=True)
        model.load_weights(weights_path)
        return InceptionFeatures(model)
    if not _online():
        logging.warning("FID and IS are skipped: no --inception_weights given and Keras cannot download "
                        "InceptionV3's weights from this machine.")
        return None
    try:
        return InceptionFeatures(keras.applications.InceptionV3(weights="imagenet", include_top=True))
    except Exception as e:  # a failed download: skip, loudly
        logging.warning("FID and IS are skipped: downloading InceptionV3's weights failed (%s).", e)
        return None
