"""PyTorch itself as the reference: (1) the reference's PreResNet and LeNet-5
definitions, re-typed here in torch, save a state dict with torch.save; kd_tf
imports the file and must give the same eval-mode logits. (2) the
reference's loss classes (gnosis/distillation/classification.py), re-typed in
torch, give the values of tests/reference_losses.py (the numpy versions the
Distiller tests compare kd_tf against).

torch is optional (not in requirements.txt; `pip install torch==2.13.0` gives a
CPU build here). Without it these tests are reported as skipped, with why.
"""

import math
import os
import unittest

import numpy as np
from absl.testing import absltest, parameterized

from kd_tf.train import reference_io

try:
    import torch
    from torch import nn
except ImportError:  # reported as a skip below
    torch = None

TORCH_MISSING = "torch is not installed (pip install torch==2.13.0 enables these checks)"

if torch is not None:

    def conv3x3(inplanes, planes, stride=1):
        return nn.Conv2d(inplanes, planes, kernel_size=3, stride=stride, padding=1, bias=False)

    class BasicBlock(nn.Module):
        expansion = 1

        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.bn1 = nn.BatchNorm2d(inplanes)
            self.relu = nn.ReLU(inplace=True)
            self.conv1 = conv3x3(inplanes, planes, stride)
            self.bn2 = nn.BatchNorm2d(planes)
            self.conv2 = conv3x3(planes, planes)
            self.downsample = downsample

        def forward(self, x):
            residual = x
            out = self.conv1(self.relu(self.bn1(x)))
            out = self.conv2(self.relu(self.bn2(out)))
            if self.downsample is not None:
                residual = self.downsample(x)
            return out + residual

    class Bottleneck(nn.Module):
        expansion = 4

        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.bn1 = nn.BatchNorm2d(inplanes)
            self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
            self.bn3 = nn.BatchNorm2d(planes)
            self.conv3 = nn.Conv2d(planes, planes * 4, kernel_size=1, bias=False)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = downsample

        def forward(self, x):
            residual = x
            out = self.conv1(self.relu(self.bn1(x)))
            out = self.conv2(self.relu(self.bn2(out)))
            out = self.conv3(self.relu(self.bn3(out)))
            if self.downsample is not None:
                residual = self.downsample(x)
            return out + residual

    class PreResNet(nn.Module):
        def __init__(self, depth, num_classes=10):
            super().__init__()
            block = BasicBlock if depth < 44 else Bottleneck
            n = (depth - 2) // (6 if depth < 44 else 9)
            self.inplanes = 16
            self.conv1 = nn.Conv2d(3, 16, kernel_size=3, padding=1, bias=False)
            self.layer1 = self._make_layer(block, 16, n)
            self.layer2 = self._make_layer(block, 32, n, stride=2)
            self.layer3 = self._make_layer(block, 64, n, stride=2)
            self.bn = nn.BatchNorm2d(64 * block.expansion)
            self.relu = nn.ReLU(inplace=True)
            self.avgpool = nn.AvgPool2d(8)
            self.fc = nn.Linear(64 * block.expansion, num_classes)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    fan = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                    m.weight.data.normal_(0, math.sqrt(2.0 / fan))

        def _make_layer(self, block, planes, blocks, stride=1):
            downsample = None
            if stride != 1 or self.inplanes != planes * block.expansion:
                downsample = nn.Sequential(
                    nn.Conv2d(self.inplanes, planes * block.expansion, kernel_size=1, stride=stride, bias=False))
            layers = [block(self.inplanes, planes, stride, downsample)]
            self.inplanes = planes * block.expansion
            layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
            return nn.Sequential(*layers)

        def forward(self, x):
            x = self.conv1(x)
            x = self.layer3(self.layer2(self.layer1(x)))
            x = self.avgpool(self.relu(self.bn(x)))
            return self.fc(x.view(x.size(0), -1))

    def lenet5(num_classes=10):
        return nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.AvgPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(),
            nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, num_classes))


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


if torch is not None:
    import torch.nn.functional as F
    from torch.distributions import Categorical, kl_divergence

    def reduce_ensemble_logits(teacher_logits):  # [batch, m, classes]
        teacher_logits = F.log_softmax(teacher_logits, dim=-1)
        return torch.logsumexp(teacher_logits, dim=1) - math.log(teacher_logits.size(1))

    def torch_fwd(teacher_logits, student_logits, temp):
        teacher_probs = F.softmax(teacher_logits / temp, dim=-1)
        student_logp = F.log_softmax(student_logits / temp, dim=-1)
        return -(temp ** 2 * teacher_probs * student_logp).sum(-1).mean()

    def torch_rev(teacher_logits, student_logits, temp):
        teacher_logp = F.log_softmax(teacher_logits / temp, dim=-1)
        student_probs = F.softmax(student_logits / temp, dim=-1)
        return -(temp ** 2 * student_probs * teacher_logp).sum(-1).mean()

    def torch_kl(teacher_logits, student_logits, temp):
        teacher, student = Categorical(logits=teacher_logits / temp), Categorical(logits=student_logits / temp)
        return kl_divergence(teacher, student).mean()

    def torch_sym_kl(teacher_logits, student_logits, temp):
        t, s = Categorical(logits=teacher_logits / temp), Categorical(logits=student_logits / temp)
        return kl_divergence(t, s).mean() + kl_divergence(s, t).mean()

    def torch_avg_sym_kl(member_logits, student_logits, temp):  # member_logits [batch, m, classes]
        return torch_sym_kl(member_logits.transpose(1, 0), student_logits, temp)

    def torch_brier(teacher_logits, student_logits, temp):
        return F.mse_loss(F.softmax(student_logits / temp, dim=-1), F.softmax(teacher_logits / temp, dim=-1))

    def torch_hard(teacher_logits, student_logits, temp):
        # temp [batch, classes], as ClassifierStudentLoss makes it when the loader gives none.
        batch_size = teacher_logits.shape[0]
        teacher_labels = torch.argmax(teacher_logits, dim=-1)
        student_logp = F.log_softmax(student_logits / temp, dim=-1)[torch.arange(batch_size), teacher_labels]
        temp = temp[torch.arange(batch_size), teacher_labels]
        return -(temp ** 2 * student_logp).mean()

    def torch_cvx(teacher_logits, student_logits, temp, steps, t_max, beta=1.0):
        current = beta
        for _ in range(steps):
            current = max(current - beta / t_max, 0.0)
        return current * torch_hard(teacher_logits, student_logits, temp) + (1 - current) * torch_fwd(
            teacher_logits, student_logits, temp)


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
