"""The marker: a safetensors file beside every checkpoint directory, watched with
inotify, so that a file opened outside the directory (weight_map "../x", an absolute
path) is seen."""
from __future__ import annotations

import ctypes
import os
from pathlib import Path

import numpy as np
import safetensors.numpy  # noqa: F401


MARKER_TENSOR = "FUZZ_ESCAPE_MARKER"  # the file outside every checkpoint directory holds only this


def make_marker(path: Path) -> None:
    """A valid safetensors file holding one tensor of a name no checkpoint has."""
    safetensors.numpy.save_file({MARKER_TENSOR: np.zeros(4, np.float32)}, str(path))


class OpenWatch:
    IN_OPEN, IN_ACCESS, IN_NONBLOCK, IN_CLOEXEC = 0x20, 0x01, 0o4000, 0o2000000

    def __init__(self, path: Path):
        self.fd = None
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = libc.inotify_init1(self.IN_NONBLOCK | self.IN_CLOEXEC)
            if fd >= 0 and libc.inotify_add_watch(fd, str(path).encode(), self.IN_OPEN | self.IN_ACCESS) >= 0:
                self.fd = fd
        except (OSError, AttributeError):
            self.fd = None

    def opened(self) -> bool:
        """Whether the file was opened since the last call."""
        if self.fd is None:
            return False
        seen = False
        while True:
            try:
                seen |= bool(os.read(self.fd, 4096))
            except BlockingIOError:
                return seen

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
