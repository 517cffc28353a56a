"""README.md's map of the series agrees with the files: one row per notebook, in order.

The notebooks are found on disk (notebooks/NN_*.ipynb), never listed here, so that adding,
renaming or splitting a notebook only needs its README row.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tools.run_series import series

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = series()
LINK = re.compile(r"^\[(\d\d) [^\]]+\]\((notebooks/[^)]+\.ipynb)\)$")


def _cells(line: str) -> list[str]:
    """The cells of one markdown table row, stripped: '| a | b |' -> ['a', 'b']."""
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip()[1:-1])]


def series_table(readme: str) -> list[dict[str, str]]:
    """The rows of the first table under '## The series', as {header: cell}.

    A markdown table ends at the first line that is not a row, so a blank line inside the table
    cuts it short here exactly as it does on GitHub.
    """
    heading = re.search(r"^## The series$", readme, flags=re.MULTILINE)
    assert heading, "README.md has no '## The series' section"
    section = re.split(r"^## ", readme[heading.end() :], maxsplit=1, flags=re.MULTILINE)[0]
    lines = section.strip().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        table.append(line)
    header, rule, *rows = table
    assert set(rule) <= set("|-: "), f"the second line of the table is not a rule: {rule!r}"
    names = _cells(header)
    return [dict(zip(names, _cells(row), strict=True)) for row in rows]


ROWS = series_table((ROOT / "README.md").read_text())


def _names(cell: str) -> list[str]:
    """The `code` names in a cell: '`elbo`, `vae`' -> ['elbo', 'vae']."""
    return re.findall(r"`([^`]+)`", cell)


def test_one_row_per_numbered_notebook_in_order_each_linking_to_it():
    assert NOTEBOOKS, "no numbered notebooks found"
    links = [LINK.match(row["notebook"]) for row in ROWS]
    assert all(links), [row["notebook"] for row, link in zip(ROWS, links, strict=True) if not link]
    listed = [link.group(2) for link in links]
    expected = [path.relative_to(ROOT).as_posix() for path in NOTEBOOKS]
    assert listed == expected
    for link in links:  # the label's number is the file's
        assert Path(link.group(2)).name.startswith(link.group(1) + "_")


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row["notebook"][1:3])
def test_each_row_names_modules_and_tests_that_exist(row):
    modules, tests = _names(row["package module"]), _names(row["tests"])
    assert modules and tests, f"{row['notebook']}: name its package modules and its tests"
    missing = [f"vae_tutorial/{name}.py" for name in modules]
    missing += [f"tests/{name}.py" for name in tests]
    assert [path for path in missing if not (ROOT / path).is_file()] == []


def test_a_blank_line_cuts_the_table_short():
    readme = "## The series\n\n| notebook | x |\n|---|---|\n| a | 1 |\n\n| b | 2 |\n\n## Next\n"
    assert series_table(readme) == [{"notebook": "a", "x": "1"}]
