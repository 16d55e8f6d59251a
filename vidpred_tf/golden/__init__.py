"""Golden checks of the ports against recorded outputs of the originals: ``python -m vidpred_tf.golden NAME PATH``.

One module per paper (``e3d``...) provides ``find_cases(path)`` and ``check_case(case, report)``; ``common``
holds the reporting, the tolerances (incl. the rounding bound of cancelling sums) and the discovery of cases
by their file layout; see README.md beside this file.
"""
