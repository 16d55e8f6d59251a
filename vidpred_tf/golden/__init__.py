"""Golden checks of the ports against recorded outputs of the originals: ``python -m vidpred_tf.golden NAME PATH``.

One module per paper (``e3d``...) provides ``find_cases(path)`` and ``check_case(case, report)``; ``common``
holds the reporting and tolerances.
"""
