"""Learning in NumPy for the built-in fully connected models (see ``docs/numpy_learn.md``).

The models stay torch modules (their parameters, state dicts and checkpoints are unchanged); the update
reads and writes the parameters through NumPy views and computes the gradients by hand, which on a small
CPU is several times faster than torch's autograd for networks of this size.
"""
