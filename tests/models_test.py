"""The model zoo against the reference: parameter counts (REFERENCE.md
section 3), shapes, initialisation, BatchNorm settings, symmetric padding, and
a .keras round trip of every model."""

import os

import keras
import numpy as np
import tensorflow as tf
from absl.testing import absltest, parameterized

from kd_tf.config import choices
from kd_tf.models import sngan
from kd_tf.models.layers import BatchNorm, TorchConv2D
from kd_tf.models.registry import build_model, spec
from tests import numpy_reference as ref


def trainable_count(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def sublayers(model, kind):
    return [layer for layer in model._flatten_layers(include_self=False, recursive=True) if isinstance(layer, kind)]


# (name, classes) -> trainable parameters of the reference (PyTorch parameters()).
REFERENCE_COUNTS = {
    ("preresnet20", 10): 272_282, ("preresnet20", 100): 278_132,
    ("preresnet56", 10): 590_426, ("preresnet56", 100): 613_556,
    ("preresnet110", 10): 1_146_842, ("preresnet110", 100): 1_169_972,
    ("vgg16", 10): 15_245_130, ("vgg16", 100): 15_291_300,
    ("lenet5", 10): 61_706,
}


class ParameterCountTest(parameterized.TestCase):
    @parameterized.parameters(*REFERENCE_COUNTS)
    def test_matches_reference(self, name, classes):
        self.assertEqual(trainable_count(build_model(name, classes)), REFERENCE_COUNTS[(name, classes)])

    def test_sngan(self):
        self.assertEqual(trainable_count(build_model("sngan_generator")), 4_079_363)
        self.assertEqual(trainable_count(build_model("sngan_discriminator")), 1_037_313)

    def test_resnet50_is_the_standard_one(self):
        # torchvision's resnet50 (PyTorch parameters()), with the 1000-way head.
        self.assertEqual(trainable_count(build_model("resnet50", 1000, (64, 64, 3))), 25_557_032)

    def test_layernorm_variant_has_the_same_count(self):
        # GroupNorm(1 group) has per-channel scale and shift, like BatchNorm.
        self.assertEqual(trainable_count(build_model("preresnet20_layernorm", 10)), 272_282)


class StageOutputsTest(absltest.TestCase):
    """The stages CKA compares are the network's own path to its logits."""

    def test_preresnet_stages_lead_to_its_logits(self):
        model = build_model("preresnet8_layernorm", 10, (32, 32, 3))
        x = np.random.default_rng(0).uniform(-1, 1, (4, 32, 32, 3)).astype("float32")
        stages = model.stage_outputs(x)
        self.assertEqual([tuple(s.shape) for s in stages], [(4, 32, 32, 16), (4, 16, 16, 32), (4, 8, 8, 64)])
        logits = model.fc(model.pool(keras.ops.relu(model.bn(stages[-1]))))
        np.testing.assert_allclose(logits, model(x), atol=1e-5)

    def test_lenet_stages_lead_to_its_logits(self):
        model = build_model("lenet5", 10, (28, 28, 1))
        x = np.random.default_rng(0).uniform(-1, 1, (4, 28, 28, 1)).astype("float32")
        stages = model.stage_outputs(x)
        self.assertEqual([tuple(s.shape) for s in stages], [(4, 14, 14, 6), (4, 5, 5, 16), (4, 120)])
        np.testing.assert_allclose(model.fc3(model.fc2(stages[-1])), model(x), atol=1e-5)


class ShapesAndSavingTest(parameterized.TestCase):
    CASES = [
        ("lenet5", 10, (28, 28, 1)), ("preresnet20", 100, (32, 32, 3)), ("preresnet56", 10, (32, 32, 3)),
        ("preresnet20_noskip", 10, (32, 32, 3)), ("preresnet20_layernorm", 10, (32, 32, 3)),
        ("vgg16", 10, (32, 32, 3)), ("vgg16_bn", 10, (32, 32, 3)), ("vgg19", 100, (32, 32, 3)),
        ("bilstm", 2, (100,)), ("resnet50", 10, (64, 64, 3)),
    ]

    @parameterized.parameters(*CASES)
    def test_output_shape_and_round_trip(self, name, classes, shape):
        model = build_model(name, classes, shape)
        rng = np.random.default_rng(0)
        x = (rng.integers(1, 1000, (3,) + shape).astype("int32") if name == "bilstm"
             else rng.uniform(-1, 1, (3,) + shape).astype("float32"))
        out = np.asarray(model(x, training=False))
        self.assertEqual(out.shape, (3, classes))
        path = os.path.join(self.create_tempdir().full_path, f"{name}.keras")
        model.save(path)
        loaded = keras.saving.load_model(path)
        np.testing.assert_allclose(np.asarray(loaded(x, training=False)), out, rtol=1e-5, atol=1e-5)

    def test_sngan_shapes_range_and_round_trip(self):
        for kwargs, image_shape in (({}, (32, 32, 3)), ({"width": 32, "output_size": 28, "channels": 1}, (28, 28, 1))):
            generator = build_model("sngan_generator", **kwargs)
            images = np.asarray(generator(np.random.default_rng(0).normal(size=(4, 128)).astype("float32")))
            self.assertEqual(images.shape, (4,) + image_shape)
            self.assertTrue(np.all(np.abs(images) <= 1.0))
            disc = build_model("sngan_discriminator", input_shape=image_shape,
                               **({"width": 32, "channels": 1} if kwargs else {}))
            self.assertEqual(np.asarray(disc(images)).shape, (4, 1))
            path = os.path.join(self.create_tempdir().full_path, "g.keras")
            generator.save(path)
            z = np.ones((2, 128), "float32")
            np.testing.assert_allclose(np.asarray(keras.saving.load_model(path)(z)), np.asarray(generator(z)),
                                       rtol=1e-5, atol=1e-5)

    def test_every_flag_choice_resolves_to_a_classifier(self):
        # Building each is covered above; here every flag value must name one.
        for name in choices.CLASSIFIERS:
            self.assertTrue(spec(name).classifier, name)

    def test_bilstm_layers_and_cells(self):
        model = build_model("bilstm", 2, vocab_size=50, num_layers=1, cells=100)
        self.assertLen(model.lstms, 1)
        self.assertEqual(tuple(model.fc.kernel.shape), (200, 2))


class FaithfulnessTest(absltest.TestCase):
    def test_batch_norm_momentum_and_epsilon(self):
        for name in ("preresnet20", "vgg16_bn"):
            bns = sublayers(build_model(name, 10), keras.layers.BatchNormalization)
            self.assertNotEmpty(bns)
            for bn in bns:
                self.assertEqual((bn.momentum, bn.epsilon), (0.9, 1e-5))

    def test_layernorm_variant_has_no_batch_norm(self):
        model = build_model("preresnet20_layernorm", 10)
        self.assertEmpty(sublayers(model, keras.layers.BatchNormalization))
        self.assertLen(sublayers(model, keras.layers.GroupNormalization), 19)

    def test_stride_two_convolution_pads_symmetrically(self):
        conv = TorchConv2D(4, 3, strides=2, padding=1)
        x = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype("float32")
        out = np.asarray(conv(x))
        weight = np.transpose(np.asarray(conv.kernel), (3, 2, 0, 1))
        expected = ref.conv2d(np.transpose(x, (0, 3, 1, 2)), weight, stride=2, padding=1)
        np.testing.assert_allclose(out, np.transpose(expected, (0, 2, 3, 1)), rtol=1e-5, atol=1e-5)
        # Keras "same" would pad only bottom/right at stride 2, a different function.
        same = keras.layers.Conv2D(4, 3, strides=2, padding="same", use_bias=False)
        same.build(x.shape)
        same.kernel.assign(conv.kernel)
        self.assertFalse(np.allclose(np.asarray(same(x)), out, atol=1e-3))

    def test_stride_one_convolution_pads_inside_the_convolution(self):
        # "same" at stride 1 is the symmetric padding: no Pad op forward, no Slice in the gradient.
        conv = TorchConv2D(4, 3, strides=1, padding=1)
        x = np.random.default_rng(1).normal(size=(2, 8, 8, 3)).astype("float32")
        out = np.asarray(conv(x))
        self.assertIsNone(conv.pad)
        self.assertEqual(conv.conv.padding, "same")
        weight = np.transpose(np.asarray(conv.kernel), (3, 2, 0, 1))
        expected = ref.conv2d(np.transpose(x, (0, 3, 1, 2)), weight, stride=1, padding=1)
        np.testing.assert_allclose(out, np.transpose(expected, (0, 2, 3, 1)), rtol=1e-5, atol=1e-5)
        padded = keras.Sequential([keras.layers.ZeroPadding2D(1), keras.layers.Conv2D(4, 3, use_bias=False)])
        padded.build(x.shape)
        padded.layers[1].kernel.assign(conv.kernel)
        xs = tf.constant(x)
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(xs)
            ours, theirs = conv(xs), padded(xs)
        np.testing.assert_allclose(tape.gradient(ours, xs), tape.gradient(theirs, xs), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(tape.gradient(ours, conv.kernel), tape.gradient(theirs, padded.layers[1].kernel),
                                   rtol=1e-5, atol=1e-5)

    def test_discriminator_convolutions_pad_inside_the_convolution(self):
        # As TorchConv2D: the SN-GAN discriminator's 3x3 convolutions pad as "same", with
        # no Pad op, and compute what the explicit pad (the layout of earlier saved models) did.
        conv = sngan._sn_conv(4, 3, 3, "conv")
        explicit = sngan._Padded(keras.layers.SpectralNormalization(
            keras.layers.Conv2D(4, 3, padding="valid", use_bias=True)), 1)
        xs = tf.constant(np.random.default_rng(2).normal(size=(2, 8, 8, 3)).astype("float32"))
        conv(xs), explicit(xs)
        self.assertIsNone(conv.pad)
        self.assertEqual(conv.layer.layer.padding, "same")
        explicit.set_weights(conv.get_weights())
        for training in (False, True):
            with tf.GradientTape(persistent=True) as tape:
                tape.watch(xs)
                ours, theirs = conv(xs, training=training), explicit(xs, training=training)
            np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)
            np.testing.assert_allclose(tape.gradient(ours, xs), tape.gradient(theirs, xs), rtol=1e-5, atol=1e-5)

    def test_preresnet_conv_init(self):
        keras.utils.set_random_seed(0)
        model = build_model("preresnet56", 10)
        kernel = np.asarray(model.layer3[0].conv2.kernel)  # 3x3, 64 out channels
        self.assertAlmostEqual(kernel.std(), np.sqrt(2 / (9 * 64)), delta=0.05 * np.sqrt(2 / (9 * 64)))
        self.assertAlmostEqual(kernel.mean(), 0.0, delta=0.002)
        bound = 1 / np.sqrt(256)
        self.assertLessEqual(np.abs(np.asarray(model.fc.kernel)).max(), bound)

    def test_bn_gamma_one_beta_zero(self):
        bn = build_model("preresnet20", 10).bn
        np.testing.assert_array_equal(np.asarray(bn.gamma), 1.0)
        np.testing.assert_array_equal(np.asarray(bn.beta), 0.0)

    def test_shortcut_is_a_single_strided_conv_without_bn(self):
        model = build_model("preresnet20", 10)
        self.assertIsNone(model.layer1[0].downsample)
        self.assertIsNotNone(model.layer2[0].downsample)
        self.assertEqual(tuple(model.layer2[0].downsample.kernel.shape), (1, 1, 16, 32))
        self.assertEqual(model.layer2[0].downsample.strides, 2)
        self.assertIsNone(model.layer2[1].downsample)

    def test_bottleneck_ends_with_256_channels(self):
        self.assertEqual(tuple(build_model("preresnet56", 10).fc.kernel.shape), (256, 10))

    def test_no_skip_variant(self):
        model = build_model("preresnet20_noskip", 10)
        for stage in model.stages:
            for block in stage:
                self.assertIsNone(block.downsample)
        with self.assertRaisesRegex(ValueError, "depth < 44"):
            build_model("preresnet56_noskip", 10)

    def test_invalid_depths(self):
        for name in ("preresnet21", "preresnet57"):
            with self.assertRaisesRegex(ValueError, "6n\\+2|9n\\+2"):
                build_model(name, 10)

    def test_spectral_norm_on_every_discriminator_conv_and_dense(self):
        disc = build_model("sngan_discriminator")
        wrapped = {id(layer.layer) for layer in sublayers(disc, keras.layers.SpectralNormalization)}
        weighted = sublayers(disc, (keras.layers.Conv2D, keras.layers.Dense))
        self.assertLen(weighted, 10)  # 2 + bypass in block 1, 2 x 3 blocks, the dense
        for layer in weighted:
            self.assertIn(id(layer), wrapped, layer.name)
        self.assertEmpty(sublayers(build_model("sngan_generator"), keras.layers.SpectralNormalization))


class TorchInitialisationTest(absltest.TestCase):
    def test_bilstm_is_initialised_as_pytorch_initialises_the_reference(self):
        keras.utils.set_random_seed(0)
        model = build_model("bilstm", 2, vocab_size=3000, num_layers=1, cells=100)
        weights = {w.path.split("/")[-1] + ("_b" if "backward" in w.path else ""): np.asarray(w)
                   for w in model.weights if "lstm_cell" in w.path or "embedding" in w.path}
        k = 1 / np.sqrt(100)
        self.assertAlmostEqual(weights["embeddings"].std(), 1.0, delta=0.01)  # nn.Embedding: N(0, 1)
        for name in ("kernel", "recurrent_kernel", "kernel_b", "recurrent_kernel_b"):
            self.assertLessEqual(np.abs(weights[name]).max(), k, name)  # nn.LSTM: U(-k, k)
            self.assertAlmostEqual(weights[name].std(), k / np.sqrt(3), delta=0.02 * k, msg=name)
        for name in ("bias", "bias_b"):  # b_ih + b_hh: the sum of two U(-k, k), no forget-gate 1
            bias = weights[name]
            self.assertAlmostEqual(bias.std(), k * np.sqrt(2 / 3), delta=0.1 * k, msg=name)
            self.assertLess(np.abs(bias).max(), 2 * k)
            self.assertLess(abs(bias[100:200].mean()), 0.3 * k, name)  # the forget gate's block



class FusedBatchNormTest(parameterized.TestCase):
    """kd_tf's BatchNorm (one fused kernel on the TensorFlow backend) computes
    what Keras's BatchNormalization computes: outputs, moving statistics and
    gradients, in training and inference, in fp32 and bf16."""

    @parameterized.parameters("float32", "mixed_bfloat16")
    def test_fused_equals_keras(self, policy):
        previous = keras.config.dtype_policy()
        keras.config.set_dtype_policy(policy)
        self.addCleanup(keras.config.set_dtype_policy, previous)
        keras_bn, fused = (cls(momentum=0.9, epsilon=1e-5) for cls in (keras.layers.BatchNormalization, BatchNorm))
        x = tf.random.stateless_normal([8, 5, 5, 4], seed=[1, 2]) * 3 + 1
        for layer in (keras_bn, fused):
            layer.build(x.shape)
            layer.gamma.assign(np.linspace(0.5, 2.0, 4))
            layer.beta.assign(np.linspace(-1.0, 1.0, 4))
        tolerance = 1e-5 if policy == "float32" else 2e-2
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            outputs = [layer(x, training=True) for layer in (keras_bn, fused)]
            losses = [tf.reduce_sum(tf.cast(y, "float32") ** 2) for y in outputs]
        self.assertEqual(outputs[0].dtype, outputs[1].dtype)
        np.testing.assert_allclose(tf.cast(outputs[1], "float32"), tf.cast(outputs[0], "float32"), atol=tolerance)
        for name in ("moving_mean", "moving_variance"):
            np.testing.assert_allclose(getattr(fused, name).numpy(), getattr(keras_bn, name).numpy(), rtol=1e-6,
                                       atol=1e-6, err_msg=name)
        for a, b in ((x, x), (keras_bn.gamma, fused.gamma), (keras_bn.beta, fused.beta)):
            ga, gb = tape.gradient(losses[0], a), tape.gradient(losses[1], b)
            np.testing.assert_allclose(gb, ga, rtol=1e-3 if policy == "float32" else 5e-2, atol=1e-3)
        inference = [tf.cast(layer(x, training=False), "float32") for layer in (keras_bn, fused)]
        np.testing.assert_allclose(inference[1], inference[0], atol=tolerance)

    def test_the_models_use_it(self):
        model = build_model("preresnet20", 10, (32, 32, 3))
        norms = [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)]
        self.assertNotEmpty(norms)
        self.assertTrue(all(isinstance(layer, BatchNorm) for layer in norms))


if __name__ == "__main__":
    absltest.main()
