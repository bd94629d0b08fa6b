import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tools"))


@pytest.fixture(scope="session")
def repo():
    return REPO


@pytest.fixture(scope="session")
def test_data(repo):
    return os.path.join(repo, "tests", "data")


@pytest.fixture(autouse=True)
def _threads():
    import torch
    torch.set_num_threads(1)
