"""Talking to a serial-console firmware under QEMU the way a user does: boot it with the
command its project's README gives, type lines after the first prompt, read the answers."""
import os
import select
import shlex
import subprocess
import time

from console_session import split_answers


def readme_command(out):
    """The command the project's README gives for talking to the firmware under QEMU."""
    readme = (out / "README.md").read_text()
    return shlex.split(readme.split("## Talk to it under QEMU")[1].split("```sh\n")[1].split("\n```")[0])


def session(out, lines, timeout=600, command=None):
    """Boots the project as its README says (or with `command`), sends `lines` to its
    UART and returns the banner and what it answered to each (the text between one
    "> " prompt and the next), CRLF as LF."""
    qemu = subprocess.Popen(command or readme_command(out), cwd=out, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    out = b""
    try:
        deadline = time.monotonic() + timeout
        while out.count(b"> ") < len(lines) + 1 and time.monotonic() < deadline:
            if select.select([qemu.stdout], [], [], 1.0)[0]:
                chunk = os.read(qemu.stdout.fileno(), 65536)
                if not chunk:
                    break
                if b"> " not in out and b"> " in out + chunk:
                    # the first prompt: the UART is on (an STM32 USART drops what comes
                    # before). QEMU then passes input on as the firmware takes it.
                    qemu.stdin.write(b"".join(line + b"\n" for line in lines))
                    qemu.stdin.flush()
                out += chunk
    finally:
        qemu.kill()
        qemu.wait()
    return split_answers(out, len(lines))
