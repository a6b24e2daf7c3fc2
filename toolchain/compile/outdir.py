"""The output directory: which paths a compile may write, and how a finished project
appears there without ever removing anything but an llmtool project.

A project is written into a hidden directory beside OUTDIR, named for the process
that writes it (`.OUT.llmtool-PID.XXXX`), and renamed into place at the end with
renameat2(RENAME_NOREPLACE): if anything appeared at OUTDIR meanwhile (a directory the
user made, another compile's project), the rename fails and the compile with it,
leaving that in place. `--force` replaces only an llmtool project (a directory with
llmtool.json): it is first renamed aside, checked to still be one, and deleted only
once the new project stands in its place. Hidden directories of a process that no
longer runs (killed with SIGKILL) are removed by the next compile beside them; what
it had moved aside goes back to OUTDIR if nothing took its place.
"""
from __future__ import annotations

import ctypes
import errno
import os
import re
import shutil
import signal
import tempfile
from pathlib import Path

from ..errors import ToolchainError
from ..manifest import MANIFEST

AT_FDCWD = -100
RENAME_NOREPLACE = 1
TEMP_TAG = "llmtool"


def umask() -> int:
    """The process's umask, read without changing it (Linux 4.7+), else by setting it back."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode(base: int = 0o666) -> int:
    """The mode the user's umask gives a new file (0o666) or directory (0o777)."""
    return base & ~umask()


def is_project(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink() and (path / MANIFEST).is_file()


def _within(inner: Path, outer: Path) -> bool:
    return inner == outer or outer in inner.parents


def check_output(out: Path, force: bool, inputs: tuple[Path, ...] = ()) -> None:
    """Refuses, in one line, an OUTDIR that compile must not write: one that holds the
    user's current directory, home or the root, one that contains an input, an existing
    path without --force, and with --force anything but an llmtool project."""
    out = Path(out)
    target = out.resolve()
    here, home = Path.cwd().resolve(), Path.home().resolve()
    if _within(here, target) or _within(home, target):
        what = "the current directory" if target == here else "your home directory" if target == home \
            else "the root directory" if target == Path("/") else \
            f"a directory that holds {'the current directory' if _within(here, target) else 'your home directory'}"
        raise ToolchainError(f"refusing to write the project to {out}: it is {what}")
    for path in inputs:
        if _within(Path(path).resolve(), target):
            raise ToolchainError(f"refusing to write the project to {out}: it holds {path}, an input of this compile")
    if out.is_symlink() and not out.exists():
        raise ToolchainError(f"{out} is a symbolic link to nothing: remove it or choose another OUTDIR")
    if out.exists():
        if not force:
            raise ToolchainError(f"{out} already exists (use --force to replace it)")
        if not is_project(out):
            raise ToolchainError(f"{out} exists and is not an llmtool project (no {MANIFEST}): "
                                 f"refusing to replace it")
    parent = next((p for p in target.parents if p.exists()), Path("/"))
    if not parent.is_dir():
        raise ToolchainError(f"cannot create {out}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ToolchainError(f"cannot create {out}: {parent} is not writable")


def rename_noreplace(src: Path, dst: Path) -> None:
    """Renames src to dst, failing with FileExistsError when dst exists, atomically
    where the kernel and file system support RENAME_NOREPLACE (Linux 3.15+: ext4,
    xfs, btrfs, tmpfs, overlayfs). Elsewhere dst is checked first: only an empty
    directory made in that instant could then be replaced (a full one never is)."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is not None:
        if renameat2(AT_FDCWD, os.fsencode(src), AT_FDCWD, os.fsencode(dst), RENAME_NOREPLACE) == 0:
            return
        err = ctypes.get_errno()
        if err not in (errno.EINVAL, errno.ENOSYS):
            raise OSError(err, os.strerror(err), str(dst))
    if os.path.lexists(dst):
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(dst))
    try:
        os.rename(src, dst)
    except OSError as e:
        if e.errno in (errno.ENOTEMPTY, errno.EEXIST):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(dst)) from None
        raise


def _temp_pattern(out: Path) -> re.Pattern:
    return re.compile(rf"\.{re.escape(out.name)}\.{TEMP_TAG}-(\d+)\.(old\.)?")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(out: Path, own: bool = False) -> None:
    """Removes the hidden directories beside `out` of compiles that were killed (with
    `own`, this process's too, as a failed or interrupted compile unwinds). What one
    had moved aside to replace goes back to `out` if that is free; if not, it stays
    where it is, unless it is an old project and `out` the project that replaced it."""
    try:
        entries = list(out.parent.iterdir())
    except OSError:  # no such directory (yet), or not readable: nothing of ours there
        return
    pattern = _temp_pattern(out)
    for entry in entries:
        match = pattern.match(entry.name)
        if not match or entry.is_symlink() or not entry.is_dir():
            continue
        pid = int(match.group(1))
        if not (own and pid == os.getpid()) and _alive(pid):
            continue
        old = entry / out.name
        if match.group(2) and os.path.lexists(old) and not (is_project(old) and is_project(out)):
            try:
                rename_noreplace(old, out)
            except OSError:
                continue
        shutil.rmtree(entry, ignore_errors=True)


def unwind(out: Path) -> None:
    """What a compile that fails or is interrupted while writing leaves behind: this
    process's hidden directories, removed with SIGINT and SIGTERM held back so that a
    second Ctrl-C cannot cut the cleanup short (they arrive after it)."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        clean_stale(out, own=True)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def temp_dir(out: Path, old: bool = False) -> Path:
    """A new hidden directory beside `out`, named for this process, with the mode the
    user's umask gives directories (mkdtemp's own is 0700)."""
    path = Path(tempfile.mkdtemp(prefix=f".{out.name}.{TEMP_TAG}-{os.getpid()}.{'old.' if old else ''}",
                                 dir=out.parent))
    os.chmod(path, file_mode(0o777))
    return path


def publish(tmp: Path, out: Path, force: bool) -> None:
    """Moves the finished project `tmp` to `out`. An llmtool project at `out` is
    replaced when `force`; anything else there, or anything that appears there
    meanwhile, is left as it is and the compile fails."""
    if force and os.path.lexists(out):
        aside = temp_dir(out, old=True)
        old = aside / out.name
        try:
            rename_noreplace(out, old)
        except FileNotFoundError:  # gone meanwhile: nothing to replace
            aside.rmdir()
            return publish(tmp, out, force=False)
        if not is_project(old):  # something else took its place since the check
            _put_back(old, out, aside)
            raise ToolchainError(f"{out} changed while compiling and is not an llmtool project: "
                                 f"left as it is")
        try:
            rename_noreplace(tmp, out)
        except FileExistsError:
            _put_back(old, out, aside)
            raise ToolchainError(f"{out} was created again while compiling: left as it is") from None
        shutil.rmtree(aside)
        return
    try:
        rename_noreplace(tmp, out)
    except FileExistsError:
        raise ToolchainError(f"{out} was created while compiling: left as it is "
                             f"(--force replaces an llmtool project)") from None


def _put_back(old: Path, out: Path, aside: Path) -> None:
    """Returns what was moved aside to `out`; if `out` is taken, says where it is."""
    try:
        rename_noreplace(old, out)
        aside.rmdir()
    except OSError:
        raise ToolchainError(f"{out} changed while compiling; what was there before is kept in {old}") from None
