"""One Distiller step against a hand computation: loss, update, frozen
teachers, metrics."""

import numpy as np
import tensorflow as tf
from absl.testing import absltest, parameterized

from kd_tf.train.optimizers import TorchSGD
from tests import fixtures, reference_losses
from tests import numpy_reference as ref


def _one_batch(batch):
    return tf.data.Dataset.from_tensors(batch)


class DistillerTest(parameterized.TestCase):
    @parameterized.parameters((4.0, 0.0, 0), (1.0, 0.0, 0), (4.0, 0.3, 3))
    def test_step_loss_and_update_match_hand_computation(self, tau, alpha, unlabelled):
        distiller = fixtures.lenet_distiller(temperature=tau, alpha=alpha)
        batch = fixtures.mnist_like_batch(unlabelled=unlabelled, temperature=tau)
        lr = 0.1
        distiller.compile(optimizer=TorchSGD(lr, momentum=0.0))
        teacher_before = [np.array(w) for w in distiller.teacher.weights]
        student_before = [np.array(w) for w in distiller.student.trainable_weights]

        # The hand computation: numpy loss on the same logits; TF only for the gradient.
        t_logits = np.asarray(distiller.teacher(batch["image"]))
        s_logits = np.asarray(distiller.student(batch["image"]))
        kd = ref.kd_loss(t_logits, s_logits, tau).mean()
        keep = batch["label"] >= 0
        ce = ref.nll(batch["label"][keep], s_logits[keep]) if alpha else 0.0
        expected_loss = alpha * ce + (1 - alpha) * kd

        with tf.GradientTape() as tape:
            s = distiller.student(batch["image"], training=True)
            pt = tf.nn.softmax(t_logits / tau)
            loss = -(tau ** 2) * tf.reduce_mean(tf.reduce_sum(pt * tf.nn.log_softmax(s / tau), -1)) * (1 - alpha)
            if alpha:
                ce_rows = tf.nn.sparse_softmax_cross_entropy_with_logits(np.maximum(batch["label"], 0), s)
                loss += alpha * tf.reduce_sum(tf.where(keep, ce_rows, 0.0)) / keep.sum()
        grads = tape.gradient(loss, distiller.student.trainable_weights)
        self.assertAlmostEqual(float(loss), expected_loss, places=4)

        history = distiller.fit(_one_batch(batch), epochs=1, verbose=0)
        self.assertAlmostEqual(history.history["loss"][0], expected_loss, places=4)
        for before, g, w in zip(student_before, grads, distiller.student.trainable_weights):
            np.testing.assert_allclose(np.array(w), before - lr * np.asarray(g), rtol=1e-4, atol=1e-6)
        for before, w in zip(teacher_before, distiller.teacher.weights):
            np.testing.assert_array_equal(np.array(w), before)

    @parameterized.product(loss=["fwd_ce", "rev_ce", "kl", "sym_kl", "avg_sym_kl", "brier", "hard", "cvx"],
                           temperature=["1", "4", "per_row"])
    def test_every_loss_equals_the_references_loss_class(self, loss, temperature):
        """A real Distiller step's loss against the reference's loss class
        (tests/reference_losses.py) on the same logits; cvx mid-anneal."""
        distiller = fixtures.lenet_distiller(num_teachers=2, loss=loss, epochs=5)
        distiller.compile(optimizer=TorchSGD(0.0, momentum=0.0))
        distiller.epoch.assign(2)  # cvx: beta = 1 - 2/5 = 0.6 on the hard term
        batch = fixtures.mnist_like_batch(batch_size=16, seed=2)
        batch["temperature"] = (np.linspace(1.0, 6.0, 16) if temperature == "per_row"
                                else np.full(16, float(temperature))).astype(np.float32)
        x, tau = batch["image"], batch["temperature"][:, None]
        members = np.stack([np.asarray(m(x)) for m in distiller.teacher.members])
        t, s = reference_losses.reduce_ensemble_logits(members), np.asarray(distiller.student(x))
        expected = {
            "fwd_ce": lambda: reference_losses.fwd_cross_ent(t, s, tau),
            "rev_ce": lambda: reference_losses.rev_cross_ent(t, s, tau),
            "kl": lambda: reference_losses.teacher_student_kl(t, s, tau),
            "sym_kl": lambda: reference_losses.symmetrized_kl(t, s, tau),
            "avg_sym_kl": lambda: reference_losses.averaged_symmetrized_kl(members, s, tau),
            "brier": lambda: reference_losses.brier(t, s, tau),
            "hard": lambda: reference_losses.hard_cross_ent(t, s, tau),
            "cvx": lambda: reference_losses.cvx_cross_ent(t, s, tau, epoch=2, num_epochs=5),
        }[loss]()
        history = distiller.fit(_one_batch(batch), epochs=1, verbose=0).history
        self.assertAlmostEqual(history["loss"][0], expected, delta=2e-5 * max(1.0, abs(expected)))

    def test_teacher_sees_exactly_the_student_batch(self):
        distiller = fixtures.lenet_distiller(num_teachers=1)
        distiller.compile(optimizer=TorchSGD(0.0, momentum=0.0))
        batch = fixtures.mnist_like_batch(batch_size=16, seed=3)
        logs = distiller.fit(_one_batch(batch), epochs=1, verbose=0).history
        t = np.asarray(distiller.teacher(batch["image"]))
        s = np.asarray(distiller.student(batch["image"]))  # lr 0: unchanged by the step
        self.assertAlmostEqual(logs["agreement"][0], ref.agreement(t, s), places=3)
        self.assertAlmostEqual(logs["kl"][0], ref.kl(t, s), places=4)

    def test_cached_teacher_logits_give_the_same_step(self):
        # --aug=none: batches carry the teachers' logits, computed once; the step must equal one that runs them.
        batch = fixtures.mnist_like_batch(batch_size=16, seed=4)
        after = {}
        for case in ("computed", "cached", "other"):
            distiller = fixtures.lenet_distiller(num_teachers=2)
            distiller.compile(optimizer=TorchSGD(0.1, momentum=0.9))
            fed = dict(batch)
            if case != "computed":
                logits = np.asarray(distiller.teacher(batch["image"]), np.float32)
                fed["teacher_logits"] = logits if case == "cached" else logits + 3.0 * np.eye(10, dtype=np.float32)[
                    np.arange(16) % 10]  # other logits
            logs = distiller.fit(tf.data.Dataset.from_tensors(fed).repeat(3), epochs=1, verbose=0).history
            after[case] = ([np.array(w) for w in distiller.student.trainable_weights], logs["loss"][0])
        for a, b in zip(after["computed"][0], after["cached"][0]):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
        self.assertAlmostEqual(after["computed"][1], after["cached"][1], places=5)
        # The cached rows are what the step reads: other logits move the weights elsewhere.
        self.assertGreater(max(np.max(np.abs(a - b)) for a, b in zip(after["computed"][0], after["other"][0])), 1e-3)

    def test_cached_logits_are_refused_where_each_member_is_needed(self):
        distiller = fixtures.lenet_distiller(num_teachers=2, loss="avg_sym_kl")
        distiller.compile(optimizer=TorchSGD(0.1))
        batch = fixtures.mnist_like_batch(batch_size=8)
        batch["teacher_logits"] = np.zeros([8, 10], np.float32)
        with self.assertRaisesRegex(ValueError, "each member"):
            distiller.fit(_one_batch(batch), epochs=1, verbose=0)

    def test_evaluate_reports_all_metrics(self):
        distiller = fixtures.lenet_distiller()
        distiller.compile(optimizer=TorchSGD(0.1))
        batch = fixtures.mnist_like_batch(batch_size=32)
        del batch["temperature"]
        logs = distiller.evaluate(_one_batch(batch), return_dict=True, verbose=0)
        self.assertEqual(set(logs), {"loss", "accuracy", "nll", "ece", "agreement", "kl"})
        s = np.asarray(distiller.student(batch["image"]))
        self.assertAlmostEqual(logs["accuracy"], ref.accuracy(batch["label"], s), places=3)
        self.assertAlmostEqual(logs["nll"], ref.nll(batch["label"], s), places=4)

    def test_text_batches_with_a_bilstm(self):
        import keras

        from kd_tf.distill.distiller import Distiller
        from kd_tf.distill.ensemble import TeacherEnsemble
        from kd_tf.models.registry import build_model

        keras.utils.set_random_seed(0)
        teacher = TeacherEnsemble([build_model("bilstm", 2, vocab_size=50, num_layers=1, cells=8)])
        student = build_model("bilstm", 2, vocab_size=50, num_layers=2, cells=8)
        distiller = Distiller(student, teacher, temperature=2.0)
        distiller.compile(optimizer=TorchSGD(0.1))
        tokens = np.random.default_rng(0).integers(1, 50, (6, 100)).astype(np.int32)
        tokens[:, 60:] = 0  # padding
        batch = {"image": tokens, "label": np.array([0, 1, 0, 1, 1, 0], np.int32),
                 "temperature": np.full(6, 2.0, np.float32)}
        history = distiller.fit(_one_batch(batch), epochs=1, verbose=0).history
        t, s = np.asarray(teacher(tokens)), np.asarray(student(tokens))
        self.assertTrue(np.isfinite(history["loss"][0]))
        self.assertBetween(history["agreement"][0], 0.0, 100.0)
        self.assertEqual(s.shape, t.shape)

    def test_bad_hyperparameters(self):
        with self.assertRaisesRegex(ValueError, "alpha"):
            fixtures.lenet_distiller(alpha=1.5)
        with self.assertRaisesRegex(ValueError, "temperature"):
            fixtures.lenet_distiller(temperature=0.0)


if __name__ == "__main__":
    absltest.main()
