"""tfpractice's engine: a flat public API, loaded lazily.

    import engine
    model = engine.Sequential([engine.Dense(100, activation="relu"),
                               engine.Dense(1)])
    trainer = engine.Trainer(model, "mse", engine.SGD(1e-6, momentum=0.9))

Names resolve on first use (PEP 562), so `import engine.strategy_names`
and flag parsing stay free of TensorFlow's import time.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "engine.module": ("Module", "NotBuiltError", "check_built"),
    "engine.modules.dense": ("Dense",),
    "engine.modules.conv": ("Conv1D", "Conv2D"),
    "engine.modules.pool": (
        "MaxPool1D", "MaxPool2D", "MaxPooling1D", "MaxPooling2D",
        "AveragePooling2D", "AvgPool2D",
        "GlobalAveragePooling1D", "GlobalAveragePooling2D",
        "GlobalMaxPooling1D", "GlobalMaxPooling2D"),
    "engine.modules.norm": ("BatchNormalization",),
    "engine.modules.merge": ("Concatenate", "Add"),
    "engine.modules.activation": ("Activation",),
    "engine.modules.embed": ("Embedding",),
    "engine.modules.basic": ("Flatten", "Dropout", "Lambda", "Scale",
                             "ExpandDims"),
    "engine.modules.recurrent": ("SimpleRNN", "LSTM", "GRU"),
    "engine.modules.wrappers": ("Bidirectional",),
    "engine.modules.sequential": ("Sequential",),
    "engine.freezing": ("set_trainable",),
    "engine.mixed_precision": ("Policy", "policy_scope", "set_global_policy",
                               "global_policy"),
    "engine.optimizers": ("SGD", "RMSprop", "Adam"),
    "engine.trainer": ("Trainer", "Position", "FitRun"),
    "engine.task": ("Task",),
    "engine.loop": ("make_loop_fn",),
    "engine.hooks": ("Hook", "StopAtThreshold", "EarlyStopping",
                     "LearningRateSchedule"),
    "engine.history": ("History",),
    "engine.checkpoint": ("RunCheckpoint",),
    "engine.summaries": ("SummaryWriters",),
    "engine.distribute": ("get_strategy",),
    "engine.summary_table": ("summarize",),
    "engine.errors": ("EngineUserError", "CheckpointMismatchError",
                      "NonFiniteLossError"),
}
_WHERE = {name: module for module, names in _EXPORTS.items()
          for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
  if name not in _WHERE:
    raise AttributeError(f"module 'engine' has no attribute {name!r}")
  return getattr(importlib.import_module(_WHERE[name]), name)


def __dir__():
  return __all__
