"""Image grids of distillation batches, with each row's kind marked by a
border: green for real labelled rows, orange for real rows without a true
label (noise, out-of-domain), red for synthetic (GAN) rows."""

import numpy as np
import tensorflow as tf

from kd_tf.data.normalization import to_unit_interval

REAL, UNLABELLED, SYNTHETIC = 0, 1, 2
COLOURS = {REAL: (40, 180, 60), UNLABELLED: (240, 150, 20), SYNTHETIC: (220, 30, 30)}


def row_kinds(batch, num_real):
    """Kinds of the rows of a batch whose first num_real rows are real."""
    labels = np.asarray(batch["label"])
    kinds = np.where(labels >= 0, REAL, UNLABELLED)
    kinds[num_real:] = SYNTHETIC
    return kinds


def grid(images, kinds, columns=16, border=2):
    """images float [-1, 1] [n, h, w, c] -> uint8 RGB grid [H, W, 3]."""
    images = np.asarray(images)
    n, h, w, c = images.shape
    pixels = np.clip(np.round(to_unit_interval(images) * 255.0), 0, 255).astype(np.uint8)
    if c == 1:
        pixels = np.repeat(pixels, 3, axis=-1)
    rows = -(-n // columns)
    cell_h, cell_w = h + 2 * border, w + 2 * border
    out = np.full((rows * cell_h, columns * cell_w, 3), 255, np.uint8)
    for i in range(n):
        y, x = (i // columns) * cell_h, (i % columns) * cell_w
        out[y:y + cell_h, x:x + cell_w] = COLOURS[int(kinds[i])]
        out[y + border:y + border + h, x + border:x + border + w] = pixels[i]
    return out


def write_png(image, path):
    tf.io.write_file(path, tf.io.encode_png(image))
