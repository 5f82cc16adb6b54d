"""Image data: folders, arrays, augmentation and dataset preparation.

`image_folder` (class-per-folder trees and their tf.data pipeline), `arrays`
(IDX and npz arrays), `image_csv` (label-then-pixels CSVs), `augment`
(ImageDataGenerator-style augmentation), `split` (train/test split of a
class folder), `prepare` (course datasets: fetch, verify, extract, split)
and `bundles` (the `DataBundle`s the vision recipes train on, and the
`classes.json` artifact).
"""
