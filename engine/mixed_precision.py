"""Mixed precision: compute in bfloat16/float16, keep float32 variables.

    with mixed_precision.policy_scope("mixed_bfloat16"):
      model = build_model()          # modules take the policy when created
    pred = model(x)                  # matmuls/convs in bfloat16
    loss = loss_fn(y, to_float32(pred))

A module created under a mixed policy (its `compute_dtype`) creates its
variables in float32, casts its floating input and its kernels to the
compute dtype, and computes softmax/sigmoid in float32 (Keras's advice for
the last layer). Recurrent layers compute in float32 (their hand-written
fused gradient is float32-only). Optimizer slots follow the float32
variables. `mixed_float16` also needs dynamic loss scaling
(`engine.optimizers.loss_scale`), since small float16 gradients underflow.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any, Iterator

import tensorflow as tf

POLICY_NAMES = ("float32", "mixed_bfloat16", "mixed_float16")


@dataclasses.dataclass(frozen=True)
class Policy:
  """A dtype policy: the compute dtype and the variable dtype.

  Attributes:
    name: "float32", "mixed_bfloat16" or "mixed_float16".
  """

  name: str

  def __post_init__(self):
    if self.name not in POLICY_NAMES:
      raise ValueError(f"unknown mixed precision policy {self.name!r}; "
                       f"expected one of {', '.join(POLICY_NAMES)}")

  @property
  def compute_dtype(self) -> tf.DType:
    """The dtype of activations and of the math."""
    return {"float32": tf.float32, "mixed_bfloat16": tf.bfloat16,
            "mixed_float16": tf.float16}[self.name]

  @property
  def variable_dtype(self) -> tf.DType:
    """The dtype of variables and optimizer state (always float32)."""
    return tf.float32

  @property
  def is_mixed(self) -> bool:
    """True when compute and variable dtypes differ."""
    return self.name != "float32"

  @property
  def needs_loss_scale(self) -> bool:
    """True for float16, whose small gradients underflow without scaling."""
    return self.name == "mixed_float16"


_global_policy = Policy("float32")


def global_policy() -> Policy:
  """The policy new modules take."""
  return _global_policy


def set_global_policy(policy: str | Policy) -> None:
  """Sets the policy for modules created from now on."""
  global _global_policy
  _global_policy = policy if isinstance(policy, Policy) else Policy(policy)


@contextlib.contextmanager
def policy_scope(policy: str | Policy) -> Iterator[Policy]:
  """Sets the global policy inside the block, restores it afterwards."""
  previous = global_policy()
  set_global_policy(policy)
  try:
    yield global_policy()
  finally:
    set_global_policy(previous)


def cast_floating(x: Any, dtype: tf.DType) -> tf.Tensor:
  """`x` cast to `dtype` if it is floating; other dtypes are kept."""
  x = tf.convert_to_tensor(x)
  return tf.cast(x, dtype) if x.dtype.is_floating and x.dtype != dtype else x


_LOW_PRECISION = (tf.float16, tf.bfloat16)


def to_float32(structure: Any) -> Any:
  """Every float16/bfloat16 tensor of a (nested) model output as float32.

  Losses and metrics then see float32, whatever the compute dtype; float32
  and float64 outputs are returned unchanged.
  """
  def cast(t):
    return tf.cast(t, tf.float32) if t.dtype in _LOW_PRECISION else t

  return tf.nest.map_structure(cast, structure)
