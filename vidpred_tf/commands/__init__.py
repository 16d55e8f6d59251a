"""The ``vidpred`` command: one front door to the package (``vidpred --help`` lists the subcommands).

Each subcommand is one module here with ``DESCRIPTION`` (one line) and ``main(argv, prog) -> int``;
:mod:`vidpred_tf.commands.main` dispatches to them. Exit codes: 0 success, 1 failure, 2 usage error.
"""
