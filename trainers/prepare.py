r"""Makes a course dataset ready: `python -m trainers.prepare --dataset=NAME`.

Downloads the dataset into the cache (or takes the files given with
--archive), verifies checksums, extracts archives safely (unsafe entries
are refused and listed) and, for cats-vs-dogs style data (one folder per
class), splits each class into training/ and testing/ folders. Prints the
`--data_path` (and validation folder or file) to train the model on:

    python -m trainers.prepare --dataset=cats-vs-dogs \
        --archive=/data/cats_and_dogs_sample.zip --dest=/tmp/cats-v-dogs \
        --split_ratio=0.9 --seed=42

Datasets: cats-and-dogs-filtered, cats-vs-dogs, fashion-mnist,
happy-or-sad, horse-or-human, mnist, rps, sign-language-mnist. Running the
same command again reuses what is already extracted and split.
"""

from __future__ import annotations

from absl import flags

from data.images import prepare as datasets
from trainers.common import cli
from trainers.common import flags as common_flags

flags.DEFINE_enum("dataset", None, sorted(datasets.LAYOUTS),
                  "The dataset to prepare.")
flags.mark_flag_as_required("dataset")
flags.DEFINE_multi_string(
    "archive", [], "Use this local file instead of downloading (repeat once "
    "per file for datasets of two archives, e.g. horse-or-human and its "
    "validation zip, in that order).")
flags.DEFINE_string("dest", None, "Output folder (default: "
                    "<cache>/extracted/<dataset>).")
flags.DEFINE_float("split_ratio", 0.9, "Training fraction when splitting "
                   "into training/testing folders.")
common_flags.define_seed_flag("the split's shuffle")
flags.DEFINE_string("cache_dir", None, "Download cache (default: "
                    "$TFPRACTICE_CACHE or ~/.cache/tfpractice).")
flags.DEFINE_float("max_extract_gb", 16.0, "Refuse archives whose members "
                   "expand past this many GiB in total.")
flags.DEFINE_float("max_extract_ratio", 100.0, "Refuse archives that expand "
                   "more than this many times their size (archive bombs).")
flags.register_validator("max_extract_gb", lambda v: v > 0,
                         message="--max_extract_gb must be positive")
flags.register_validator("max_extract_ratio", lambda v: v > 0,
                         message="--max_extract_ratio must be positive")
flags.register_validator("split_ratio", lambda v: 0 <= v <= 1,
                         message="--split_ratio must be in [0, 1]")
FLAGS = flags.FLAGS


def main(argv):
  if len(argv) > 1:
    raise cli.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  from data.archives import ExpansionLimits
  limits = ExpansionLimits(max_bytes=int(FLAGS.max_extract_gb * 2**30),
                           max_ratio=FLAGS.max_extract_ratio)
  prepared = datasets.prepare(
      FLAGS.dataset, archives=FLAGS.archive, dest=FLAGS.dest,
      split_ratio=FLAGS.split_ratio, seed=FLAGS.seed,
      cache_dir=FLAGS.cache_dir, limits=limits)
  print(f"{FLAGS.dataset} is ready for {prepared.model}:")
  print(f"  --data_path={prepared.data_path}")
  if prepared.validation_path:
    print(f"  --hparam={prepared.validation_key}={prepared.validation_path}")
  print(f"train with: {prepared.command()}")


if __name__ == "__main__":
  cli.run(main)
