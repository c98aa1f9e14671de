"""reglint: find regularization pitfalls in TensorFlow and Keras code, and fix them."""

__version__ = "0.1.0"
