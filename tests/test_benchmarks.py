"""benchmarks/throughput.py runs and records its figures (a smoke test on the 8x8 digits).

The figures themselves are measured by running the script, never asserted by a timed test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_throughput_benchmark_runs_and_records(tmp_path):
    record = tmp_path / "RESULTS.md"
    env = {**os.environ, "VAE_TUTORIAL_OFFLINE": "1", "VAE_TUTORIAL_DATA": ""}
    env["VAE_TUTORIAL_CACHE"] = str(tmp_path / "empty_cache")
    run = subprocess.run(
        [sys.executable, "benchmarks/throughput.py", "--steps", "5", "--rounds", "1",
         "--epochs", "1", "--budgets", "0.02", "--record", str(record)],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    for expected in ("(a) trainer:", "(b) plain loop:", "(c) matmul roofline:",
                     "trainer / plain:", "trainer / roofline:", "after 1 epochs: trainer",
                     "after 0.02 min", "data: digits"):  # fmt: skip
        assert expected in run.stdout
    text = record.read_text()
    assert "CPU:" in text and "trainer / roofline:" in text and "--record" in text
