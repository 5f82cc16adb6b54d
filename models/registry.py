"""Model registry: stable name -> how to build, train and feed the model.

Names are part of the CLI contract (`--model=series_dnn`); never rename one.
Each domain module (models/series.py, models/vision.py, ...) calls `register`
at import time; `get` and `names` import them all on first use.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any, Callable, Mapping

_DOMAIN_MODULES = ("models.basics", "models.series", "models.vision",
                   "models.text")
_RECIPES: dict[str, "Recipe"] = {}
_loaded = False


class UnknownModelError(KeyError):
  """Raised for a model name that is not registered."""

  def __str__(self):
    return self.args[0]


@dataclasses.dataclass(frozen=True)
class Recipe:
  """Everything the trainers need to train one registered model.

  Attributes:
    name: the stable registry name.
    description: one line shown by `--model=help` and `trainers.summary`.
    build_model: `hparams -> engine Module` (usually a Sequential).
    make_data: `hparams -> data.bundle.DataBundle`.
    loss: an engine.losses name, e.g. "mse", "huber",
      "sparse_categorical_crossentropy", or `hparams -> name` when a
      hyper-parameter picks it (e.g. one-hot vs sparse labels).
    metrics: engine.metrics names, e.g. ("mae",) or ("accuracy",).
    optimizer: an engine.optimizers name: "sgd", "rmsprop" or "adam".
    optimizer_kwargs: extra optimizer arguments, e.g. {"momentum": 0.9}.
    hparams: defaults for every hyper-parameter the builders read; always
      includes learning_rate, batch_size and epochs. Flags override them.
    target: default (metric, value) at which training stops, or None.
    input_shape: optional `hparams -> (shape without batch, dtype)` so
      `trainers.summary` can build the model without reading any data.
    extra_hooks: optional `(hparams, data_bundle) -> list[engine.hooks.Hook]`
      for model-specific epoch-end work, e.g. logging generated text or a
      grid of augmented images to TensorBoard (`trainer.writers`).
    initialize: optional `(model, data_bundle.info) -> None` run once on a
      model freshly built for training, before a checkpoint (if any) is
      restored over it, e.g. to start from pre-trained GloVe vectors.
    read_validation: optional `(hparams, class_info) -> dataset or None`:
      the validation batches make_data gives, read alone with the
      preprocessing saved in model_dir (image runs: classes.json), so
      `trainers.evaluate` need not rebuild the training data.
  """

  name: str
  description: str
  build_model: Callable[[Mapping[str, Any]], Any]
  make_data: Callable[[Mapping[str, Any]], Any]
  loss: str | Callable[[Mapping[str, Any]], str]
  metrics: tuple[str, ...] = ()
  optimizer: str = "adam"
  optimizer_kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  hparams: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  target: tuple[str, float] | None = None
  input_shape: Callable[[Mapping[str, Any]], tuple] | None = None
  extra_hooks: Callable[[Mapping[str, Any], Any], list] | None = None
  initialize: Callable[[Any, Any], None] | None = None
  read_validation: Callable[[Mapping[str, Any], Mapping[str, Any]], Any
                            ] | None = None


def loss_name(recipe: Recipe, hparams: Mapping[str, Any] | None = None
              ) -> str:
  """The recipe's loss for these hparams (its defaults when None)."""
  if callable(recipe.loss):
    return recipe.loss(recipe.hparams if hparams is None else hparams)
  return recipe.loss


def register(recipe: Recipe) -> Recipe:
  """Adds a recipe; a second recipe with the same name is a bug."""
  if recipe.name in _RECIPES:
    raise ValueError(f"model {recipe.name!r} is registered twice")
  for key in ("learning_rate", "batch_size", "epochs"):
    if key not in recipe.hparams:
      raise ValueError(f"model {recipe.name!r}: hparams lacks {key!r}")
  _RECIPES[recipe.name] = recipe
  return recipe


def _load_all() -> None:
  global _loaded
  if _loaded:
    return
  for module in _DOMAIN_MODULES:
    try:
      importlib.import_module(module)
    except ModuleNotFoundError as e:
      if e.name != module:
        raise
  _loaded = True


def names() -> list[str]:
  """All registered model names, sorted."""
  _load_all()
  return sorted(_RECIPES)


def get(name: str) -> Recipe:
  """The recipe for `name`; UnknownModelError lists the known names."""
  _load_all()
  if name not in _RECIPES:
    raise UnknownModelError(
        f"unknown model {name!r}; known models: {', '.join(names())}")
  return _RECIPES[name]
