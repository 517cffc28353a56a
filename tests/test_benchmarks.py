"""benchmarks/throughput.py runs and records its figures (a smoke test on the 8x8 digits).

The figures themselves are measured by running the script, never asserted by a timed test.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import record  # noqa: E402  (benchmarks/ is a folder of scripts, not a package)


@pytest.mark.slow
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
    for expected in ("trainer:", "PyTorch examples loop", "BCE with logits:", "hand-tuned loop:",
                     "matmul roofline:", "trainer / hand-tuned loop: ", "trainer / logits plain "
                     "loop: ", "trainer / roofline: ", "after 1 epochs: trainer",
                     "after 0.02 min", "data: digits"):  # fmt: skip
        assert expected in run.stdout
    text = record.read_text()
    assert "CPU:" in text and "trainer / roofline:" in text and "--record" in text
    assert text.count("<!-- begin throughput -->") == 1


def test_a_section_is_rewritten_alone(tmp_path):
    results = tmp_path / "RESULTS.md"
    record.write_section(results, "one", "One", "First.", ["trainer / x: 1.00"], readme=tmp_path)
    record.write_section(results, "two", "Two", "Second.", ["b"], readme=tmp_path)
    record.write_section(results, "one", "One", "Again.", ["trainer / x: 2.00"], readme=tmp_path)
    text = results.read_text()
    assert "Again." in text and "First." not in text and "Second." in text
    assert text.index("<!-- begin one -->") < text.index("<!-- begin two -->")  # kept in place
    assert record.quoted_lines(results, "one") == ["trainer / x: 2.00"]


@pytest.mark.parametrize(
    ("name", "example"),
    [("throughput", "trainer / hand-tuned loop: "), ("quality", "after 10 min (")],
)
def test_the_readme_quotes_the_recorded_figures(name, example):
    quoted = record.quoted_lines(ROOT / "benchmarks" / "RESULTS.md", name)
    assert any(line.startswith(example) for line in quoted), quoted
    readme = (ROOT / "README.md").read_text()
    begin, end = f"<!-- begin quoted {name} -->", f"<!-- end quoted {name} -->"
    block = readme[readme.index(begin) + len(begin) : readme.index(end)]
    assert block.strip().strip("`").strip().splitlines() == quoted, (
        "README.md quotes other figures than benchmarks/RESULTS.md: rerun the benchmark"
    )


def test_the_quality_recipe_trains_within_its_budget_and_the_ablation_adds_one_thing_a_row():
    import dataclasses

    import quality

    from vae_tutorial import load_data

    data = load_data("digits", seed=0)
    model, epochs, spent = quality.train_for(data, quality.Recipe(), minutes=0.05)
    assert epochs >= 1 and spent <= 0.05 * 1.5, (epochs, spent)
    assert model.config.hidden_dims == (512, 512) and not model.training
    rows = list(quality.ABLATION.values())
    assert rows[0] == quality.SERIES_DEFAULT and rows[-1] == quality.Recipe()
    for before, after in zip(rows, rows[1:], strict=False):
        changed = [
            f.name
            for f in dataclasses.fields(quality.Recipe)
            if getattr(before, f.name) != getattr(after, f.name)
        ]
        # one ingredient per row: the architecture (widths, latent units) and the schedule (its
        # shape, its peak) count as one each
        groups = ({"hidden_dims", "latent_dim"}, {"cosine", "learning_rate"})
        assert len(changed) == 1 or any(set(changed) <= group for group in groups), changed
