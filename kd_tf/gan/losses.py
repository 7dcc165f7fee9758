"""Hinge losses of SN-GAN (Miyato et al.), in keras.ops."""

from keras import ops


def discriminator_hinge(real_scores, fake_scores):
    """mean(relu(1 - D(x))) + mean(relu(1 + D(G(z))))."""
    return ops.mean(ops.relu(1.0 - real_scores)) + ops.mean(ops.relu(1.0 + fake_scores))


def generator_hinge(fake_scores):
    """-mean(D(G(z)))."""
    return -ops.mean(fake_scores)
