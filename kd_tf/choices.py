"""Names that flags accept. Kept free of TensorFlow so that binaries reject a
bad flag value before importing it; tests check these lists against the
registries that implement them."""

POLICIES = ("none", "baseline", "mixup")
DATASETS = ("mnist5k", "mnist", "cifar10", "cifar100", "svhn_cropped")
ARCHITECTURES = ("lenet5",)
STRATEGIES = ("auto", "cpu", "gpu", "mirrored", "multi_worker", "tpu")
