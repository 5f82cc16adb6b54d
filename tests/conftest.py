"""pytest setup shared by every test: quiet TF, two logical CPU devices.

The logical devices must exist before TensorFlow initialises its runtime, so
they are configured here, at import time, before any test module runs.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

from tests import testing  # noqa: E402

testing.configure_logical_cpus()
