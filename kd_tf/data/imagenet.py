"""ImageNet, streamed from TFDS (it does not fit in memory).

Training: torchvision's RandomResizedCrop(224) (scale 0.08-1, ratio 3/4-4/3)
drawn statelessly, then the policy (its baseline is the horizontal flip).
Training records stay JPEG bytes through the shuffle buffer (about a fifth of
the decoded size), and only the crop is decoded (decode_and_crop_jpeg).
Evaluation: resize the short side to 256, centre crop 224.
Each epoch reads the files in an order seeded by (seed, epoch) and shuffles
with a seeded buffer; per-example keys are (seed, epoch, pipeline, position).
"""

import dataclasses

import tensorflow as tf

from kd_tf.data import keys, tfds_source
from kd_tf.data.catalog import PROPERTIES, Dataset
from kd_tf.data.normalization import to_model_range, unit_interval
from kd_tf.data.stages import batch_stage, finish_example
from kd_tf.data.stream_spec import Layout, steps_per_epoch
from kd_tf.errors import UserError

SHUFFLE_BUFFER = 10_000
EVAL_RESIZE = 256


@dataclasses.dataclass(frozen=True)
class StreamingSplit:
    builder: object
    split: str
    num_examples: int

    def __len__(self):
        return self.num_examples


def _num_examples(builder, split):
    try:
        return builder.info.splits[split].num_examples
    except KeyError:  # no split metadata (e.g. tfds.testing.mock_data): count
        return int(builder.as_dataset(split=split).reduce(0, lambda n, _: n + 1))


def load(name, data_dir=None):
    builder = tfds_source.prepared_builder(name, data_dir)
    splits = {s: StreamingSplit(builder, s, _num_examples(builder, s)) for s in ("train", "validation")}
    return Dataset(name, splits["train"], splits["validation"], PROPERTIES[name])


def random_resized_crop(image, key, size):
    """image uint8 [h, w, 3] -> float32 [size, size, 3] in [0, 1]."""
    begin, crop_size = _crop_window(tf.shape(image), key)
    crop = tf.slice(image, begin, crop_size)
    return tf.image.resize(unit_interval(crop), (size, size), method="bilinear")


def _crop_window(shape, key):
    begin, crop_size, _ = tf.image.stateless_sample_distorted_bounding_box(
        shape, bounding_boxes=tf.constant([[[0.0, 0.0, 1.0, 1.0]]]), seed=key,
        min_object_covered=0.0, aspect_ratio_range=(3 / 4, 4 / 3), area_range=(0.08, 1.0),
        max_attempts=10, use_image_if_no_bounding_boxes=True)
    return begin, crop_size


def random_resized_crop_jpeg(encoded, key, size):
    """random_resized_crop of a JPEG's bytes, decoding only the crop: the same
    window from the same key, the same pixels."""
    begin, crop_size = _crop_window(tf.image.extract_jpeg_shape(encoded), key)
    window = tf.stack([begin[0], begin[1], crop_size[0], crop_size[1]])
    crop = tf.image.decode_and_crop_jpeg(encoded, window, channels=3)
    return tf.image.resize(unit_interval(crop), (size, size), method="bilinear")


def center_crop(image, size, resize=EVAL_RESIZE):
    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    scale = resize / tf.reduce_min(shape)
    resized = tf.image.resize(unit_interval(image), tf.cast(tf.round(shape * scale), tf.int32), method="bilinear")
    return tf.image.resize_with_crop_or_pad(resized, size, size)


def _read(split, seed, input_context=None, encoded=False):
    """(image, label) pairs; encoded: the image as its JPEG bytes."""
    import tensorflow_datasets as tfds

    config = tfds.ReadConfig(shuffle_seed=seed, input_context=input_context, interleave_cycle_length=16)
    decoders = {"image": tfds.decode.SkipDecoding()} if encoded else None
    return split.builder.as_dataset(split=split.split, as_supervised=True, shuffle_files=seed is not None,
                                    read_config=config, decoders=decoders)


def stream(split, properties, spec, start_epoch=0, input_context=None, skip_batches=0):
    """skip_batches: this pipeline's batches of start_epoch already done; their
    records are dropped before decoding."""
    layout = Layout.of(spec, input_context)
    if not layout.uniform:
        raise UserError(f"ImageNet: the --aug=gan rows of a batch of {spec.batch_size} must divide evenly "
                        f"among the {layout.replicas} replicas on a streamed dataset; change --batch_size.")
    batches_per_epoch = layout.batches_per_epoch(steps_per_epoch(len(split), spec, layout.replicas))
    size = properties.image_shape[0]

    def epoch_batches(epoch, skip=0):
        epoch_seed = spec.seed * 100_003 + epoch
        ds = _read(split, epoch_seed, input_context, encoded=True).shuffle(SHUFFLE_BUFFER, seed=epoch_seed)
        ds = ds.enumerate().skip(skip * layout.real)

        def example(position, pair):
            encoded, label = pair
            key = keys.key(spec.seed, keys.EXAMPLE, epoch, layout.pipeline, position)
            crop_key, policy_key = tf.unstack(tf.random.experimental.stateless_split(key, 2))
            image = random_resized_crop_jpeg(encoded, crop_key, size)
            image.set_shape(properties.image_shape)
            return finish_example(image, tf.cast(label, tf.int32), tf.constant(spec.temperature),
                                               policy_key, spec, properties)

        ds = ds.map(example, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        ds = ds.batch(layout.real, drop_remainder=True).take(batches_per_epoch - skip).enumerate(start=skip)
        return ds.map(lambda step, batch: batch_stage(batch, spec, properties, layout, epoch, step),
                      num_parallel_calls=tf.data.AUTOTUNE)

    ds = epoch_batches(start_epoch, skip_batches)
    for epoch in range(start_epoch + 1, spec.epochs):
        ds = ds.concatenate(epoch_batches(epoch))
    return ds.prefetch(tf.data.AUTOTUNE)


def evaluation_dataset(split, properties, batch_size):
    size = properties.image_shape[0]
    ds = _read(split, None).map(
        lambda image, label: {"image": to_model_range(center_crop(image, size)), "label": tf.cast(label, tf.int32)},
        num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
