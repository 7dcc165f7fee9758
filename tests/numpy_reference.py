"""Direct numpy definitions of the study's quantities, written independently
of kd_tf, that the tests compare kd_tf against."""

import numpy as np


def log_softmax(z, axis=-1):
    z = np.asarray(z, np.float64)
    z = z - z.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def softmax(z, axis=-1):
    return np.exp(log_softmax(z, axis))


def accuracy(labels, logits):
    return 100.0 * np.mean(np.argmax(logits, -1) == labels)


def nll(labels, logits):
    return -np.mean(log_softmax(logits)[np.arange(len(labels)), labels])


def ece(labels, logits, bins=10):
    probs = softmax(logits)
    conf = probs.max(-1)
    correct = probs.argmax(-1) == labels
    total = 0.0
    for k in range(1, bins + 1):
        in_bin = (conf > (k - 1) / bins) & (conf <= k / bins)
        if in_bin.any():
            total += in_bin.mean() * abs(correct[in_bin].mean() - conf[in_bin].mean())
    return 100.0 * total


def agreement(teacher_logits, student_logits):
    return 100.0 * np.mean(np.argmax(teacher_logits, -1) == np.argmax(student_logits, -1))


def kl(teacher_logits, student_logits):
    p = softmax(teacher_logits)
    return np.mean(np.sum(p * (log_softmax(teacher_logits) - log_softmax(student_logits)), -1))


def ensemble_probs(member_logits):
    return np.mean([softmax(z) for z in member_logits], axis=0)


def kd_loss(teacher_logits, student_logits, tau):
    tau = np.broadcast_to(np.asarray(tau, np.float64), (len(teacher_logits),))[:, None]
    pt = softmax(teacher_logits / tau)
    return -(tau[:, 0] ** 2) * np.sum(pt * log_softmax(student_logits / tau), -1)


# --- Forward passes straight from a PyTorch-layout state dict (NCHW) ---------

def conv2d(x, weight, bias=None, stride=1, padding=0):
    """PyTorch's Conv2d: x [n, c, h, w], weight [o, c, kh, kw], symmetric zero padding."""
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    o, _, kh, kw = weight.shape
    h_out = (x.shape[2] - kh) // stride + 1
    w_out = (x.shape[3] - kw) // stride + 1
    out = np.zeros((x.shape[0], o, h_out, w_out))
    for i in range(kh):
        for j in range(kw):
            window = x[:, :, i:i + stride * h_out:stride, j:j + stride * w_out:stride]
            out += np.einsum("nchw,oc->nohw", window, weight[:, :, i, j])
    return out if bias is None else out + bias[None, :, None, None]


def batch_norm_eval(x, state, prefix, eps=1e-5):
    mean, var = state[f"{prefix}.running_mean"], state[f"{prefix}.running_var"]
    scale = state[f"{prefix}.weight"] / np.sqrt(var + eps)
    return (x - mean[None, :, None, None]) * scale[None, :, None, None] + state[f"{prefix}.bias"][None, :, None, None]


def avg_pool(x, k):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // k, k, w // k, k).mean(axis=(3, 5))


def relu(x):
    return np.maximum(x, 0)


def lenet5_forward(state, x):
    x = avg_pool(relu(conv2d(x, state["0.weight"], state["0.bias"], padding=2)), 2)
    x = avg_pool(relu(conv2d(x, state["3.weight"], state["3.bias"])), 2)
    x = x.reshape(len(x), -1)  # channels-first flatten, as PyTorch
    x = relu(x @ state["7.weight"].T + state["7.bias"])
    x = relu(x @ state["9.weight"].T + state["9.bias"])
    return x @ state["11.weight"].T + state["11.bias"]


def preresnet_forward(state, x, depth):
    bottleneck = depth >= 44
    n = (depth - 2) // (9 if bottleneck else 6)
    x = conv2d(x, state["conv1.weight"], padding=1)
    for s, stride in ((1, 1), (2, 2), (3, 2)):
        for j in range(n):
            p = f"layer{s}.{j}"
            st = stride if j == 0 else 1
            out = conv2d(relu(batch_norm_eval(x, state, f"{p}.bn1")), state[f"{p}.conv1.weight"],
                         stride=1 if bottleneck else st, padding=0 if bottleneck else 1)
            out = conv2d(relu(batch_norm_eval(out, state, f"{p}.bn2")), state[f"{p}.conv2.weight"],
                         stride=st if bottleneck else 1, padding=1)
            if bottleneck:
                out = conv2d(relu(batch_norm_eval(out, state, f"{p}.bn3")), state[f"{p}.conv3.weight"])
            key = f"{p}.downsample.0.weight"
            x = out + (conv2d(x, state[key], stride=st) if key in state else x)
    x = relu(batch_norm_eval(x, state, "bn")).mean(axis=(2, 3))
    return x @ state["fc.weight"].T + state["fc.bias"]


def random_state_dict(shapes, seed=0):
    """Random weights with BN statistics far from their defaults, so that a
    mapping that drops or swaps them shows up in the logits."""
    rng = np.random.default_rng(seed)
    state = {}
    for key, shape in shapes.items():
        if key.endswith("running_var"):
            state[key] = rng.uniform(0.5, 2.0, shape)
        elif key.endswith("num_batches_tracked"):
            state[key] = np.array(100)
        else:
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 4
            state[key] = rng.normal(0, 1 / np.sqrt(fan_in), shape)
    return {k: v.astype(np.float32) if v.dtype.kind == "f" else v for k, v in state.items()}


def tempered_log_softmax(z, tau):
    return log_softmax(np.asarray(z, np.float64) / tau)


def kl_rows(log_p, log_q):
    return np.sum(np.exp(log_p) * (log_p - log_q), -1)


def _centre(k):
    n = k.shape[0]
    h = np.eye(n) - np.ones((n, n)) / n
    return h @ k @ h


def linear_cka(x, y):
    """Linear CKA of [examples, features] matrices, as the reference's
    cka/CKA.py linear_CKA: HSIC of the centred Gram matrices."""
    def hsic(a, b):
        return np.sum(_centre(a @ a.T) * _centre(b @ b.T))

    return hsic(x, y) / np.sqrt(hsic(x, x) * hsic(y, y))


def rbf_cka(x, y):
    """The reference's kernel_CKA(x, y) with sigma=None: an RBF kernel whose
    sigma^2 is the median nonzero squared distance, each matrix its own."""
    def kernel(a):
        g = a @ a.T
        d = np.diag(g) - g + (np.diag(g) - g).T
        return np.exp(-0.5 * d / np.median(d[d != 0]))

    def hsic(a, b):
        return np.sum(_centre(kernel(a)) * _centre(kernel(b)))

    return hsic(x, y) / np.sqrt(hsic(x, x) * hsic(y, y))
