"""The converter corpus (``tests/data/pmml/converters/``): synthetic data, the cases (one fitted
model and one converter each) and the reference outputs. Run through
``scripts/make_converter_corpus.py``."""
