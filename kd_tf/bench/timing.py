"""Images per second over timed repeats: one definition for kd_tf's figures
and the reference's, which are timed in a process without TensorFlow
(kd_tf/bench/reference_process.py)."""

import dataclasses
import statistics
import time


@dataclasses.dataclass(frozen=True)
class Rate:
    """Images per second over several timed repeats (warm-up excluded)."""
    name: str
    images_per_second: tuple

    @property
    def median(self):
        return statistics.median(self.images_per_second)

    @property
    def spread(self):
        return min(self.images_per_second), max(self.images_per_second)

    def line(self, reference=None):
        low, high = self.spread
        ratio = f"{self.median / reference.median:7.2f}x" if reference is not None else ""
        return f"{self.name:<46}{self.median:>10.1f}  [{low:.1f} .. {high:.1f}]{ratio:>10}"


def timed(run_steps, steps, repeats, batch_size):
    """Images/s of each repeat of run_steps(steps), which runs that many steps
    and waits for them; one warm-up call first."""
    run_steps(max(1, steps // 2))
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        run_steps(steps)
        rates.append(steps * batch_size / (time.perf_counter() - start))
    return tuple(rates)
