"""One function per experiment of the paper (REFERENCE.md section 6 and the
appendix's figures and tables): its runs at a scale, the figures that mirror
the paper's, and the numbers the paper states. Smoke scale keeps every axis
and kind of run, thinner, on mnist5k with LeNet-5-sized models; where it
cannot stand for the paper's setting (CIFAR architectures on 28x28 digits,
text, ImageNet) a note in the report says what stands in."""

from kd_tf.config.choices import LOSSES, POLICIES
from kd_tf.config.recipes import EMBEDDED_STUDENT
from kd_tf.studies.builder import Builder
from kd_tf.studies.spec import Figure, PaperValue, Study

# The reference's alpha for each loss (config/loss/*.yaml).
REFERENCE_ALPHA = {"fwd_ce": 0.0, "rev_ce": 0.0, "kl": 0.0, "sym_kl": 0.5, "avg_sym_kl": 0.5, "brier": 0.5,
                   "hard": 0.5, "cvx": 0.0}
SMOKE_NOTE = ("Smoke scale: mnist5k with LeNet-5 (or tiny PreResNets) and a few epochs stand in for the paper's "
              "datasets and networks; the numbers exercise the pipeline and say nothing about the paper's.")
CPU_NOTE = ("CPU scale: mnist5k with LeNet-5 (or tiny PreResNets) trained with the embedded recipes (students 20 "
            "epochs, teachers 30) and 5 trials stand in for the paper's datasets and networks; the claims' verdicts "
            "are about this setting.")


def _note(scale):
    return CPU_NOTE if scale.name == "cpu" else SMOKE_NOTE


def _trials(scale):
    return range(scale.trials)


def ensemble_size(scale, root):
    """Appendix B.2, Fig 10: m = 1..12 ResNet-56 teachers into a ResNet-56 student."""
    b = Builder(scale, root)
    arch = scale.pick("preresnet56", "lenet5")
    ms = scale.axis(range(1, 13), (1, 2, 4))
    pool = max(ms)  # the reference's trials wrap around a pool of checkpoints
    teachers = b.teachers(arch)
    taus = scale.axis((1.0, 4.0), (1.0, 4.0))
    for tau in taus:
        for m in ms:
            for trial in _trials(scale):
                b.distill({"m": m, "tau": tau}, teachers, trial, num_teachers=m, temperature=tau, aug="baseline",
                          teacher_pool=pool, teacher_offset=(trial * m) % pool)
    figures = (
        Figure("agreement", "Test agreement by ensemble size (Fig 10, right)", x="m", hue="tau"),
        Figure("accuracy", "Test accuracy of teacher and student by ensemble size (Fig 10, left)", x="m",
               metrics=("accuracy",), hue="tau"),
        Figure("teacher_accuracy", "Teacher ensemble test accuracy", x="m", metrics=("accuracy",), model="teacher",
               where=(("tau", taus[0]),)),  # the teachers' rows repeat for every tau: one set
    )
    return Study("ensemble_size", "Appendix B.2, Fig 10 (alpha 0; tau 1 in the paper, tau 4 too)", scale.name,
                 b.runs(), figures, ("m", "tau"), notes=() if scale.paper else (_note(scale),))


CPU_POLICIES = ("baseline", "combined", "mixup")


def policies(scale, root):
    """Section 5.1, Fig 3 and appendix Fig 11: every policy, m = 1, 3, 5, tau 1 and 4,
    with the independent-student baseline."""
    b = Builder(scale, root)
    arch = scale.pick("preresnet56", "lenet5")
    teachers = b.teachers(arch)
    # cpu: the policies its claims compare (and tau 1 beside them), to fit the 45-minute budget; every
    # policy at both taus is 222 runs, hours on two cores. Chosen before any cpu run of this study.
    for m in scale.axis((1, 3, 5), (1, 3)):
        for tau in scale.axis((1.0, 4.0), (1.0, 4.0)):
            for policy in scale.axis(POLICIES, POLICIES, keep=("baseline", "gan"), cpu=CPU_POLICIES):
                students = [b.distill({"m": m, "tau": tau, "policy": policy}, teachers, trial, num_teachers=m,
                                      temperature=tau, aug=policy) for trial in _trials(scale)]
                if policy == "baseline" and len(students) > 1:
                    for k, student in enumerate(students):
                        b.independent_student(student, students[(k + 1) % len(students)],
                                              {"m": m, "tau": tau, "policy": policy})
    paper = (PaperValue("agreement", 86.0, (("policy", "mixup"), ("tau", 4.0), ("m", 5)), "MixUp at tau 4 (Fig 3)"),
             PaperValue("agreement", 84.5, (("policy", "baseline"), ("tau", 4.0), ("m", 5)),
                        "Baseline at tau 4 (Fig 3)"))
    figures = (
        Figure("agreement", "Test agreement by policy (Fig 3; Fig 11's agreement column)", x="policy", hue="tau",
               rows="m", kind="bar", paper=paper),
        Figure("accuracy_nll", "Test accuracy and NLL by policy (Fig 11)", x="policy", metrics=("accuracy", "nll"),
               hue="tau", rows="m", kind="bar"),
        Figure("independent", "The independent student's agreement with the teacher (the baseline)",
               x="m", model="independent_student", hue="tau"),
    )
    return Study("policies", "Section 5.1, Fig 3 and appendix B.3, Fig 11", scale.name, b.runs(), figures,
                 ("m", "tau", "policy"), notes=() if scale.paper else (_note(scale),), paper_table=paper)


def data_recycling(scale, root):
    """Section 5.2: teachers on D0; students on D0, D1 or both, sweeping m and tau."""
    b = Builder(scale, root)
    arch = scale.pick("preresnet56", "lenet5")
    teachers = b.teachers(arch, train_split="d0")
    for m in scale.axis((1, 3, 5), (1, 3)):
        for tau in scale.axis((1.0, 4.0), (1.0, 4.0)):
            for splits in scale.axis(("d0", "d1", "d0,d1"), ("d0", "d1", "d0,d1")):
                for trial in _trials(scale):
                    b.distill({"m": m, "tau": tau, "splits": splits}, teachers, trial, num_teachers=m,
                              temperature=tau, aug="baseline", distill_splits=splits)
    figures = (Figure("agreement", "Test agreement by distillation data (teachers learnt from D0)", x="m",
                      hue="splits", rows="tau"),
               Figure("train_agreement", "Agreement on each student's own distillation data: D0, D1 or both "
                      "(Fig 5, middle; clean, eval mode)", x="m", hue="splits", rows="tau", split="distillation"),
               Figure("clean_train_agreement", "Agreement on the whole train split, D0 and D1 (clean, eval mode)",
                      x="m", hue="splits", rows="tau", split="train"))
    return Study("data_recycling", "Section 5.2 (data recycling)", scale.name, b.runs(), figures,
                 ("m", "tau", "splits"), notes=() if scale.paper else (_note(scale),))


def capacity(scale, root):
    """Appendix C.1, Fig 12: ResNet-20 teachers into ResNet-20 or 56 students;
    ResNet-56 teachers into ResNet-56 or 110."""
    b = Builder(scale, root)
    pairs = scale.axis((("preresnet20", "preresnet20"), ("preresnet20", "preresnet56"),
                        ("preresnet56", "preresnet56"), ("preresnet56", "preresnet110")),
                       (("preresnet8", "preresnet8"), ("preresnet8", "preresnet14"),
                        ("preresnet14", "preresnet14"), ("preresnet14", "preresnet20")))
    for m in scale.axis((1, 3, 5), (1, 2)):
        for teacher_arch, student_arch in pairs:
            teachers = b.teachers(teacher_arch)
            for trial in _trials(scale):
                b.distill({"m": m, "teacher": teacher_arch, "student": student_arch}, teachers, trial,
                          num_teachers=m, student_arch=student_arch, aug="baseline",
                          data_fraction=scale.pick(None, 0.25))  # smoke: PreResNets are slow on CPUs
    figures = (Figure("agreement", "Test agreement by student capacity (Fig 12)", x="m", hue="student",
                      rows="teacher"),
               Figure("accuracy", "Test accuracy by student capacity (Fig 12)", x="m", metrics=("accuracy",),
                      hue="student", rows="teacher"))
    notes = () if scale.paper else (_note(scale) + " PreResNet-8/14/20 stand in for 20/56/110, distilling on a "
                                    "quarter of mnist5k.",)
    return Study("capacity", "Appendix C.1, Fig 12", scale.name, b.runs(), figures, ("m", "teacher", "student"),
                 notes=notes)


def vgg(scale, root):
    """Appendix C.2, Fig 13: a 5-component VGG-16 ensemble into a VGG-16 student, several policies."""
    b = Builder(scale, root)
    arch = scale.pick("vgg16", "lenet5")
    teachers = b.teachers(arch)
    for policy in scale.axis(("baseline", "color_jitter", "combined", "mixup"),
                             ("baseline", "color_jitter", "combined", "mixup")):
        for trial in _trials(scale):
            b.distill({"policy": policy}, teachers, trial, num_teachers=scale.pick(5, 2), aug=policy)
    figures = (Figure("metrics", "VGG-16: test accuracy, NLL and agreement by policy (Fig 13)", x="policy",
                      metrics=("accuracy", "nll", "agreement"), kind="bar",
                      paper=(PaperValue("agreement", 85.0, (), "agreement does not exceed 85% (C.2)"),)),)
    notes = () if scale.paper else (_note(scale) + " LeNet-5 stands in for VGG-16, which needs 32x32 inputs.",)
    return Study("vgg", "Appendix C.2, Fig 13", scale.name, b.runs(), figures, ("policy",), notes=notes)


def subsampled(scale, root):
    """Appendix B.1, Fig 9: ResNet-20 teachers on a subsample of CIFAR-100;
    students on the teachers' subsample, by m and tau."""
    b = Builder(scale, root)
    arch = scale.pick("preresnet20", "lenet5")
    fraction = 0.5  # the appendix does not give the size; half, as data recycling's halves
    size = scale.pick(25_000, 2_000)
    teachers = b.teachers(arch, train_size=size)
    for m in scale.axis((1, 3, 5), (1, 3)):
        for tau in scale.axis((1.0, 4.0, 8.0, 16.0), (1.0, 4.0)):  # Fig 9's columns
            for trial in _trials(scale):
                b.distill({"m": m, "tau": tau}, teachers, trial, num_teachers=m, temperature=tau,
                          student_arch=arch, aug="baseline", data_fraction=fraction)  # ResNet-20 students too
    figures = (Figure("agreement", "Subsampled: test agreement by m (Fig 9)", x="m", hue="tau"),
               Figure("accuracy", "Subsampled: test accuracy by m (Fig 9)", x="m", metrics=("accuracy",),
                      hue="tau"))
    notes = ("The appendix does not state the subsample's size; kd_tf uses half the train split, and students "
             "distil on the teachers' own examples (--data_fraction draws them with the teachers' seed).",)
    return Study("subsampled", "Appendix B.1, Fig 9", scale.name, b.runs(), figures, ("m", "tau"),
                 notes=notes + (() if scale.paper else (_note(scale),)))


def mnist_emnist(scale, root):
    """Appendix (MNIST/EMNIST): a LeNet-5 teacher on 200 MNIST examples, self-distilled
    on MNIST, or on 25/50/100% of EMNIST. Trial k's teacher (member k) learns
    from its own 200 examples (subset seed k), as the paper's across subsets."""
    b = Builder(scale, root)
    if scale.paper:
        teachers = b.teachers("lenet5", dataset="mnist", member_subsets=True)
        data = (("mnist", "mnist", None), ("emnist 25%", "emnist_for_mnist", 0.25),
                ("emnist 50%", "emnist_for_mnist", 0.5), ("emnist 100%", "emnist_for_mnist", None))
    else:  # teachers on 200 mnist5k digits; growing fractions of mnist5k stand in for EMNIST
        teachers = b.teachers("lenet5", train_size=200, member_subsets=True)
        data = (("mnist", "mnist5k", 0.25), ("emnist 25%", "mnist5k", 0.5), ("emnist 50%", "mnist5k", 0.75),
                ("emnist 100%", "mnist5k", None))
    for name, dataset, fraction in scale.axis(data, data):
        for trial in _trials(scale):
            b.distill({"data": name}, teachers, trial, dataset=dataset, num_teachers=1, aug="baseline",
                      data_fraction=fraction)
    figures = (Figure("agreement", "MNIST teacher: test agreement by distillation data", x="data", kind="bar",
                      metrics=("agreement", "accuracy"),
                      paper=(PaperValue("agreement", 99.0, (("data", "emnist 100%"),),
                                        "over 99% with enough data (REFERENCE.md)"),)),)
    notes = ("The teacher is one LeNet-5 trained on 200 MNIST examples for 100 epochs (84-86% test accuracy in "
             "the paper), each trial's on its own 200 (subset seed = trial; the reference fixes one subset).",) + (() if scale.paper else (_note(scale) + " Fractions of mnist5k stand in for EMNIST.",))
    return Study("mnist_emnist", "Appendix: MNIST self-distillation with growing distillation sets", scale.name,
                 b.runs(), figures, ("data",), notes=notes)


def optimisation(scale, root):
    """Section 6.2, Fig 6 and Table 1: self-distillation of ResNet-20s with
    LayerNorm. Longer training with SGD and Adam (Fig 6a), the student
    initialised between the teacher and a random point (the lambda sweep, Fig
    6b), and the teacher's own initial weights against a random start with
    per-stage CKA (Table 1)."""
    b = Builder(scale, root)
    arch = scale.pick("preresnet20_layernorm", "lenet5")  # LayerNorm: identical weights predict identically
    teachers = b.teachers(arch)
    base = dict(num_teachers=1, student_arch=arch, aug="baseline")  # self-distillation
    # Fig 6a: SGD 300 epochs with weight decay 1e-4 (the recipe), SGD and Adam for 1k and 5k epochs without.
    # Smoke and cpu: 1, 2 and 4 times the scale's student epochs (the recipe's 20 at cpu) stand in for 300, 1k, 5k.
    base_epochs = scale.student_epochs or EMBEDDED_STUDENT.epochs
    long_runs = ((("sgd", 300, 1e-4), ("sgd", 1000, 0.0), ("sgd", 5000, 0.0), ("adam", 1000, 0.0),
                  ("adam", 5000, 0.0)) if scale.paper else
                 tuple((o, k * base_epochs, wd) for o, k, wd in
                       (("sgd", 1, 1e-4), ("sgd", 2, 0.0), ("sgd", 4, 0.0), ("adam", 2, 0.0), ("adam", 4, 0.0))))
    for optimizer, epochs, weight_decay in scale.axis(long_runs, long_runs, keep=long_runs[:1]):
        for trial in _trials(scale):
            b.distill({"experiment": "optimizer", "optimizer": optimizer, "epochs": epochs,
                       "weight_decay": weight_decay}, teachers, trial, optimizer=optimizer, epochs=epochs,
                      weight_decay=weight_decay, **base)
    lambdas = (0.0, 0.25, 0.375, 0.5, 0.75, 0.875, 1.0)
    for lam in scale.axis(lambdas, (0.0, 0.5, 1.0), cpu=lambdas):
        for trial in _trials(scale):
            b.distill({"experiment": "interpolate", "lambda": lam}, teachers, trial, init="interpolate",
                      init_lambda=lam, **base)
    for init in ("random", "teacher_init"):
        for trial in range(scale.pick(10, scale.trials)):  # Table 1: 10 trials
            b.distill({"experiment": "init", "init": init}, teachers, trial, init=init, **base)
    cka = ("cka_1", "cka_2", "cka_3")
    figures = (
        Figure("train_agreement", "Agreement on train after longer training, SGD and Adam (Fig 6a; clean train, "
               "eval mode)", x="epochs", hue="optimizer", split="train", metrics=("agreement", "accuracy"),
               where=(("experiment", "optimizer"),)),
        Figure("train_loss", "Loss and agreement on the distillation batches (Fig 6a; the last epoch, train mode, "
               "as the reference logs them)", x="epochs", hue="optimizer", split="distillation_batches",
               metrics=("distillation_loss", "agreement"), where=(("experiment", "optimizer"),)),
        Figure("test_agreement", "Test agreement and accuracy after longer training", x="epochs", hue="optimizer",
               metrics=("agreement", "accuracy"), where=(("experiment", "optimizer"),)),
        Figure("interpolate", "Student initialised at lambda * teacher + (1 - lambda) * random: agreement on "
               "train (Fig 6b; clean train, eval mode)", x="lambda", split="train",
               metrics=("agreement", "accuracy"), where=(("experiment", "interpolate"),)),
        Figure("interpolate_loss", "... its loss on the distillation batches (Fig 6b, train mode)", x="lambda",
               split="distillation_batches", metrics=("distillation_loss",), where=(("experiment", "interpolate"),)),
        Figure("interpolate_test", "... and its test agreement", x="lambda", metrics=("agreement", "accuracy"),
               where=(("experiment", "interpolate"),)),
        Figure("init", "Random initialisation or the teacher's own initial weights: test agreement and accuracy "
               "(Table 1)", x="init", kind="bar", metrics=("agreement", "accuracy"), where=(("experiment", "init"),)),
        Figure("init_cka", "... and the linear CKA of teacher and student at stages 1-3 on test (Table 1)",
               x="init", kind="bar", metrics=cka, where=(("experiment", "init"),)),
    )
    notes = ("Table 1's rows are the init experiment's: test agreement, accuracy and CKA (cka_1..3: linear CKA "
             "over the whole test set; cka_reference_1..3: the reference's batch-averaged RBF CKA of transposed "
             "activations) in summary.csv.",)
    return Study("optimisation", "Section 6.2 (optimisation: Fig 6, Table 1)", scale.name, b.runs(), figures,
                 ("experiment", "optimizer", "epochs", "weight_decay", "lambda", "init"),
                 notes=notes + (() if scale.paper else (_note(scale),)))


def gan_enlarged(scale, root):
    """Section 6.1, Fig 1 and Fig 5 (left): ResNet-56 students of 1 and 3
    ResNet-56 teachers on CIFAR-100 enlarged with 12.5k, 25k, 37.5k and 50k
    static SN-GAN samples (generated once per run, seeded, stored with it);
    test agreement and accuracy, and agreement on the enlarged set."""
    b = Builder(scale, root)
    arch = scale.pick("preresnet56", "lenet5")
    teachers = b.teachers(arch)
    train_size = scale.pick(50_000, 4_000)  # CIFAR-100's train split; mnist5k's
    for m in (1, 3):
        for added in scale.axis((0.0, 0.25, 0.5, 0.75, 1.0), (0.0, 0.25, 0.5, 0.75, 1.0)):
            count = int(round(added * train_size))
            for trial in _trials(scale):
                b.distill({"m": m, "added": added, "gan_samples": count}, teachers, trial, num_teachers=m,
                          aug="baseline", gan_samples=count or None)
    largest = (("added", 1.0),)
    figures = (
        Figure("agreement", "Test agreement and accuracy with SN-GAN samples added (Fig 1)", x="added", hue="m",
               metrics=("agreement", "accuracy"),
               paper=(PaperValue("agreement", 80.0, largest, "section 6.1: below 80% test agreement with +50k"),)),
        Figure("train_agreement", "Agreement on the enlarged distillation set (Fig 5, left; clean, eval mode)",
               x="added", hue="m", split="distillation",
               paper=(PaperValue("agreement", 95.0, largest, "section 6.1: about 95% train agreement with +50k"),)),
    )
    notes = ("x (`added`): SN-GAN samples added, as a fraction of the train split's size (0.25 = +12.5k on "
             "CIFAR-100, 1 = +50k); `gan_samples` holds the count.",
             "The SN-GAN samples are static: generated once per run from a fixed seed (a smaller set is a prefix "
             "of a larger one) and stored in its gan_samples.npz, unlike the gan policy's 1:4 mix drawn for every "
             "batch. Baseline augmentation applies to real and synthetic rows alike.",)
    smoke = (_note(scale) + " mnist5k's 4,000 train digits with 1,000 to 4,000 samples of the tiny SN-GAN stand in "
             "for CIFAR-100 with 12.5k to 50k.",)
    return Study("gan_enlarged", "Section 6.1, Fig 1 and Fig 5 (left)", scale.name, b.runs(), figures,
                 ("m", "added", "gan_samples"), notes=notes + (() if scale.paper else smoke))


def alpha(scale, root):
    """Appendix C.5, Fig 14: alpha > 0 mixes in true labels (tau 1)."""
    b = Builder(scale, root)
    arch = scale.pick("preresnet56", "lenet5")
    teachers = b.teachers(arch)
    for m in scale.axis((1, 3, 5), (1, 3)):
        for a in scale.axis((0.0, 0.1, 0.25, 0.5, 0.75, 0.9), (0.0, 0.1, 0.5)):
            for trial in _trials(scale):
                b.distill({"m": m, "alpha": a}, teachers, trial, num_teachers=m, alpha=a, temperature=1.0,
                          aug="baseline")
    figures = (Figure("metrics", "Test accuracy and agreement by alpha (Fig 14, tau 1)", x="alpha",
                      metrics=("accuracy", "agreement"), hue="m"),)
    return Study("alpha", "Appendix C.5, Fig 14", scale.name, b.runs(), figures, ("m", "alpha"),
                 notes=() if scale.paper else (_note(scale),))


def losses(scale, root):
    """Every --loss, each with the reference's alpha (config/loss/*.yaml)."""
    b = Builder(scale, root)
    arch = scale.pick("preresnet56", "lenet5")
    teachers = b.teachers(arch)
    for m in scale.axis((1, 5), (1, 3)):
        for loss in scale.axis(LOSSES, LOSSES):
            for trial in _trials(scale):
                b.distill({"m": m, "loss": loss}, teachers, trial, num_teachers=m, loss=loss,
                          alpha=REFERENCE_ALPHA[loss], aug="baseline")
    figures = (Figure("metrics", "Test agreement and accuracy by loss (the reference's alpha for each)",
                      x="loss", metrics=("agreement", "accuracy"), hue="m", kind="bar"),)
    return Study("losses", "The reference's loss configs (config/loss/*.yaml)", scale.name, b.runs(), figures,
                 ("m", "loss"), notes=() if scale.paper else (_note(scale),))


TABLE1 = (  # appendix Table 1: (dataset, m, teacher acc, student acc, agreement, KL); ImageNet as fractions
    ("imdb", 1, 79.361, 80.353, 86.488, 0.124), ("imdb", 3, 81.807, 81.129, 89.832, 0.064),
    ("imdb", 5, 82.216, 81.167, 90.793, 0.052), ("imagenet", 1, 74.8, 75.3, 85.5, 0.217),
    ("imagenet", 3, 76.4, 75.5, 87.8, 0.157), ("imagenet", 5, 76.7, 75.6, 88.4, 0.142))


def table1(scale, root):
    """Appendix C.3 and C.4, Table 1: IMDB (BiLSTM) and ImageNet (ResNet-50), m = 1, 3, 5."""
    b = Builder(scale, root)
    settings = scale.pick((("imdb", "imdb_reviews", "bilstm"), ("imagenet", "imagenet2012", "resnet50")),
                          (("imdb", "mnist5k", "lenet5"), ("imagenet", "mnist5k", "preresnet8")))
    for name, dataset, arch in settings:
        teachers = b.teachers(arch, dataset=dataset)
        for m in scale.axis((1, 3, 5), (1, 3)):
            for trial in _trials(scale):
                b.distill({"dataset": name, "m": m}, teachers, trial, dataset=dataset, num_teachers=m,
                          aug="baseline")
    paper = tuple(PaperValue(metric, value, (("dataset", d), ("m", m)), "Table 1")
                  for d, m, teacher, student, agree, kl in TABLE1
                  for metric, value in (("agreement", agree), ("kl", kl), ("accuracy", student)))
    figures = (Figure("agreement", "Test agreement by ensemble size (Table 1)", x="m", hue="dataset",
                      metrics=("agreement", "kl"), paper=paper),)
    notes = () if scale.paper else (_note(scale) + " mnist5k with LeNet-5 and PreResNet-8 stands in for IMDB and "
                                    "ImageNet.",)
    return Study("table1", "Appendix C.3 and C.4, Table 1", scale.name, b.runs(), figures, ("dataset", "m"),
                 notes=notes, paper_table=paper)


def gan(scale, root):
    """The SN-GAN of the gan policy: samples, FID and IS (appendix A.2)."""
    b = Builder(scale, root)
    b.gan()
    paper = (PaperValue("fid", 74.26, (), "FID on CIFAR-100 (PyTorch Inception)"),
             PaperValue("inception_score", 6.60, (), "IS on CIFAR-100 (PyTorch Inception)"))
    notes = ("FID and IS need Inception-v3 weights (--inception_weights, or Keras's download where the machine is "
             "online); kd_tf's come from Keras's InceptionV3, not the PyTorch network behind the paper's "
             "numbers.",) + (() if scale.paper else (_note(scale) + " A tiny SN-GAN on mnist5k.",))
    return Study("gan", "Appendix A.2 (the SN-GAN: samples, FID, IS)", scale.name, b.runs(), (), (),
                 notes=notes, paper_table=paper)


STUDIES = {f.__name__: f for f in (ensemble_size, policies, data_recycling, capacity, vgg, subsampled,
                                   mnist_emnist, optimisation, gan_enlarged, alpha, losses, table1, gan)}


def build(name, scale, runs_root):
    return STUDIES[name](scale, runs_root)
