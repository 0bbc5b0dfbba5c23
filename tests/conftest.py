"""Fixtures shared by test modules in several folders."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def one_torch_thread():
    """`pytest -n 2` runs two workers on two cores: one torch thread each is fastest."""
    import torch  # imported when a module trains, not when any test collects

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
