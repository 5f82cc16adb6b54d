"""Where the course's datasets live: public URL, file name and checksum.

Each entry says where its checksum comes from. When the publisher gives no
sha256, `sha256` is None and `checksum_note` says so; `data.download` then
computes the sha256 on the first download, prints it and pins it in the cache
("trust on first use") instead of pretending the file was verified. Where the
publisher gives only an md5, the downloader checks that md5.

Example:
  from data import catalog, download
  path = download.fetch_entry(catalog.get("bbc-text"))
"""

from __future__ import annotations

import dataclasses

_LMORONEY = "https://storage.googleapis.com/laurencemoroney-blog.appspot.com/"
_KERAS = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_MNIST_MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"
_FASHION = ("https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/"
            "master/data/fashion/")
_NO_SHA = "no published checksum: sha256 is computed on first download"


@dataclasses.dataclass(frozen=True)
class Entry:
  """One downloadable file.

  Attributes:
    name: catalog key, e.g. "happy-or-sad".
    filename: the file name in the cache directory.
    url: public URL, or None where the file needs a login (Kaggle).
    sha256: the expected sha256, or None when no trusted value is known.
    md5: the md5 the publisher gives, checked when present.
    checksum_note: where the checksum comes from, or why there is none.
    manual: how to obtain the file by hand (shown when it cannot be fetched).
  """

  name: str
  filename: str
  url: str | None
  sha256: str | None = None
  md5: str | None = None
  checksum_note: str = _NO_SHA
  manual: str = ""


def _mnist_idx(stem: str, md5: str) -> Entry:
  return Entry(
      name=f"mnist-{stem}", filename=f"mnist/{stem}.gz",
      url=f"{_MNIST_MIRROR}{stem}.gz", md5=md5,
      checksum_note="md5 of the original yann.lecun.com file, as listed by "
                    "torchvision for this mirror")


def _fashion_idx(stem: str, md5: str, sha256: str | None = None) -> Entry:
  note = "md5 published in the zalandoresearch/fashion-mnist README"
  if sha256:
    note += ("; sha256 computed from the repository's copy, whose md5 "
             "matches the published one")
  return Entry(
      name=f"fashion-mnist-{stem}", filename=f"fashion-mnist/{stem}.gz",
      url=f"{_FASHION}{stem}.gz", sha256=sha256, md5=md5, checksum_note=note)


_ENTRIES = (
    # Computer vision (course 1 and 2).
    Entry("mnist-npz", "mnist.npz", _KERAS + "mnist.npz",
          sha256="731c5ac602752760c8e48fbffcf8c3b8"
                 "50d9dc2a2aedcf2cc48468fc17b673d1",
          checksum_note="file_hash in keras.datasets.mnist.load_data"),
    _mnist_idx("train-images-idx3-ubyte", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    _mnist_idx("train-labels-idx1-ubyte", "d53e105ee54ea40749a09fcbcd1e9432"),
    _mnist_idx("t10k-images-idx3-ubyte", "9fb629c4189551a2d022fa330f9573f3"),
    _mnist_idx("t10k-labels-idx1-ubyte", "ec29112dd5afa0611ce80d1b7f02629c"),
    _fashion_idx("train-images-idx3-ubyte", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
    _fashion_idx(
        "train-labels-idx1-ubyte", "25c81989df183df01b3e8a0aad5dffbe",
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"),
    _fashion_idx("t10k-images-idx3-ubyte", "bef4ecab320f06d8554ea6380940ec79"),
    _fashion_idx(
        "t10k-labels-idx1-ubyte", "bb300cfdad3c16e7a12a480ee83cd310",
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"),
    Entry("happy-or-sad", "happy-or-sad.zip", _LMORONEY + "happy-or-sad.zip",
          checksum_note=_NO_SHA + " (a GitHub copy of the 2019 zip has "
          "sha256 891cbe64fa5437598d9769baba2d68550dc3c688fb59523a42bfafc1a8f8"
          "cf6a, not verified against this URL)"),
    Entry("horse-or-human", "horse-or-human.zip",
          _LMORONEY + "horse-or-human.zip"),
    Entry("validation-horse-or-human", "validation-horse-or-human.zip",
          _LMORONEY + "validation-horse-or-human.zip"),
    Entry("rps", "rps.zip", _LMORONEY + "rps.zip"),
    Entry("rps-test-set", "rps-test-set.zip", _LMORONEY + "rps-test-set.zip"),
    Entry("cats-and-dogs-filtered", "cats_and_dogs_filtered.zip",
          "https://storage.googleapis.com/mledu-datasets/"
          "cats_and_dogs_filtered.zip"),
    Entry("kaggle-cats-and-dogs", "kagglecatsanddogs_5340.zip",
          "https://download.microsoft.com/download/3/E/1/"
          "3E1C3F21-ECDB-4869-8368-6DEBA77B919F/kagglecatsanddogs_5340.zip",
          checksum_note=_NO_SHA + " (the course's kagglecatsanddogs_3367a.zip "
          "is no longer served; this is Microsoft's current release)"),
    Entry("sign-language-mnist", "sign-language-mnist.zip", None,
          checksum_note="Kaggle download behind a login: no public URL",
          manual="download sign_mnist_train.csv and sign_mnist_test.csv "
                 "from https://www.kaggle.com/datasets/datamunge/"
                 "sign-language-mnist"),
    # Transfer learning (course 2 week 3): Keras's InceptionV3 weights.
    Entry("inception-v3-notop",
          "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
          "https://storage.googleapis.com/tensorflow/keras-applications/"
          "inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels_"
          "notop.h5", md5="bcbd6486424b2319ff4ef7d526e38f63",
          checksum_note="md5: the file_hash keras.applications.InceptionV3 "
                        "checks (Keras publishes no sha256)"),
    # Natural language processing (course 3).
    Entry("bbc-text", "bbc-text.csv", _LMORONEY + "bbc-text.csv",
          checksum_note=_NO_SHA + " (a GitHub copy has sha256 fdaee0f7451cd8db"
          "2709d00e992886fe1c387ee332b8c7b7c1554ed3d3e3382e, not verified "
          "against this URL)"),
    Entry("imdb", "aclImdb_v1.tar.gz",
          "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
          sha256="c40f74a18d3b61f90feba1e17730e0d3"
                 "8e8b97c05fde7008942e91923d1658fe",
          md5="7c2ac02c03563afcf9b574c7e56c153a",
          checksum_note="sha256 used by many independent loaders of this URL; "
                        "md5 from PaddlePaddle's imdb loader"),
    Entry("sonnets", "sonnets.txt", _LMORONEY + "sonnets.txt"),
    Entry("sarcasm", "sarcasm.json", _LMORONEY + "sarcasm.json"),
    Entry("glove-6b", "glove.6B.zip",
          "https://nlp.stanford.edu/data/glove.6B.zip",
          checksum_note=_NO_SHA + " (holds glove.6B.{50,100,200,300}d.txt)"),
    Entry("glove-6b-100d", "glove.6B.100d.txt",
          _LMORONEY + "glove.6B.100d.txt",
          checksum_note=_NO_SHA + " (the course's copy of the 100d vectors)"),
    Entry("sentiment140", "trainingandtestdata.zip",
          "https://cs.stanford.edu/people/alecmgo/trainingandtestdata.zip",
          checksum_note=_NO_SHA + " (holds training.1600000.processed."
          "noemoticon.csv and testdata.manual.2009.06.14.csv)"),
    Entry("sentiment140-cleaned", "training_cleaned.csv",
          _LMORONEY + "training_cleaned.csv",
          checksum_note=_NO_SHA + " (the course's copy of the Sentiment140 "
          "training csv)"),
    # Sequences and time series (course 4).
    Entry("sunspots", "Sunspots.csv", _LMORONEY + "Sunspots.csv"),
    Entry("daily-min-temperatures", "daily-min-temperatures.csv",
          "https://raw.githubusercontent.com/jbrownlee/Datasets/master/"
          "daily-min-temperatures.csv"),
)

ENTRIES: dict[str, Entry] = {entry.name: entry for entry in _ENTRIES}


def get(name: str) -> Entry:
  """Returns the catalog entry called `name`.

  Raises:
    KeyError: unknown name; the message lists the known ones.
  """
  try:
    return ENTRIES[name]
  except KeyError:
    raise KeyError(f"unknown dataset {name!r}; known: "
                   f"{', '.join(sorted(ENTRIES))}") from None
