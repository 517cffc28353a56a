"""Where benchmark figures live: one section per script in benchmarks/RESULTS.md.

Each script rewrites only its own section, between ``<!-- begin NAME -->`` and
``<!-- end NAME -->``, and the README quotes some lines of a section (the throughput section's
ratios, the quality section's lines per budget) between ``<!-- begin quoted NAME -->`` and
``<!-- end quoted NAME -->``, refreshed here and checked by tests/test_benchmarks.py.
"""

from __future__ import annotations

import datetime
import os
import platform
import re
import shlex
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
# The lines of a section that the README quotes start with its prefix here (default: the ratios).
QUOTED_PREFIXES = {"quality": "after "}
QUOTED_PREFIX = "trainer / "


def machine() -> list[str]:
    """What the figures depend on: CPU, cores, memory, library versions, and the load."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            models = [
                line.split(":", 1)[1].strip() for line in info if line.startswith("model name")
            ]
        cpu = models[0] if models else cpu
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return [
        f"CPU: {cpu}, {os.cpu_count()} logical cores, {memory:.0f} GiB",
        f"Python {platform.python_version()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, {platform.system()} {platform.release()}",
        f"load average (1 min) at start: {os.getloadavg()[0]:.2f}",
    ]


def _markers(name: str, kind: str = "") -> tuple[str, str]:
    kind = f"{kind} " if kind else ""
    return f"<!-- begin {kind}{name} -->", f"<!-- end {kind}{name} -->"


def _replace_block(text: str, begin: str, end: str, body: str) -> str:
    block = f"{begin}\n{body}\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        return pattern.sub(lambda _: block, text)
    return text.rstrip() + "\n\n" + block + "\n"


def section(path: Path | str, name: str) -> str:
    """The text of one section of a results file ("" if it has none)."""
    begin, end = _markers(name)
    text = Path(path).read_text() if Path(path).exists() else ""
    match = re.search(re.escape(begin) + r"\n(.*?)\n" + re.escape(end), text, re.DOTALL)
    return match.group(1) if match else ""


def quoted_lines(path: Path | str, name: str) -> list[str]:
    """The lines of a section that the README quotes."""
    prefix = QUOTED_PREFIXES.get(name, QUOTED_PREFIX)
    return [line for line in section(path, name).splitlines() if line.startswith(prefix)]


def write_section(
    path: Path | str, name: str, title: str, intro: str, lines: list[str], readme: Path = README
) -> None:
    """Rewrite section ``name`` of the results file with the run's ``lines`` and the command."""
    path = Path(path)
    command = shlex.join(["python", *sys.argv])
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = (f"## {title}\n\nWritten by `{command}` on {when}. {intro}\n\n```\n"
            + "\n".join(lines) + "\n```")  # fmt: skip
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    path.write_text(_replace_block(text, *_markers(name), body))
    print(f"recorded in {path}")
    if readme.exists() and path.resolve() == (ROOT / "benchmarks" / "RESULTS.md").resolve():
        quote = "```\n" + "\n".join(quoted_lines(path, name)) + "\n```"
        text = readme.read_text()
        if _markers(name, "quoted")[0] in text:
            readme.write_text(_replace_block(text, *_markers(name, "quoted"), quote))
            print(f"quoted in {readme}")
