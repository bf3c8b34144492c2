"""The anchors' runners of benchmarks/ptycho_speed.py are real files, run by path in an environment's Python."""

import ast
import json
import sys

import pytest

from ctxlib.base.paths import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import ptycho_speed  # noqa: E402


@pytest.mark.parametrize("runner", ["py4dstem_runner.py", "ptychi_runner.py", "ptyrad_runner.py"])
def test_each_anchor_runner_is_a_python_file_that_reads_its_input_and_prints_json(runner):
    tree = ast.parse((ptycho_speed.ANCHORS / runner).read_text())
    source = ast.unparse(tree)
    assert "np.load(sys.argv[1])" in source and "json.loads(sys.argv[2])" in source
    assert "print(json.dumps(" in source
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    if runner != "py4dstem_runner.py":  # the torch anchors take one thread and torchvision from the preamble
        assert any(isinstance(n, ast.ImportFrom) and n.module == "torch_preamble" for n in tree.body)
        assert {"np", "json", "sys"} <= names


def test_run_runner_returns_the_last_json_line_and_raises_with_the_error_output(tmp_path):
    (tmp_path / "helper.py").write_text("TWO = 2\n")
    good = tmp_path / "good.py"
    good.write_text("import json, os, sys\nfrom helper import TWO\nprint('log line')\n"
                    "print(json.dumps({'input': sys.argv[1], 'x': json.loads(sys.argv[2])['x'] * TWO, "
                    "'threads': os.environ['OMP_NUM_THREADS']}))\n")
    answer = ptycho_speed.run_runner(sys.executable, good, tmp_path / "in.npz", {"x": 21})
    assert answer == {"input": str(tmp_path / "in.npz"), "x": 42, "threads": "1"}
    bad = tmp_path / "bad.py"
    bad.write_text("raise SystemExit('anchor failed: no such solver')\n")
    with pytest.raises(RuntimeError, match="anchor failed: no such solver"):
        ptycho_speed.run_runner(sys.executable, bad, tmp_path / "in.npz", {})


def test_the_record_says_when_where_and_how(roots):
    import record

    written = record.write_result("x", {"ours": {"seconds": 1.0} | {"measured": record.measured("python a.py")}},
                                  "python a.py")
    assert json.loads((roots / "x.json").read_text()) == written
    assert written["command"] == written["ours"]["measured"]["command"] == "python a.py"
    assert {"date", "machine", "cpu_cores"} <= set(written) and written["date"] == written["ours"]["measured"]["date"]
