"""The claims' statistics on synthetic results with known effects (a claim
that must hold, one that must not, one that is inconclusive), and every
claim's runs present in its study at --scale=cpu."""

import numpy as np
import pandas as pd
from absl.testing import absltest

from kd_tf.studies import claims, definitions
from kd_tf.studies.claims import Claim, Difference, Level, Side, Trend
from kd_tf.studies.scale import CPU


def results(rows):
    return pd.DataFrame.from_records([{"model": "student", "split": "test", "run": f"r{i}", **r}
                                      for i, r in enumerate(rows)])


def paired(effect, noise, trials=5, seed=0):
    """Two arms x trials: arm b around 90, arm a = b + effect + noise (per trial)."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(trials):
        base = 90 + rng.normal()
        rows.append({"arm": "b", "trial": t, "agreement": base})
        rows.append({"arm": "a", "trial": t, "agreement": base + effect + noise * rng.normal()})
    return results(rows)


def verdict(test, table):
    return claims.judge(Claim("s", "n", "", "", "", test), table)


DIFF = Difference("agreement", Side((("arm", "a"),)), Side((("arm", "b"),)), "greater")


class DifferenceTest(absltest.TestCase):
    def test_a_real_effect_holds(self):
        v = verdict(DIFF, paired(effect=3.0, noise=0.5))
        self.assertEqual(v.verdict, claims.HOLDS)
        self.assertBetween(v.effect, 2.0, 4.0)
        self.assertLess(v.low, v.effect)
        self.assertGreater(v.high, v.effect)
        self.assertGreater(v.low, 0)
        self.assertEqual(v.trials, 5)
        self.assertLen(v.runs, 10)

    def test_the_opposite_effect_does_not_hold(self):
        self.assertEqual(verdict(DIFF, paired(effect=-3.0, noise=0.5)).verdict, claims.FAILS)

    def test_noise_around_zero_is_inconclusive(self):
        v = verdict(DIFF, paired(effect=0.0, noise=3.0, seed=3))
        self.assertEqual(v.verdict, claims.INCONCLUSIVE)
        self.assertLess(v.low, 0)
        self.assertGreater(v.high, 0)

    def test_pairing_removes_the_trials_shared_noise(self):
        # Trials vary by +-1 (shared by both arms); a paired effect of 0.5 with tiny noise is still clear.
        self.assertEqual(verdict(DIFF, paired(effect=0.5, noise=0.05)).verdict, claims.HOLDS)

    def test_less_and_equal(self):
        less = Difference("agreement", DIFF.a, DIFF.b, "less")
        self.assertEqual(verdict(less, paired(-3.0, 0.5)).verdict, claims.HOLDS)
        self.assertEqual(verdict(less, paired(3.0, 0.5)).verdict, claims.FAILS)
        equal = Difference("agreement", DIFF.a, DIFF.b, "equal", margin=1.0)
        self.assertEqual(verdict(equal, paired(0.0, 0.1)).verdict, claims.HOLDS)
        self.assertEqual(verdict(equal, paired(3.0, 0.1)).verdict, claims.FAILS)
        self.assertEqual(verdict(equal, paired(0.0, 3.0, seed=3)).verdict, claims.INCONCLUSIVE)

    def test_missing_runs_are_no_data(self):
        v = verdict(Difference("agreement", Side((("arm", "c"),)), DIFF.b, "greater"), paired(3.0, 0.5))
        self.assertEqual(v.verdict, claims.NO_DATA)
        self.assertEqual(v.trials, 0)

    def test_a_single_trial_gives_no_interval(self):
        self.assertEqual(verdict(DIFF, paired(3.0, 0.5, trials=1)).verdict, claims.NO_DATA)


class TrendAndLevelTest(absltest.TestCase):
    def _trend(self, slope, noise, seed=0):
        rng = np.random.default_rng(seed)
        return results([{"m": m, "trial": t, "agreement": 80 + slope * np.log2(m) + noise * rng.normal()}
                        for t in range(5) for m in (1, 2, 4, 8)])

    def test_trend(self):
        rising = Trend("agreement", "m", Side(), "increasing", log=True)
        v = verdict(rising, self._trend(2.0, 0.5))
        self.assertEqual(v.verdict, claims.HOLDS)
        self.assertAlmostEqual(v.effect, 2.0, delta=0.3)  # the slope per doubling
        self.assertEqual(verdict(rising, self._trend(-2.0, 0.5)).verdict, claims.FAILS)
        self.assertEqual(verdict(rising, self._trend(0.0, 5.0, seed=1)).verdict, claims.INCONCLUSIVE)

    def test_categorical_order(self):
        table = results([{"data": d, "trial": t, "agreement": 80 + 3 * i + (t % 2)}
                         for t in range(4) for i, d in enumerate(("small", "medium", "large"))])
        test = Trend("agreement", "data", Side(), "increasing", order=("small", "medium", "large"))
        self.assertEqual(verdict(test, table).verdict, claims.HOLDS)
        backwards = Trend("agreement", "data", Side(), "increasing", order=("large", "medium", "small"))
        self.assertEqual(verdict(backwards, table).verdict, claims.FAILS)

    def test_level(self):
        table = paired(0.0, 0.1)  # arm b: about 90 +- 1
        above = Level("agreement", Side((("arm", "b"),)), "above", 85.0)
        self.assertEqual(verdict(above, table).verdict, claims.HOLDS)
        self.assertEqual(verdict(Level("agreement", above.side, "above", 95.0), table).verdict, claims.FAILS)
        self.assertEqual(verdict(Level("agreement", above.side, "below", 95.0), table).verdict, claims.HOLDS)
        at_the_mean = table[table.arm == "b"].agreement.mean()
        self.assertEqual(verdict(Level("agreement", above.side, "above", at_the_mean), table).verdict,
                         claims.INCONCLUSIVE)


class ClaimsMatchTheStudiesTest(absltest.TestCase):
    def test_every_side_names_runs_of_its_study_at_the_cpu_scale(self):
        for claim in claims.CLAIMS:
            study = definitions.build(claim.study, CPU, "/runs")
            labels = [dict(r.labels) for r in study.runs if r.kind == "distill"]
            test = claim.test
            sides = (test.a, test.b) if isinstance(test, Difference) else (test.side,)
            for side in sides:
                matching = [lab for lab in labels if all(a in lab and lab[a] == v for a, v in side.where)]
                self.assertGreaterEqual(len({lab["trial"] for lab in matching}), 5, (claim.name, side))
            if isinstance(test, Trend) and not test.order:
                values = {lab[test.x] for lab in labels if test.x in lab}
                self.assertGreaterEqual(len(values), 2, claim.name)


if __name__ == "__main__":
    absltest.main()
