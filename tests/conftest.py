import os

import numpy as np
import pytest

import symgraph as sg

# The suite runs in the mode named by SYMGRAPH_TEST_MODE (default: the configured default),
# so the same tests check every backend.
MODE = os.environ.get("SYMGRAPH_TEST_MODE")
if MODE:
    sg.config.mode = MODE


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
