"""Bidirectional LSTM text classifier (IMDB): embedding 128, stacked BiLSTMs,
dense on the concatenated last forward and backward states of the top layer.
Paper: 2 layers of 70 cells; the reference config: 1 layer of 100.
Token 0 is padding and is masked.

Initialised as PyTorch initialises the reference's modules: the embedding
N(0, 1); every LSTM weight U(-k, k) with k = 1/sqrt(cells), and its bias the
sum of PyTorch's two bias vectors (b_ih + b_hh, each U(-k, k)); no forget-gate
bias of 1 (Keras's default).
"""

import math

import keras

from kd_tf.models.layers import torch_default_bias, torch_default_kernel


@keras.saving.register_keras_serializable(package="kd_tf")
class SumOfTwoUniforms(keras.initializers.Initializer):
    """U(-k, k) + U(-k, k): Keras's one LSTM bias standing for PyTorch's b_ih + b_hh."""

    def __init__(self, bound, seed=None):
        self.bound, self.seed = float(bound), seed
        self._first = keras.initializers.RandomUniform(-self.bound, self.bound, seed=seed)
        self._second = keras.initializers.RandomUniform(-self.bound, self.bound,
                                                        seed=None if seed is None else seed + 1)

    def __call__(self, shape, dtype=None):
        return self._first(shape, dtype) + self._second(shape, dtype)

    def get_config(self):
        return {"bound": self.bound, "seed": self.seed}


def torch_lstm(cells, return_sequences):
    bound = 1.0 / math.sqrt(cells)
    uniform = keras.initializers.RandomUniform(-bound, bound)
    return keras.layers.LSTM(cells, return_sequences=return_sequences, kernel_initializer=uniform,
                             recurrent_initializer=uniform, bias_initializer=SumOfTwoUniforms(bound),
                             unit_forget_bias=False)


@keras.saving.register_keras_serializable(package="kd_tf")
class BiLSTMClassifier(keras.Model):
    def __init__(self, num_classes=2, vocab_size=20_000, embedding_dim=128, num_layers=2, cells=70, **kwargs):
        super().__init__(**kwargs)
        self.num_classes, self.vocab_size, self.embedding_dim = num_classes, vocab_size, embedding_dim
        self.num_layers, self.cells = num_layers, cells
        self.embedding = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name="embedding",
                                                embeddings_initializer=keras.initializers.RandomNormal(0.0, 1.0))
        self.lstms = [keras.layers.Bidirectional(torch_lstm(cells, i < num_layers - 1), name=f"lstm_{i}")
                      for i in range(num_layers)]
        self.fc = keras.layers.Dense(num_classes, name="fc", kernel_initializer=torch_default_kernel(),
                                     bias_initializer=torch_default_bias(2 * cells))

    def call(self, tokens, training=False):
        x = self.embedding(tokens)
        mask = self.embedding.compute_mask(tokens)
        for lstm in self.lstms:
            x = lstm(x, mask=mask, training=training)
        return self.fc(x)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "vocab_size": self.vocab_size,
                "embedding_dim": self.embedding_dim, "num_layers": self.num_layers, "cells": self.cells}
