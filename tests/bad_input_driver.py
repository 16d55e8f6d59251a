"""Run an absl script of the package once per case in ONE process, for the bad-input tests.

    python tests/bad_input_driver.py SCRIPT CASES.json

CASES.json: a list of ``{"args": [...], "cwd": DIR, "env": {NAME: VALUE}}``. Each case runs the script's ``main``
through ``vidpred_tf.cli.run`` (absl's ``app.run`` with the package's bad-input handler, as ``python SCRIPT``
does) with the flags reset; what the case writes to file descriptor 2 (Python and C++ alike) is captured.
TensorFlow is imported once before the first case, so a case pays only for its own work. Prints one line
``RESULTS [{"code": ..., "stderr": ...}, ...]``.
"""

import json
import os
import runpy
import sys
import tempfile


def run_case(script, module, case):
    from absl import flags

    from vidpred_tf import cli

    flags.FLAGS.unparse_flags()
    saved_cwd, saved_env = os.getcwd(), dict(os.environ)
    os.chdir(case.get("cwd") or saved_cwd)
    os.environ.update(case.get("env") or {})
    sys.argv = [script, *case["args"]]
    sys.stderr.flush()
    saved_fd = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            cli.run(module["main"])
            code = 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        finally:
            sys.stderr.flush()
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
            os.chdir(saved_cwd)
            os.environ.clear()
            os.environ.update(saved_env)
        held.seek(0)
        return {"code": code, "stderr": held.read().decode("utf-8", "replace")}


def main():
    script, cases_path = sys.argv[1], sys.argv[2]
    with open(cases_path, encoding="utf-8") as handle:
        cases = json.load(handle)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from vidpred_tf.quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    module = runpy.run_path(script, run_name="bad_input_driver")
    results = [run_case(script, module, case) for case in cases]
    print("RESULTS " + json.dumps(results), flush=True)


if __name__ == "__main__":
    main()
