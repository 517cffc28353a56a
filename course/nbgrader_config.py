"""nbgrader's configuration for a course built from this series (copy it into the course folder).

`python tools/assignments.py` copies it into its course folder, and copies or links
`course/kernels/` beside it (see docs/instructors.md).
"""

c = get_config()  # noqa: F821 (nbgrader defines it)

# Every cell of a graded notebook gets at most 60 s. The notebooks choose their quick parameters
# when nbgrader runs them (it sets NBGRADER_EXECUTION), so honest cells take seconds; a hung or
# looping cell costs its exercise, not the class's afternoon.
c.Execute.timeout = 60
# Whatever kernelspec a submission names, it is graded by the grading kernel: the notebook's
# Python under memory, CPU and wall-clock limits and an audit hook (vae_tutorial/grading.py).
c.Execute.kernel_name = "vae-grader"
c.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:"]
