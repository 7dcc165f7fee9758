"""Names that flags accept. Kept free of TensorFlow so that binaries reject a
bad flag value before importing it; tests check these lists against the
registries that implement them."""

POLICIES = ("none", "baseline", "rotation", "vflip", "color_jitter", "combined", "mixup", "gan", "noise", "ood")
OOD_DATASETS = ("sample_photos", "svhn_cropped", "cifar10", "cifar100", "mnist")
TEACHER_SPLITS = ("all", "d0", "d1")
DATASETS = (
    "mnist5k", "mnist", "cifar10", "cifar100", "svhn_cropped",
    "emnist/balanced", "emnist/byclass", "emnist/bymerge", "emnist/digits", "emnist/letters", "emnist/mnist",
    "emnist_for_mnist", "imdb_reviews", "imagenet2012",
)
# Image classifiers a teacher or student can be (bilstm joins with the IMDB
# data). kd_tf.models.build_model also takes any preresnet<depth>[_noskip][_layernorm].
CLASSIFIERS = (
    "lenet5",
    "preresnet20", "preresnet32", "preresnet56", "preresnet110",
    "preresnet20_noskip", "preresnet20_layernorm", "preresnet56_layernorm", "preresnet110_layernorm",
    "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
    "resnet50", "bilstm",
)
HARD_LABELS = ("argmax", "sample")
LOSSES = ("fwd_ce", "rev_ce", "kl", "sym_kl", "avg_sym_kl", "brier", "hard", "cvx")
# Those that read only the ensemble's logits (kd_tf.distill.losses.SOFT_LOSSES): a DistillerGroup's.
SOFT_LOSSES = ("fwd_ce", "rev_ce", "kl", "sym_kl", "brier")
INIT_MODES = ("random", "interpolate", "teacher_init")
OPTIMIZERS = ("sgd", "adam")
TEACHER_RECIPES = ("paper", "reference")
GENERATOR_BN = ("batch", "moving")
GAN_SAMPLING = ("host", "device")
PRECISIONS = ("fp32", "bf16", "fp16")
SWITCHES = ("auto", "true", "false")
STRATEGIES = ("auto", "cpu", "gpu", "mirrored", "multi_worker", "tpu")
FID_FEATURES = ("pool", "logits")
STUDIES = ("ensemble_size", "policies", "data_recycling", "capacity", "vgg", "subsampled", "mnist_emnist",
           "optimisation", "gan_enlarged", "alpha", "losses", "table1", "gan", "findings")
SCALES = ("smoke", "cpu", "paper")
EXECUTORS = ("local", "ray")
