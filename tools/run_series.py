"""Execute the notebook series headless with papermill and report time and peak memory.

    python tools/run_series.py                     # default parameters, into build/tutorial/
    python tools/run_series.py --quick             # the fast parameters used by the tests
    python tools/run_series.py --in-place          # refresh the committed outputs (make outputs)
    python tools/run_series.py notebooks/00_*.ipynb
    python tools/run_series.py --quick --seed 2    # another seed (make test-seeds sweeps them)
    python tools/run_series.py --quick --jobs 2    # two notebooks at a time, one thread each

Each notebook runs in its own papermill process, so the peak resident memory reported is that of
the largest process of that run (the kernel). A failing notebook is reported with the cell that
failed and its traceback; the others still run, and the exit status is 1. With --in-place a
notebook is replaced only after it executed without error.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
# The same floating-point code paths on every x86-64 CPU with AVX2: otherwise PyTorch's vectorised
# kernels, MKL and oneDNN each choose instructions by CPU (AVX-512 where there is one), and results
# differ from machine to machine in their last digits, which nbval compares in committed outputs.
# Ignored on other CPUs. The thread count matters too: committed outputs come from 2 threads.
REPRODUCIBLE_CPU = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
# Headless runs: the notebooks turn their progress bars off (vae_tutorial.utils.headless).
HEADLESS = {"VAE_TUTORIAL_HEADLESS": "1"}


def series() -> list[Path]:
    """The numbered notebooks, in order."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def machine_paths() -> dict[str, str]:
    """This machine's folders that outputs may print, and what committed outputs say instead."""
    paths = {str(ROOT): "<project>", str(Path(sys.executable).parent): "<python>"}
    if data := os.environ.get("VAE_TUTORIAL_DATA"):
        paths[str(Path(data).resolve())] = "$VAE_TUTORIAL_DATA"
        paths[data.rstrip("/")] = "$VAE_TUTORIAL_DATA"
    paths[str(Path.home())] = "~"
    return dict(sorted(paths.items(), key=lambda item: -len(item[0])))  # longest first


def strip_run_metadata(path: Path, seconds: float) -> None:
    """Prepare an executed notebook for committing: papermill's per-cell timings dropped (the
    notebook changes only when its content does), the run's total time kept in the notebook's
    metadata (the website shows it), and this machine's folders replaced in text outputs."""
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("papermill", None)
    nb.metadata["vae_tutorial"] = {"seconds": round(seconds), "threads": torch_threads()}
    replacements = machine_paths()
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        for output in cell.get("outputs", []):
            for holder, key in ((output, "text"), (output.get("data", {}), "text/plain")):
                if key in holder:
                    for folder, name in replacements.items():
                        holder[key] = holder[key].replace(folder, name)
    nbformat.write(nb, path)


def torch_threads() -> int:
    """The CPU threads PyTorch uses in a kernel started from here (its default: the cores)."""
    return int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1)


def dataset_used(path: Path) -> str:
    """The data set a notebook reported with load_data's "Using ..." line, if any."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            for line in str(output.get("text", "")).splitlines():
                if line.startswith("Using "):
                    return line.split(":", 1)[0].removeprefix("Using ")
    return "-"


def execute_one(notebook: Path, output: Path, parameters: dict) -> int:
    """Child process: run papermill; on an error, name the cell and show its traceback."""
    import re

    import papermill

    try:
        papermill.execute_notebook(
            notebook,
            output,
            parameters=parameters,
            cwd=notebook.parent,
            kernel_name="python3",
            progress_bar=sys.stderr.isatty(),  # cell by cell, when someone watches
        )
    except papermill.PapermillExecutionError as err:
        traceback = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(err.traceback))  # drop colours
        print(
            f"\n{notebook.name}: cell In [{err.exec_count}] failed with "
            f"{err.ename}: {err.evalue}\n{traceback}",
            file=sys.stderr,
        )
        return 1
    return 0


def execute(notebook: Path, output: Path, parameters: dict, threads: int | None = None) -> dict:
    """Run one notebook in its own process; return its outcome, time and peak memory.

    :param threads: the kernel's CPU threads (OMP_NUM_THREADS); default: PyTorch's choice.
    """
    command = [sys.executable, __file__, "--execute-one", json.dumps([str(notebook), str(output)])]
    command += ["--parameters", json.dumps(parameters)]
    environment = {**REPRODUCIBLE_CPU, **os.environ, **HEADLESS}
    environment |= {"OMP_NUM_THREADS": str(threads)} if threads else {}
    start = time.perf_counter()
    process = subprocess.Popen(command, env=environment)
    # Reap it ourselves to get the rusage of the child and of every process it waited for,
    # the kernel included: ru_maxrss is then the largest of their peak resident sizes.
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    ok = process.returncode == 0
    return {
        "notebook": notebook.name,
        "ok": ok,
        "seconds": round(seconds, 1),
        "peak_rss_mib": round(usage.ru_maxrss / 1024),  # Linux reports KiB
        "dataset": dataset_used(output) if ok else "-",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: the whole series")
    parser.add_argument("--quick", action="store_true", help="fast parameters (quick=True)")
    parser.add_argument("--device", default=None, help="auto, cpu, cuda or mps")
    parser.add_argument("--seed", type=int, default=None, help="the notebooks' seed (default 0)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--output-dir", type=Path, default=ROOT / "build" / "tutorial")
    where.add_argument("--in-place", action="store_true", help="overwrite the notebooks")
    parser.add_argument(
        "--jobs", type=int, default=1,
        help="notebooks run at a time, each with CPU threads = cores / jobs (not with --in-place:"
        " thread counts can change the last digits of committed outputs)",
    )  # fmt: skip
    parser.add_argument("--execute-one", help=argparse.SUPPRESS)  # [notebook, output], as JSON
    parser.add_argument("--parameters", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.execute_one:
        notebook, output = map(Path, json.loads(args.execute_one))
        return execute_one(notebook, output, json.loads(args.parameters))

    parameters = {}
    if args.quick:
        parameters["quick"] = True
    if args.device:
        parameters["device"] = args.device
    if args.seed is not None:
        parameters["seed"] = args.seed
    if args.in_place and parameters:
        parser.error("--in-place keeps the default parameters; drop --quick, --device and --seed")
    if args.jobs < 1 or (args.in_place and args.jobs > 1):
        parser.error("--jobs must be at least 1, and 1 with --in-place")
    notebooks = [p.resolve() for p in args.notebooks] or series()
    if not notebooks:
        parser.error(f"no notebooks found in {NOTEBOOKS}")
    for path in notebooks:
        if path.suffix != ".ipynb" or not path.is_file():
            parser.error(f"{path} is not a notebook file")
    if not args.in_place:
        args.output_dir.mkdir(parents=True, exist_ok=True)

    threads = max(1, (os.cpu_count() or 1) // args.jobs) if args.jobs > 1 else None

    def run(notebook: Path) -> dict:
        if args.in_place:
            fd, tmp = tempfile.mkstemp(suffix=".ipynb", dir=notebook.parent)
            os.close(fd)
            output = Path(tmp)
        else:
            output = args.output_dir / notebook.name
        print(f"Executing {notebook.name} ...", flush=True)
        result = execute(notebook, output, parameters, threads)
        if args.in_place:
            if result["ok"]:
                strip_run_metadata(output, result["seconds"])
                shutil.copymode(notebook, output)  # mkstemp made it private
                os.replace(output, notebook)
            else:
                output.unlink(missing_ok=True)
        mark = "ok" if result["ok"] else "FAILED"
        print(
            f"  {notebook.name} {mark}: {result['seconds']} s, peak memory "
            f"{result['peak_rss_mib']} MiB, data set {result['dataset']}",
            flush=True,
        )
        return result

    from concurrent.futures import ThreadPoolExecutor

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(run, notebooks))
    wall = time.perf_counter() - started

    mode = ("quick" if args.quick else "default") + (f", seed {args.seed}" if args.seed else "")
    lines = [
        f"# Run summary ({mode} parameters)",
        "",
        "| notebook | status | seconds | peak memory (MiB) | data set |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['notebook']} | {'ok' if r['ok'] else 'FAILED'} | {r['seconds']} "
        f"| {r['peak_rss_mib']} | {r['dataset']} |"
        for r in results
    ]
    total = sum(r["seconds"] for r in results)
    lines += ["", f"Total: {total:.1f} s for {len(results)} notebooks"
              + (f", {wall:.1f} s of wall-clock time with {args.jobs} at a time." if args.jobs > 1
                 else ".")]  # fmt: skip
    summary_dir = ROOT / "build" if args.in_place else args.output_dir
    summary_dir.mkdir(parents=True, exist_ok=True)
    (summary_dir / "summary.md").write_text("\n".join(lines) + "\n")
    (summary_dir / "summary.json").write_text(json.dumps(results, indent=2))
    print("\n".join(lines))
    print(f"\nExecuted notebooks and summary in {summary_dir}")
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
