"""What the binaries in trainers/ share.

`cli` (one-line user errors, flag parsing, the `run` entry point), `flags`
(the common flag definitions), `session` (hparams, config.json, optimizer
and trainer of a run, restoring a run from model_dir) and `reports` (what
evaluation adds for a classifier).
"""
