"""Two Keras 3 (3.15) bugs that make `fit` fail under
MultiWorkerMirroredStrategy; both are in how Keras reduces values across
replicas, not in the training itself (tensorflow/tensorflow#72388).

1. Before the first step, `fit` builds the model from its first batch after
   reducing the batch with `strategy.reduce("MEAN", batch)`, which the
   collective strategy rejects for a structure (ValueError: Attempt to convert
   a value (PerReplica...) to a Tensor). The build needs only shapes and
   dtypes: one replica's local part serves, with no collective.
2. Each step's logs (scalar metric results) are reduced with
   `strategy.reduce("MEAN", v, axis=0)`: axis 0 of a scalar (ValueError:
   Invalid reduction dimension 0). The mean over replicas is axis=None.
"""

import types

import tensorflow as tf
from keras.src.backend.tensorflow import trainer as keras_tf_trainer

_keras_reduce_per_replica = keras_tf_trainer.reduce_per_replica


def _reduce_per_replica(values, strategy, reduction):
    if reduction in ("auto", "mean") and keras_tf_trainer._collective_all_reduce_multi_worker(strategy):
        def mean(v):
            if not isinstance(v, tf.distribute.DistributedValues):
                return v
            return strategy.reduce("MEAN", v, axis=None if v.values[0].shape.rank == 0 else 0)
        return tf.nest.map_structure(mean, values)
    return _keras_reduce_per_replica(values, strategy, reduction)


keras_tf_trainer.reduce_per_replica = _reduce_per_replica


def _build_from_a_local_batch(model, iterator=None, data_batch=None):
    if model._distribute_strategy is None:
        return
    if iterator is not None:
        for _, _, it in iterator:
            batch = next(it)
            data_batch = tf.nest.map_structure(
                lambda x: (model.distribute_strategy.experimental_local_results(x)[0]
                           if isinstance(x, tf.distribute.DistributedValues) else x), batch)
            break
    with model.distribute_strategy.scope():
        model._symbolic_build(data_batch=data_batch)


def fit_on_distributed_data(model):
    """Makes model.fit work on a distributed dataset under any strategy
    (both fixes above); returns model."""
    model._maybe_symbolic_build = types.MethodType(_build_from_a_local_batch, model)
    return model
