"""One-off TensorBoard records of a run: its flags as text, an HParams
summary for the HParams dashboard, and images."""

import tensorflow as tf


def write_text(log_dir, name, text):
    writer = tf.summary.create_file_writer(f"{log_dir}/train")
    with writer.as_default():
        tf.summary.text(name, text, step=0)
    writer.close()


def write_image(log_dir, name, image):
    """image: uint8 [H, W, 3]."""
    writer = tf.summary.create_file_writer(f"{log_dir}/train")
    with writer.as_default():
        tf.summary.image(name, image[None], step=0)
    writer.close()


def write_hparams(log_dir, hparams):
    """An HParams summary, so that sweeps compare in TensorBoard's HParams dashboard."""
    from tensorboard.plugins.hparams import api as hp

    writer = tf.summary.create_file_writer(f"{log_dir}/test")
    with writer.as_default():
        hp.hparams(hparams)
    writer.close()
