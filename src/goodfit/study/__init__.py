"""The study: arms x seeds x conditions on one data set, run through an executor, judged with statistics.

Along the flow: `plan` (the `Study`, its defaults and units), `units` (what a worker trains and what each
member leaves), `run` (executor and store), `result` (`StudyResult`: the table, comparisons and power).
`Study(...).run(out)` trains what the store lacks and returns the `StudyResult`. The numbers only: the
verdict's words, results.json, report.html and the notebook's display are `goodfit.report`'s.
"""
from goodfit.study.plan import (CONTROL_SEEDS, DEFAULT_ARM_NAMES, DEFAULT_STUDY, Study, comparisons_in,
                                sweep_arms)
from goodfit.study.result import ALPHA, POWER, StudyResult, planned_power
from goodfit.study.run import run_study
from goodfit.study.units import (CONTROL, UNDIAGNOSED, UnitOutput, UnitTask, member_key, records_of, run_unit,
                                 seeds_of, splits_for)

__all__ = ["ALPHA", "CONTROL", "CONTROL_SEEDS", "DEFAULT_ARM_NAMES", "DEFAULT_STUDY", "POWER", "UNDIAGNOSED",
           "Study", "StudyResult", "UnitOutput", "UnitTask", "comparisons_in", "member_key", "planned_power",
           "records_of", "run_study", "run_unit", "seeds_of", "splits_for", "sweep_arms"]
