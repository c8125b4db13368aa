"""A signal that arrives after the command has finished (issue 22, item 16): the command's exit code stands.

Once the command has ended, its records and its result are written. A SIGTERM then (while the process exits: exit
handlers, the interpreter freeing its modules) used to kill the process by the signal (-15) with no message once
the interpreter had put the default action back. Now the exit code is the command's own (0 when it succeeded), its
output is complete, and while Python code can still run a note on stderr says what happened (docs/reliability.md).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# The real entry point, with one extra piece of exit work that sends SIGTERM to the process itself: either an exit
# handler (Python code still runs: our handler prints a note) or an object freed while the interpreter tears its
# modules down (after it has reset the signal handlers: the case that died by -15).
SNIPPET = """
import atexit, os, sys, time
from dreamrunner_cli.errors import install_signals
install_signals()  # what dreamrunner_cli.entry does first

def late():
    os.kill(os.getpid(), {sig})
    time.sleep(0.5)

class FreedLast:
    def __del__(self):
        late()

if {when!r} == "exit handler":
    atexit.register(late)  # registered after install_signals: runs before its last handler
else:
    freed_last = FreedLast()  # a module global: freed during the interpreter's shutdown
sys.argv = ["dreamrunner", *{argv!r}]
from dreamrunner_cli.entry import main
main()
"""


def run_late(argv: list[str], when: str, sig: int = 15) -> subprocess.CompletedProcess:
    code = SNIPPET.format(sig=sig, when=when, argv=argv)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("when", ["exit handler", "interpreter shutdown"])
def test_sigterm_after_a_successful_command_keeps_exit_0_and_the_whole_result(when):
    res = run_late(["schema", "plan"], when)
    assert res.returncode == 0, (res.returncode, res.stderr)  # was -15 at shutdown: killed with no message
    assert json.loads(res.stdout)["title"]  # the JSON result on a pipe is complete (flushed before exiting)
    assert "Traceback" not in res.stderr
    if when == "exit handler":
        assert "signal 15 arrived after the command had finished; its result stands (exit code 0)" in res.stderr


@pytest.mark.parametrize("sig", [15, 2])
def test_a_late_signal_keeps_a_failed_commands_own_exit_code(tmp_path, sig):
    res = run_late(["status", str(tmp_path / "nothing")], "exit handler", sig)
    assert res.returncode == 3, (res.returncode, res.stderr)  # not a workspace: exit 3, not 143/130
    assert "is not a workspace" in res.stderr and f"signal {sig} arrived after the command had finished" in res.stderr
    res = run_late(["status", str(tmp_path / "nothing")], "interpreter shutdown", sig)
    assert res.returncode == 3, (res.returncode, res.stderr)
