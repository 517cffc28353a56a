"""Helpers for the graded exercises (nbgrader): hidden tests must test the student's own code.

Introduced in notebook 01. A hidden test runs the student's function inside
``forbid_calls(reference)``: if the student's code calls the package's reference implementation,
under whatever name it was imported, the test fails with a message that says so.
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
