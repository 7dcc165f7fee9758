"""Shipping a student: a .keras file and a SavedModel for serving."""

import keras
import tensorflow as tf

from kd_tf.train import workers


def export_saved_model(model, path, input_shape):
    """SavedModel with a `serving_default` signature:
    images float32 [batch, *input_shape] in [-1, 1] -> {"logits", "probabilities"}."""
    archive = keras.export.ExportArchive()
    archive.track(model)

    def serve(images):
        logits = tf.cast(model(images, training=False), tf.float32)  # float32 for users, whatever --precision
        return {"logits": logits, "probabilities": tf.nn.softmax(logits, axis=-1)}

    archive.add_endpoint(
        "serving_default", serve,
        input_signature=[tf.TensorSpec((None, *input_shape), tf.float32, name="images")],
    )
    archive.write_out(path, verbose=False)


def export_generator(generator, path):
    """SavedModel with `serving_default`: z float32 [n, z_dim] -> {"images"} in [-1, 1]."""
    archive = keras.export.ExportArchive()
    archive.track(generator)

    def serve(z):
        return {"images": generator(z, training=False)}

    archive.add_endpoint("serving_default", serve,
                         input_signature=[tf.TensorSpec((None, generator.z_dim), tf.float32, name="z")])
    archive.write_out(path, verbose=False)


def save_student(model, run_dir_paths, input_shape, strategy=None):
    """The .keras file and the SavedModel; under several workers every worker
    saves (a save may gather variables) and only the chief's files stay."""
    strategy = strategy or tf.distribute.get_strategy()
    workers.save_as_chief(strategy, run_dir_paths.student_keras, model.save)
    workers.save_as_chief(strategy, run_dir_paths.student_saved_model,
                          lambda path: export_saved_model(model, path, input_shape))
