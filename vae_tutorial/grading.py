"""Grading the exercises (nbgrader): hidden tests test the student's own code, in a sandbox.

Introduced in notebook 01. A hidden test runs the student's function inside
``forbid_calls(reference)``: if the student's code calls the package's reference implementation,
under whatever name it was imported, the test fails with a message that says so.

The rest serves the grader (docs/instructors.md): ``limit_resources`` and ``install_guard`` for
the processes that run students' code, and the grading kernel (``python -m
vae_tutorial.grading -f CONNECTION_FILE``, course/kernels/vae-grader) that nbgrader runs.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


def _code_of(function: Callable):
    function = inspect.unwrap(function)
    function = getattr(function, "__func__", function)  # bound methods
    if isinstance(function, type):  # a class: its forward pass (nn.Module) or its __call__
        function = getattr(function, "forward", None) or function.__call__
    code = getattr(function, "__code__", None)
    if code is None:
        raise TypeError(f"{function!r} is not a Python function")
    return code


@contextmanager
def forbid_calls(*functions: Callable, message: str | None = None) -> Iterator[None]:
    """Fail (AssertionError) if any of ``functions`` runs inside the ``with`` block.

    Works on functions, methods and nn.Module classes (their ``forward``), by watching Python
    calls with ``sys.setprofile``, so renaming or aliasing the reference does not hide it.
    """
    codes = {_code_of(f): getattr(f, "__qualname__", repr(f)) for f in functions}
    called: list[str] = []

    def watch(frame, event, arg):
        if event == "call" and frame.f_code in codes:
            called.append(codes[frame.f_code])

    previous = sys.getprofile()
    sys.setprofile(watch)
    try:
        yield
    finally:
        sys.setprofile(previous)
    if called:
        raise AssertionError(
            message
            or f"Your code calls the reference implementation {called[0]}; "
            "this exercise asks you to write it yourself."
        )


# --- Running code we do not trust: the grading kernel and the referee's processes -----------------
# A student's notebook is untrusted code. Whatever runs it gets hard resource limits (which the
# code cannot raise again) and an audit hook (PEP 578: once added, Python code cannot remove it)
# that refuses what grading never needs: starting processes, signalling others, loading C code,
# opening the gradebook, and reading the course's files outside the submission's own folder.

DENIED_EVENTS = frozenset({
    "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
    "subprocess.Popen", "os.kill", "os.killpg", "signal.pthread_kill", "pty.spawn",
    "ctypes.dlopen", "ctypes.dlsym", "ctypes.call_function", "ctypes.addressof",
    "ctypes.cdata", "ctypes.string_at", "ctypes.wstring_at", "sys.remote_exec",
    "sqlite3.connect",  # the gradebook is an SQLite file; only ":memory:" is let through
})  # fmt: skip
# For the referee's processes also: watching or rewriting running code, raw code objects.
STRICT_EVENTS = DENIED_EVENTS | {
    "sys.setprofile", "sys.settrace", "gc.get_objects", "gc.get_referrers",
    "gc.get_referents", "code.__new__", "marshal.loads",
}  # fmt: skip
# Events that change a file or folder: allowed only where writing is (their first argument is
# the path, and "dir_fd" the folder a relative path starts from).
CHANGES = {"os.remove": 1, "os.rmdir": 1, "os.rename": 2, "shutil.rmtree": 1, "os.chmod": 2,
           "os.truncate": None, "os.mkdir": 2, "shutil.move": None, "os.link": 2,
           "os.symlink": 2}  # fmt: skip


class GradingViolation(PermissionError):
    """Raised by the grading sandbox when graded code does something that grading forbids."""


def limit_resources(memory_mb: int, cpu_seconds: int | None = None) -> None:
    """Hard limits on this process (inherited by its children): heap memory, and CPU time."""
    import resource

    memory = memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))
    if cpu_seconds is not None:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))


def install_guard(
    denied_roots: list[str], allowed_root: str | None = None, events=DENIED_EVENTS
) -> None:
    """Refuse ``events``; opening anything below ``denied_roots`` (unless below
    ``allowed_root``), any notebook or database outside ``allowed_root``, and another process's
    files in /proc (its memory, say); and writing, removing or renaming anything outside
    ``allowed_root`` and the temporary folder.
    """
    import os
    import sys
    import tempfile

    realpath, fspath, join, startswith = os.path.realpath, os.fspath, os.path.join, str.startswith
    readlink, isinstance_, str_, bytes_, getpid = os.readlink, isinstance, str, bytes, os.getpid
    denied = tuple(realpath(root) + os.sep for root in denied_roots)
    allowed = realpath(allowed_root) + os.sep if allowed_root else None
    writable = tuple(p for p in (allowed, realpath(tempfile.gettempdir()) + os.sep) if p)
    writes = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

    def refuse(what):
        raise GradingViolation(f"grading does not allow {what}")

    def resolved(path, dir_fd=None) -> str | None:
        if isinstance_(path, int):  # a file descriptor: judged when it was opened
            return None
        path = fspath(path)
        path = path.decode(errors="replace") if isinstance_(path, bytes_) else str_(path)
        if dir_fd is not None and dir_fd >= 0 and not path.startswith(os.sep):
            path = join(readlink(f"/proc/self/fd/{dir_fd}"), path)
        return realpath(path) + os.sep

    def may_write(path: str | None) -> bool:
        if path is None or (allowed is not None and startswith(path, allowed)):
            return True
        in_denied = any(startswith(path, root) for root in denied)
        return not in_denied and any(startswith(path, root) for root in writable)

    def hook(event, args):
        if event in events:
            if event == "sqlite3.connect" and args and args[0] == ":memory:":
                return
            refuse(event)
        if event in CHANGES:
            index = CHANGES[event]
            dir_fd = args[index] if index is not None and index < len(args) else None
            dir_fd = dir_fd if isinstance_(dir_fd, int) else None
            targets = args[:2] if event in ("os.rename", "os.link", "os.symlink") else args[:1]
            for target in targets:
                if not may_write(resolved(target, dir_fd)):
                    refuse(f"{event} on {target}")
        if event == "open" and args and isinstance_(args[0], (str_, bytes_, os.PathLike)):
            path = resolved(args[0])
            mode, flags = (tuple(args[1:3]) + (None, 0))[:2]
            inside = allowed is not None and startswith(path, allowed)
            parts = path.split(os.sep)  # /proc/<pid>/...: another process's memory, say
            if parts[1:2] == ["proc"] and parts[2].isdigit() and parts[2] != str(getpid()):
                refuse(f"reading {path[:-1]}")
            if not inside and (
                any(startswith(path, root) for root in denied)
                or path.endswith((".ipynb/", ".db/", ".sqlite/"))
            ):
                refuse(f"reading {path[:-1]}")
            writing = (any(flag in mode for flag in "wax+") if isinstance_(mode, str_)
                       else bool((flags or 0) & writes))  # fmt: skip
            if writing and not may_write(path):
                refuse(f"writing {path[:-1]}")

    sys.addaudithook(hook)


def _kernel_main() -> None:
    """The grading kernel: ipykernel under limits and the guard (see course/kernels)."""
    import os
    import threading
    import time

    # Import what the notebooks use before the guard: their loading needs what it refuses.
    import matplotlib.pyplot  # noqa: F401
    import numpy  # noqa: F401
    import torch  # noqa: F401

    environ = os.environ
    limit_resources(
        int(environ.get("VAE_GRADER_MEMORY_MB", "2048")),
        int(environ.get("VAE_GRADER_CPU_S", "360")),
    )
    wall, exit_now, sleep = float(environ.get("VAE_GRADER_WALL_S", "180")), os._exit, time.sleep

    def watchdog():  # a whole submission gets `wall` seconds, however its time is spent
        sleep(wall)
        exit_now(124)

    threading.Thread(target=watchdog, daemon=True).start()
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize()  # IPython's own set-up (its profile folder, say) comes before the guard
    course = environ.get("VAE_GRADER_COURSE")
    install_guard([course] if course else [], allowed_root=os.getcwd())
    app.start()


if __name__ == "__main__":
    _kernel_main()
