"""Run a command as a background job of an interactive shell on a real pseudo-terminal: what a user who types
``dreamrunner render ws &`` at a terminal gets (issue 22).

``run_background(argv)`` opens a fresh pseudo-terminal, starts ``bash -i`` on it as the session leader with that
terminal as its controlling terminal (so job control is on), and types::

    <argv> &
    wait $!; echo __DONE__ $?

The job runs in its own process group, which is not the terminal's foreground group. A process of the job that
reads the terminal is stopped by SIGTTIN; one that changes the terminal's modes (ffmpeg without ``-nostdin`` does, at
start) is stopped by SIGTTOU. ``wait`` then returns 128 + the signal, and bash prints ``Stopped``, as it would for a
user; the harness reports it (``JobResult.stopped``), kills every process left in the shell's session and ends the
shell. A process the job started in another process group (a Ray worker, and its ffmpeg) is stopped the same way
while the job itself waits for it forever: the harness watches the session for stopped processes
(``JobResult.stopped_processes``) and ends the trial after ``STOPPED_FOR`` seconds of it. A job that neither ends nor
stops within ``timeout`` is a hang (``timed_out``); the state of each process of the session is reported.

Linux only (``/proc``, ``TIOCSCTTY``); bash must be installed.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field

# The shell's session leader takes the pseudo-terminal as its controlling terminal, then becomes bash (subprocess
# cannot do TIOCSCTTY itself; this runs in the child after fork and exec, so the test process's threads are safe).
_LAUNCHER = "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); os.execvp(sys.argv[1], sys.argv[1:])"
_ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\r")
STOP_SIGNALS = {128 + signal.SIGTTIN: "SIGTTIN", 128 + signal.SIGTTOU: "SIGTTOU", 128 + signal.SIGTSTP: "SIGTSTP"}
STOPPED_FOR = 3.0  # seconds a process of the session stays stopped (state T) before the trial ends as "stopped"


def available() -> str | None:
    """None when the harness can run here, else why not (for pytest.skip)."""
    if not sys.platform.startswith("linux"):
        return "needs Linux (/proc, TIOCSCTTY)"
    if shutil.which("bash") is None:
        return "needs bash"
    try:
        master, slave = os.openpty()
    except OSError as exc:
        return f"cannot open a pseudo-terminal: {exc}"
    os.close(master)
    os.close(slave)
    return None


@dataclass
class JobResult:
    status: int | None  # bash's $? after `wait`: the exit code, or 128 + signal when the job was stopped
    stopped: bool  # the job was stopped by a terminal signal (SIGTTIN, SIGTTOU, SIGTSTP)
    stop_signal: str | None
    timed_out: bool  # neither ended nor stopped within the timeout (a hang)
    seconds: float
    screen: str  # what the terminal showed, escape sequences removed
    processes: list[str] = field(default_factory=list)  # "pid state command" of the session's processes at the end
    stopped_processes: list[str] = field(default_factory=list)  # those seen stopped (state T), in any process group

    def summary(self) -> str:
        """One line: how the job ended, and which processes were stopped (their program names)."""
        state = (f"stopped by {self.stop_signal}" if self.stop_signal else "stopped") if self.stopped else \
            "hung" if self.timed_out else f"exited {self.status}"
        names = sorted({os.path.basename(p.split()[1]) if p.split()[1:] else p for p in self.stopped_processes})
        return f"{state} after {self.seconds:.1f} s" + (f" (stopped: {', '.join(names)})" if names else "")

    def describe(self) -> str:
        return (f"job {self.summary()}; stopped processes: {self.stopped_processes}; processes: {self.processes}"
                "\n--- terminal ---\n" + self.screen[-4000:])


def _proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state, process group, session) of a process, from /proc."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            rest = f.read().rsplit(b")", 1)[1].split()
        return rest[0].decode(), int(rest[2]), int(rest[3])
    except (OSError, IndexError, ValueError):
        return None


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()[:160]
    except OSError:
        return "?"


def _members(session: int) -> list[tuple[int, str, int]]:
    """(pid, state, process group) of every process in ``session``."""
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = _proc_stat(int(name))
            if st is not None and st[2] == session:
                out.append((int(name), st[0], st[1]))
    return out


def run_background(argv: list[str], *, env: dict[str, str] | None = None, cwd: str | None = None,
                   timeout: float = 60.0, columns: int = 120) -> JobResult:
    """Run ``argv`` as ``argv &`` then ``wait`` in ``bash -i`` on a fresh pseudo-terminal (see the module doc)."""
    import fcntl
    import termios

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    shell_env = dict(os.environ if env is None else env)
    shell_env.update(PS1="$ ", PS2="> ", TERM=shell_env.get("TERM", "xterm-256color") or "xterm-256color",
                     HISTFILE="/dev/null", INPUTRC="/dev/null")
    shell = subprocess.Popen([sys.executable, "-c", _LAUNCHER, "bash", "--norc", "--noprofile", "-i"],
                             stdin=slave, stdout=slave, stderr=slave, start_new_session=True, env=shell_env,
                             cwd=cwd, close_fds=True)
    os.close(slave)
    screen = b""
    start = time.monotonic()
    status: int | None = None
    processes: list[str] = []

    stopped: dict[int, float] = {}  # pid -> when it was first seen stopped
    seen_stopped: dict[int, str] = {}
    halted = False  # a process of the session stayed stopped for STOPPED_FOR seconds

    def watch() -> bool:
        """Note the session's stopped processes; True once one has stayed stopped for STOPPED_FOR seconds."""
        now = time.monotonic()
        current = {pid for pid, state, _ in _members(shell.pid) if pid != shell.pid and state == "T"}
        for pid in current:
            stopped.setdefault(pid, now)
            seen_stopped.setdefault(pid, _cmdline(pid))
        for pid in set(stopped) - current:
            del stopped[pid]
        return any(now - t >= STOPPED_FOR for t in stopped.values())

    def read(until: float, pattern: bytes, watching: bool = False) -> re.Match | None:
        nonlocal screen, halted
        last_watch = 0.0
        while time.monotonic() < until:
            if watching and time.monotonic() - last_watch > 0.5:
                last_watch = time.monotonic()
                if watch():
                    halted = True
                    return None
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the shell is gone
                    return None
                if not chunk:
                    return None
                screen += chunk
            match = re.search(pattern, _ANSI.sub(b"", screen))
            if match:
                return match
        return None

    try:
        # The markers are printed by echo from two quoted halves, so the terminal's echo of the typed line (which
        # shows the quotes) never matches them.
        line = " ".join(shlex.quote(a) for a in argv)
        os.write(master, f'{line} &\necho "__JOB""__ $!"\nwait $!; echo "__DONE""__ $?"\n'.encode())
        got = read(start + 15, rb"__JOB__ (\d+)")
        if got is None:
            raise RuntimeError("the shell did not start the job: " + _ANSI.sub(b"", screen).decode(errors="replace"))
        done = read(start + timeout, rb"__DONE__ (\d+)", watching=True)
        status = int(done.group(1)) if done else None
        processes = [f"{pid} {state} {_cmdline(pid)}" for pid, state, _ in _members(shell.pid) if pid != shell.pid]
    finally:
        seconds = time.monotonic() - start
        with contextlib.suppress(OSError):
            os.write(master, b"jobs -l\n")
        read(time.monotonic() + 0.5, rb"\$ $")
        for pid, _, _ in _members(shell.pid):  # the job (stopped or hung) and anything else left in the session
            if pid != shell.pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.write(master, b"exit\n")
        try:
            shell.wait(timeout=5)
        except subprocess.TimeoutExpired:
            shell.kill()
            shell.wait()
        os.close(master)
    stop = STOP_SIGNALS.get(status) if status is not None else None
    text = _ANSI.sub(b"", screen).decode("utf-8", "replace")
    return JobResult(status=status, stopped=(stop is not None and "Stopped" in text) or halted, stop_signal=stop,
                     timed_out=status is None and not halted, seconds=seconds, screen=text, processes=processes,
                     stopped_processes=[f"{pid} {cmd}" for pid, cmd in seen_stopped.items()])
