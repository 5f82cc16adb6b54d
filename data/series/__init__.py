"""Time-series data: CSV columns, the course's synthetic series, windows.

`csv_reader` (one numeric column of a CSV), `synthetic` (trend, seasonality,
noise presets), `windows` (tf.data windows of a series) and `pipeline` (the
`DataBundle` the series recipes train on).
"""
