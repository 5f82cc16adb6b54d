"""Readers and tf.data pipelines for every data format the course uses."""
