"""Every public name says where it is taught (STYLE.md: "Introduced in notebook 04.")."""

from __future__ import annotations

import re

import pytest

import vae_tutorial

TAUGHT = re.compile(r"Introduced in notebook \d\d")


@pytest.mark.parametrize("name", vae_tutorial.__all__)
def test_public_docstring_says_where_it_is_taught(name):
    # __doc__, not inspect.getdoc: a class must not pass on its base class's docstring
    doc = getattr(vae_tutorial, name).__doc__ or ""
    assert TAUGHT.search(doc), f"vae_tutorial.{name}: say 'Introduced in notebook NN.'"
