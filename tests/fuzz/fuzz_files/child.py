"""The forked child: each case runs in a child forked from this process (torch and
toolchain already imported, so a case costs milliseconds) under an address-space,
CPU-time and file-size limit; its result, or its exception described, comes back
through a file, and a hung or crashed child's Python stack through its log."""
from __future__ import annotations

import faulthandler
import json
import os
import re
import resource
import select
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from toolchain.errors import ToolchainError

from .checkout import ROOT, TOOLCHAIN


TIME_LIMIT = 10.0            # seconds of wall time: beyond, a hang
RSS_LIMIT = 2 << 30          # peak RSS beyond 2 GB: a blow-up
AS_HEADROOM = 3 << 30        # address space a child may add to the parent's before allocations fail
FILE_LIMIT = 1 << 30         # no file a child writes may grow beyond this
MESSAGE_LIMIT = 1000         # a one-line error longer than this is a bad message


MEMORY_WORDS = re.compile(r"(can't|cannot|unable to|failed to|not enough memory|out of memory).{0,40}allocat|"
                          r"bad_alloc|DefaultCPUAllocator|memory allocation of \d+ bytes failed|Cannot allocate memory",
                          re.I | re.S)


def _frame(f) -> str:
    path = Path(f.filename)
    try:
        path = path.resolve().relative_to(ROOT)
    except ValueError:
        pass
    return f"{path}:{f.lineno} in {f.name}"


def _in_toolchain(filename: str) -> bool:
    try:
        Path(filename).resolve().relative_to(TOOLCHAIN)
        return True
    except ValueError:
        return False


def describe_exception(e: BaseException) -> dict:
    frames = traceback.extract_tb(e.__traceback__)
    ours = [f for f in frames if _in_toolchain(f.filename)]
    message = str(e)
    if isinstance(e, ToolchainError):
        one_line = "\n" not in message.strip() and len(message) <= MESSAGE_LIMIT
        outcome = "clean" if one_line else "bad-message"
    elif isinstance(e, MemoryError) or MEMORY_WORDS.search(message):
        outcome = "blow-up"
    else:
        outcome = "traceback"
    try:
        text = "".join(traceback.format_exception(e))
    except BaseException:  # noqa: BLE001 - a traceback that cannot be formatted (recursion)
        text = f"{type(e).__name__} (traceback not formattable)"
    return {"outcome": outcome, "exc_type": f"{type(e).__module__}.{type(e).__qualname__}".removeprefix("builtins."),
            "message": message[:2000], "message_chars": len(message), "message_lines": len(message.splitlines()),
            "frame": _frame(ours[-1]) if ours else None, "last_frame": _frame(frames[-1]) if frames else None,
            "traceback": text[-6000:]}


@dataclass
class ChildRun:
    result: dict | None
    stage: str | None
    seconds: float
    max_rss: int
    timed_out: bool
    signal: int | None
    exit_code: int | None
    log: str


def _vm_size() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


def run_in_child(fn: Callable[[dict], dict], workdir: Path, time_limit: float = TIME_LIMIT) -> ChildRun:
    """fn(state) in a forked child under limits; its result (or its exception, described)
    comes back through a file. The child's stdout and stderr go to workdir/child.log,
    and so does its Python stack on a crash or when the time limit is reached."""
    result_path, log_path, stage_path = workdir / "result.json", workdir / "child.log", workdir / "stage"
    for p in (result_path, log_path, stage_path):
        p.unlink(missing_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    address_space = _vm_size() + AS_HEADROOM
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 0
        try:
            os.setpgid(0, 0)
            resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
            cpu = int(time_limit) + 5
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
            resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE, signal.SIGXFSZ):
                signal.signal(sig, signal.SIG_DFL)
            faulthandler.enable(file=2, all_threads=True)
            faulthandler.register(signal.SIGUSR1, file=2, all_threads=True)
            state = {"stage": "start", "stage_file": str(stage_path)}
            try:
                result = fn(state)
            except BaseException as e:  # noqa: BLE001 - every exception is classified
                result = describe_exception(e)
            result["stage"] = state["stage"]
            try:
                text = json.dumps(result)
            except (ValueError, TypeError, RecursionError):
                text = json.dumps({k: str(v) for k, v in result.items()})
            result_path.write_text(text)
        except BaseException:  # noqa: BLE001
            code = 70
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
    try:
        os.setpgid(pid, pid)
    except OSError:
        pass
    timed_out, waited = False, None
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    try:
        deadline = start + time_limit
        while True:
            wpid, status, usage = os.wait4(pid, os.WNOHANG)
            if wpid:
                waited = status, usage
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            if pidfd is not None:
                select.select([pidfd], [], [], remaining)
            else:
                time.sleep(min(remaining, 0.005))
        if timed_out:
            try:
                os.kill(pid, signal.SIGUSR1)  # the child's Python stack into its log
                time.sleep(0.3)
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    except BaseException:
        if waited is None:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.wait4(pid, 0)
        raise
    finally:
        if pidfd is not None:
            os.close(pidfd)
    status, usage = waited if waited is not None else os.wait4(pid, 0)[1:]
    seconds = time.monotonic() - start
    result = None
    if result_path.is_file():
        try:
            result = json.loads(result_path.read_text())
        except ValueError:
            result = None
    log = ""
    if log_path.is_file():  # its tail: a child may have written up to FILE_LIMIT
        with open(log_path, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - 20000))
            log = f.read().decode("utf-8", "replace")
    stage = (result or {}).get("stage") or (stage_path.read_text() if stage_path.is_file() else None)
    return ChildRun(result, stage, seconds, usage.ru_maxrss * 1024, timed_out,
                    os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                    os.WEXITSTATUS(status) if os.WIFEXITED(status) else None, log[-20000:])


STACK_LINE = re.compile(r'File "([^"]+)", line (\d+) in (\S+)')


def stack_frame(log: str) -> tuple[str | None, str | None]:
    """(innermost toolchain frame, innermost frame) of the first Python stack in a
    faulthandler dump (most recent call first)."""
    frames = []
    for line in log.splitlines():
        m = STACK_LINE.search(line)
        if m:
            frames.append(m.groups())
        elif frames and not line.strip():
            break
    if not frames:
        return None, None
    fmt = lambda f: _frame(traceback.FrameSummary(f[0], int(f[1]), f[2]))  # noqa: E731
    ours = [f for f in frames if _in_toolchain(f[0])]
    return (fmt(ours[0]) if ours else None), fmt(frames[0])
