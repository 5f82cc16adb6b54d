"""Building and writing the SavedModel of a trained run (trainers.export).

Used by `trainers.export` and by `trainers.train --export`.
"""

from __future__ import annotations

import os

from trainers.common import cli

EXPORT_SUBDIR = "export"


def serving_module(recipe, hparams, model_dir: str):
  """(serving tf.Module factory, input spec) for the run in model_dir.

  The factory takes the restored model. The kind of module follows the
  artifacts training stored: classes.json (images), tokenizer.json (text
  classifier or generator), subword_vocab.txt (subword text classifier), a
  window_size (series), else the model's input.

  Raises:
    UsageError: a model whose input shape cannot be known without data.
  """
  import tensorflow as tf
  from data.text import graph_tokenizer, pipelines
  from data.images import bundles as vision_data
  from engine import export
  from models import series as series_models, text as text_models
  from models import vision as vision_models
  from trainers.common import session
  info = vision_data.read_class_info(model_dir)
  if info is not None:
    shape = info["input_shape"]
    return (lambda model: vision_models.ImageClassifierServing(
        model, shape, info["class_names"], _num_outputs(model, shape,
                                                        tf.float32),
        info.get("rescale", vision_data.RESCALE)),
            tf.TensorSpec([None, *shape], tf.float32))
  if os.path.exists(os.path.join(model_dir, pipelines.TOKENIZER_FILE)):
    encoder = pipelines.load_inference_encoder(model_dir)
    length = encoder.max_length
    spec = tf.TensorSpec([None, length], tf.int32)
    if "total_words" in encoder.config:
      return (lambda model: text_models.TextGeneratorServing(
          model, encoder.tokenizer, length), spec)
    options = graph_tokenizer.text_options(hparams)
    return (lambda model: text_models.TextClassifierServing(
        model, graph_tokenizer.GraphTokenizer(
            encoder.tokenizer, length, encoder.config["padding_type"],
            encoder.config["trunc_type"], **options),
        encoder.class_names, _num_outputs(model, [length], tf.int32)), spec)
  subword = _subword_serving_module(hparams, model_dir)
  if subword is not None:
    return subword
  if recipe.input_shape is None:
    raise cli.UsageError(f"model {recipe.name!r} declares no input shape, "
                         f"so it cannot be exported without its data")
  spec = session.input_spec(recipe, hparams, model_dir)[0]
  if "window_size" in hparams:
    return (lambda model: series_models.SeriesServing(
        model, hparams["window_size"], seq2seq=spec.shape.rank == 3), spec)
  return (lambda model: export.GenericServing(model, spec), spec)


def _subword_serving_module(hparams, model_dir: str):
  """(factory, ids spec) of a subword text classifier run (its vocabulary
  file is in model_dir), else None."""
  from data.text import pipelines
  if not os.path.exists(os.path.join(model_dir, pipelines.CONFIG_FILE)):
    return None  # Not a text run: tensorflow-text need not be imported.
  import tensorflow as tf
  from data.text import graph_tokenizer, subword_graph, subword_pipeline
  from models import text as text_models
  if not os.path.exists(os.path.join(model_dir, subword_pipeline.VOCAB_FILE)):
    return None
  encoder = pipelines.load_inference_encoder(model_dir)
  graph_encoder = subword_graph.SubwordGraphEncoder(
      encoder.tokenizer, encoder.max_length, encoder.config["padding_type"],
      encoder.config["trunc_type"], **graph_tokenizer.text_options(hparams))
  length = encoder.max_length
  return (lambda model: text_models.SubwordClassifierServing(
      model, graph_encoder, encoder.class_names,
      _num_outputs(model, [length or subword_pipeline.MIN_LENGTH],
                   tf.int32)),
          tf.TensorSpec([None, length], tf.int32))


def _num_outputs(model, shape, dtype) -> int:
  import tensorflow as tf
  outputs = model(tf.zeros([1, *shape], dtype), training=False)
  return int(outputs.shape[-1])


def default_export_dir(model_dir: str, step: int) -> str:
  """`model_dir/export/<step>`, absolute."""
  from engine import export
  return export.version_dir(os.path.join(model_dir, EXPORT_SUBDIR), step)


def export_run(model_dir: str, export_dir: str | None = None,
               tflite: bool = False, trainer=None) -> str:
  """Writes the SavedModel (and model.tflite) of the run in model_dir.

  Args:
    model_dir: a trained run.
    export_dir: the folder to write (None: model_dir/export/<step>).
    tflite: also convert to model.tflite.
    trainer: the run's trainer when the caller has it (trainers.train);
      None restores the newest checkpoint.

  Returns:
    The export folder.

  Raises:
    UsageError: no trained run; ExportError: the folder exists or TFLite
      cannot convert the model (nothing is written then).
  """
  from engine import export
  from trainers.common import session
  recipe, hparams = session.load_run(model_dir)
  make_module, spec = serving_module(recipe, hparams, model_dir)
  if trainer is None:
    trainer = session.restored_trainer(recipe, hparams, model_dir,
                                       (spec, None))
  step = int(trainer.global_step.numpy())
  export_dir = os.path.abspath(export_dir or default_export_dir(model_dir,
                                                                step))
  export.check_new_export_dir(export_dir)
  module = make_module(trainer.model)
  extra = {}
  if tflite:
    extra[export.TFLITE_FILE] = export.tflite_model(
        module.model_input.get_concrete_function(), module,
        f"model {recipe.name!r}")
  return export.write_saved_model(module, export_dir, module.signatures(),
                                  extra)
