"""Prints the distillation step's images/second as `fit` runs it, its parts,
its FLOP roofline here, and (with --compare_reference and torch installed)
the reference's PyTorch step on the same workload, in a process of its own
(spawned, without TensorFlow), and with --rounds the two timed back to back.

  bazel run //experiments:bench_step -- --arch=preresnet56 --num_teachers=5 --compare_reference
"""

from absl import flags

from kd_tf import cli
from kd_tf.studies import sharing

FLAGS = flags.FLAGS

# Defaults: kd_tf.bench.step_throughput.Workload (the workload).
flags.DEFINE_enum("arch", None, ["preresnet20", "preresnet56", "preresnet110"],
                  "Teacher and student architecture, CIFAR-shaped inputs (default preresnet56).")
flags.DEFINE_integer("num_teachers", None, "Ensemble size m (default 5).", lower_bound=1)
flags.DEFINE_integer("batch_size", None, "Batch (default 128).", lower_bound=1)
flags.DEFINE_integer("num_classes", None, "Classes (default 100).", lower_bound=2)
flags.DEFINE_enum("precision", None, ["fp32", "bf16", "fp16"], "The student's precision (default fp32).")
flags.DEFINE_enum("teacher_precision", None, ["fp32", "bf16", "fp16"],
                  "The teachers' precision (default: --precision).")
flags.DEFINE_boolean("jit_compile", None, "XLA-compile kd_tf's step (default off).")
flags.DEFINE_boolean("compare_reference", False, "Also time the reference's PyTorch step (needs torch).")
flags.DEFINE_integer("steps", 3, "Steps per timed repeat.", lower_bound=1)
flags.DEFINE_integer("repeats", 5, "Timed repeats (after a warm-up).", lower_bound=1)
flags.DEFINE_integer("group_students", 0, "Also time a DistillerGroup of this many students on the m-member pool "
                     "(m = 1, 3, 5 at tau 1 and 4, as the policies study's students of one policy and trial) "
                     "against the same students as single runs, one after another.", lower_bound=0)
flags.DEFINE_integer("rounds", 0, "With --compare_reference: this many more rounds that time kd_tf's step and the "
                     "reference's back to back (alternating which goes first), and the median of their ratios.",
                     lower_bound=0)


def main():
    from kd_tf.bench import step_throughput as bench
    from kd_tf.bench.torch_reference import TORCH_MISSING, torch
    from kd_tf.errors import UserError

    if FLAGS.compare_reference and torch is None:
        raise UserError(f"--compare_reference: {TORCH_MISSING}.")
    if FLAGS.rounds and not FLAGS.compare_reference:
        raise UserError("--rounds times kd_tf against the reference: pass --compare_reference with it.")
    given = {name: FLAGS[name].value for name in ("arch", "num_teachers", "batch_size", "num_classes", "precision",
                                                  "teacher_precision", "jit_compile") if FLAGS[name].value is not None}
    workload = bench.Workload(**given, steps=FLAGS.steps, repeats=FLAGS.repeats)
    process = bench.reference_process(workload) if FLAGS.compare_reference else None
    try:
        _report(bench, workload, process)
    finally:
        if process is not None:
            process.close()


def _report(bench, workload, process):
    import os
    import statistics

    import tensorflow as tf

    threads = tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count()
    line = (f"{workload.arch}, m = {workload.num_teachers}, batch {workload.batch_size}, {workload.num_classes} "
            f"classes, tau {bench.TEMPERATURE:g}; student {workload.precision}, teachers {workload.teacher_precision}, "
            f"XLA {'on' if workload.jit_compile else 'off'}; {os.cpu_count()} CPU cores, TF intra-op threads {threads}")
    if process is not None:
        info = process.info()
        line += (f"; the reference: torch {info['torch_version']}, {info['torch_threads']} threads, in its own "
                 f"process ({'with' if info['tensorflow_imported'] else 'without'} TensorFlow)")
    print(line)
    print(f"median of {workload.repeats} repeats of {workload.steps} steps after a warm-up; [min .. max]")
    print(f"{'':<46}{'images/s':>10}  {'spread':<18}{'ratio':>8}")
    teachers = bench.build_teachers(workload)
    step = bench.kd_tf_step(workload, teachers)
    reference = reference_teachers = None
    if process is not None:
        reference, reference_teachers = bench.reference_rates(process)
        print(reference.line())
        print(reference_teachers.line())
    print(step.line(reference))
    print(bench.kd_tf_teachers(workload, teachers).line(reference_teachers))
    print(bench.kd_tf_student(workload).line())
    print(bench.kd_tf_cached_step(workload, teachers).line(reference))
    if process is not None and workload.teacher_precision == "bf16":
        reference_bf16, _ = bench.reference_rates(process, autocast_teachers=True)
        print(reference_bf16.line())
        print(f"{'kd_tf step against the bf16-autocast reference':<46}{'':>10}  {'':<18}"
              f"{step.median / reference_bf16.median:>9.2f}x")
    per_image, forward = bench.step_flops_per_image(workload)
    peak = bench.conv_gflops("float32")
    print(f"FLOPs per image: {forward / 1e6:.1f} M per forward pass, {per_image / 1e6:.1f} M per step "
          f"(m forwards + 3 for the student)")
    roofline = peak * 1e9 / per_image
    print(f"fp32 3x3 convolutions (PreResNet stage shapes) here: {peak:.0f} GFLOP/s -> fp32 roofline "
          f"{roofline:.1f} images/s; the step reaches {100 * step.median / roofline:.0f}% of it")
    ceiling = bench.matmul_gflops()
    achieved = step.median * per_image / 1e9
    print(f"fp32 2048x2048 matrix product here (this CPU's fp32 ceiling): {ceiling:.0f} GFLOP/s; the step runs at "
          f"{achieved:.0f} GFLOP/s, {100 * achieved / ceiling:.0f}% of it")
    if reference is not None:
        wanted = 1.5 * reference.median
        needed = wanted * per_image / 1e9
        print(f"1.5x the reference ({wanted:.1f} images/s) would need {needed:.0f} GFLOP/s, "
              f"{100 * needed / ceiling:.0f}% of that ceiling")
    if FLAGS.rounds:
        ratios = []
        for i, (kd_tf, ref) in enumerate(bench.paired_rates(workload, teachers, process, FLAGS.rounds),
                                         start=1):
            ratios.append(kd_tf / ref)
            print(f"round {i}: kd_tf {kd_tf:.1f}, reference {ref:.1f} images/s, {ratios[-1]:.2f}x", flush=True)
        print(f"kd_tf's step against the reference's over {len(ratios)} paired rounds: median "
              f"{statistics.median(ratios):.2f}x [{min(ratios):.2f} .. {max(ratios):.2f}]")
    if FLAGS.group_students:
        _report_group(bench, workload, teachers, FLAGS.group_students)
    if workload.teacher_precision == "bf16":
        agreement, largest = bench.bf16_teacher_fidelity(workload)
        print(f"bf16 teachers against the same teachers in fp32 on the batch: top-1 agreement {agreement:.2f}%, "
              f"largest ensemble-logit difference {largest:.4f}")


def _report_group(bench, workload, teachers, size):
    settings = bench.group_settings(workload, size)
    alone, grouped = sharing.member_forwards([s.members for s in settings])
    print(f"group of {size} students on a {workload.num_teachers}-member pool "
          f"({', '.join(f'm {len(s.members)} tau {s.temperature:g}' for s in settings)}): "
          f"{grouped} teacher member forwards per batch, {alone} as single runs")
    group = bench.kd_tf_group_step(workload, teachers, settings)
    print(group.line())
    singles = bench.kd_tf_single_steps(workload, teachers, settings)
    for rate in singles:
        print(rate.line())
    # One after another, the single runs give each student a batch in the sum of their step times.
    per_student = 1.0 / sum(1.0 / r.median for r in singles)
    print(f"{'single runs one after another, per student':<46}{per_student:>10.1f}")
    print(f"group against single runs, images/s per student: {group.median / per_student:.2f}x "
          "(issue 27's target: 2x, fp32)")


if __name__ == "__main__":
    cli.run(main)
