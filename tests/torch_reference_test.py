"""PyTorch itself as the reference: (1) the reference's PreResNet and LeNet-5
definitions, re-typed in torch (kd_tf/bench/torch_reference.py, which
bench_step also uses), save a state dict with torch.save; kd_tf imports the
file and must give the same eval-mode logits. (2) the reference's loss
classes (gnosis/distillation/classification.py), re-typed in torch, give the
values of tests/reference_losses.py (the numpy versions the Distiller tests
compare kd_tf against).

torch is optional (not in requirements.txt; `pip install torch==2.13.0` gives a
CPU build here). Without it these tests are reported as skipped, with why.
"""

import os
import unittest

import numpy as np
from absl.testing import absltest, parameterized

from kd_tf.bench.torch_reference import TORCH_MISSING, torch
from kd_tf.train import reference_io

if torch is not None:  # the re-typed models and losses exist only with torch; without it the tests skip
    from kd_tf.bench.torch_reference import (
        PreResNet,
        lenet5,
        reduce_ensemble_logits,
        torch_avg_sym_kl,
        torch_brier,
        torch_cvx,
        torch_fwd,
        torch_hard,
        torch_kl,
        torch_rev,
        torch_sym_kl,
    )


@unittest.skipIf(torch is None, TORCH_MISSING)
class TorchCheckpointTest(parameterized.TestCase):
    @parameterized.parameters(("lenet5", 10), ("preresnet20", 10), ("preresnet20", 100), ("preresnet56", 100))
    def test_torch_saved_checkpoint_gives_the_same_logits(self, name, classes):
        torch.manual_seed(0)
        if name == "lenet5":
            net, shape = lenet5(classes), (8, 1, 28, 28)
        else:
            net, shape = PreResNet(int(name[len("preresnet"):]), classes), (8, 3, 32, 32)
        # A few train-mode passes move the BN statistics off their defaults.
        net.train()
        with torch.no_grad():
            for _ in range(3):
                net(torch.randn(*shape) * 2 + 0.5)
        net.eval()
        path = os.path.join(self.create_tempdir().full_path, "ckpt.pt")
        torch.save(net.state_dict(), path)
        x = torch.rand(*shape) * 2 - 1
        with torch.no_grad():
            expected = net(x).numpy()
        model = reference_io.import_checkpoint(name, classes, path)
        got = np.asarray(model(np.transpose(x.numpy(), (0, 2, 3, 1)), training=False))
        np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)

    def test_parameter_counts_match_torch(self):
        from kd_tf.models.registry import build_model

        for name, classes in (("preresnet20", 100), ("preresnet110", 10), ("lenet5", 10)):
            net = lenet5(classes) if name == "lenet5" else PreResNet(int(name[len("preresnet"):]), classes)
            torch_count = sum(p.numel() for p in net.parameters())
            keras_count = sum(int(np.prod(w.shape)) for w in build_model(name, classes).trainable_weights)
            self.assertEqual(keras_count, torch_count, name)


@unittest.skipIf(torch is None, TORCH_MISSING)
class ReferenceLossesTest(parameterized.TestCase):
    @parameterized.parameters("1", "4", "per_row")
    def test_numpy_versions_equal_the_torch_classes(self, temperature):
        from tests import reference_losses as numpy_losses

        rng = np.random.default_rng(0)
        members = rng.normal(size=(3, 12, 10)) * 3
        s = rng.normal(size=(12, 10)) * 3
        tau = np.linspace(1, 6, 12)[:, None] if temperature == "per_row" else np.full((12, 1), float(temperature))
        t = numpy_losses.reduce_ensemble_logits(members)
        tt, ts = torch.tensor(t), torch.tensor(s)
        tm, ttau = torch.tensor(members).transpose(1, 0), torch.tensor(tau)
        np.testing.assert_allclose(reduce_ensemble_logits(tm).numpy(), t, rtol=1e-10, atol=1e-10)
        pairs = [
            (torch_fwd(tt, ts, ttau), numpy_losses.fwd_cross_ent(t, s, tau)),
            (torch_rev(tt, ts, ttau), numpy_losses.rev_cross_ent(t, s, tau)),
            (torch_kl(tt, ts, ttau), numpy_losses.teacher_student_kl(t, s, tau)),
            (torch_sym_kl(tt, ts, ttau), numpy_losses.symmetrized_kl(t, s, tau)),
            (torch_avg_sym_kl(tm, ts, ttau[None]), numpy_losses.averaged_symmetrized_kl(members, s, tau)),
            (torch_brier(tt, ts, ttau), numpy_losses.brier(t, s, tau)),
            (torch_hard(tt, ts, ttau.expand(12, 10)), numpy_losses.hard_cross_ent(t, s, tau)),
            (torch_cvx(tt, ts, ttau.expand(12, 10), steps=2, t_max=5),
             numpy_losses.cvx_cross_ent(t, s, tau, epoch=2, num_epochs=5)),
        ]
        for i, (theirs, ours) in enumerate(pairs):
            self.assertAlmostEqual(float(theirs), ours, places=8, msg=i)


if __name__ == "__main__":
    absltest.main()
