"""The reference's models and losses re-typed in PyTorch (from
gnosis/models/preresnet.py, lenet.py and gnosis/distillation/classification.py),
and its distillation step (gnosis/boilerplate/distillation_epoch.py): what
tests/torch_reference_test.py checks kd_tf against, and what bench_step times
kd_tf's step against (in a process of its own: reference_process.py).

torch is optional (not in requirements.txt); without it, `torch` is None here.
"""

import math

try:
    import torch
    from torch import nn
except ImportError:  # callers report it
    torch = nn = None

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


if torch is not None:

    class ReferenceStep:
        """One distillation step as the reference's loop runs it: the teachers
        in eval mode without gradients (its DistillLoader), their logits reduced
        to the ensemble's, the student in train mode, forward cross-entropy at
        temperature tau, backward, SGD with Nesterov momentum and coupled weight
        decay, and the loop's per-batch loss.item() and agreement count."""

        def __init__(self, teachers, student, temperature=4.0, lr=0.1, momentum=0.9, weight_decay=1e-4):
            self.teachers, self.student, self.temperature = teachers, student, temperature
            for teacher in teachers:
                teacher.eval()
            self.optimizer = torch.optim.SGD(student.parameters(), lr=lr, momentum=momentum, nesterov=True,
                                             weight_decay=weight_decay)

        def teacher_logits(self, inputs):
            with torch.no_grad():
                return reduce_ensemble_logits(torch.stack([t(inputs) for t in self.teachers], dim=1))

        def __call__(self, inputs):
            teacher_logits = self.teacher_logits(inputs)
            self.student.train()
            self.optimizer.zero_grad()
            student_logits = self.student(inputs)
            loss = torch_fwd(teacher_logits, student_logits, self.temperature)
            loss.backward()
            self.optimizer.step()
            agree = student_logits.argmax(-1).eq(teacher_logits.argmax(-1)).sum().item()
            return loss.item(), agree
