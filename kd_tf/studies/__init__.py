"""The paper's experiments as code: each study expands into runs (teachers,
GANs, students, evaluations), which an executor runs, and whose results
become the study's CSVs, figures and report."""
