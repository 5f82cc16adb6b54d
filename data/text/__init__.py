"""Text data for the course's NLP models.

One concept per file: `tokenizer` (Keras-Tokenizer-compatible word/char
index and its tf.data encoder), `padding` (`pad_sequences`), `labels` (string
label encoding), `stopwords` (the course's stop-word list), `readers` (BBC,
IMDB aclImdb, Sentiment140, plain corpora), `glove` (GloVe vectors and the
embedding matrix), `ngrams` (next-word/next-char training data) and
`pipelines` (the `DataBundle` builders the model registry calls).
"""
