"""The part of GDB's remote serial protocol that reading and writing a running target's
memory takes: packets ($payload#checksum) with their acknowledgements, interrupt (0x03),
continue, m and M. Any GDB server speaks it: QEMU's -gdb, openocd (port 3333), pyocd
gdbserver, J-Link's GDB server. Most stop the target when a client connects, and many
(QEMU's among them) touch memory only while it is stopped: so stop, access, continue."""
from __future__ import annotations

import socket

from ..errors import ToolchainError, brief

INTERRUPT = b"\x03"
DEFAULT_PACKET_SIZE = 400  # what GDB assumes when the server does not say (qSupported's PacketSize)
MAX_CHUNK = 1024  # bytes per m or M packet, at most


def checksum(payload: bytes) -> bytes:
    return b"%02x" % (sum(payload) & 0xFF)


def run_length_decoded(payload: bytes) -> bytes:
    """A reply with the protocol's run-length encoding ("0* " is "0" and 3 more) undone."""
    out = bytearray()
    i = 0
    while i < len(payload):
        if payload[i] == ord("*") and out and i + 1 < len(payload):
            out += out[-1:] * (payload[i + 1] - 29)
            i += 2
        else:
            out.append(payload[i])
            i += 1
    return bytes(out)


class GdbRemote:
    """A connection to a GDB server at "HOST:PORT", the target stopped (as connecting
    leaves it: `?` makes sure) until resume()."""

    def __init__(self, address: str, timeout: float = 10.0):
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ToolchainError(f"--gdb takes HOST:PORT (a GDB server, e.g. localhost:1234), not {address!r}")
        self.address = address
        try:
            self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        except OSError as e:
            raise ToolchainError(f"cannot connect to the GDB server at {address}: {brief(e)}") from None
        self.received = bytearray()
        self.running = False
        try:
            features = self.request(b"qSupported")
            self.request(b"?")  # the stop reason: the target is stopped
        except ToolchainError:
            self.sock.close()
            raise
        sizes = [f[len(b"PacketSize="):] for f in features.split(b";") if f.startswith(b"PacketSize=")]
        packet_size = int(sizes[0], 16) if sizes else DEFAULT_PACKET_SIZE
        self.chunk = max(16, min(MAX_CHUNK, (packet_size - 32) // 2))  # hex doubles it; room for "M addr,len:"

    def close(self) -> None:
        """Detaches, which lets the target run on, and hangs up."""
        try:
            if self.running:
                self.stop()
            self.request(b"D")
        except (ToolchainError, OSError):
            pass  # the server went first: nothing to let go of
        self.sock.close()

    def __enter__(self) -> GdbRemote:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _byte(self) -> int:
        if not self.received:
            try:
                data = self.sock.recv(65536)
            except OSError as e:  # a timeout too
                raise ToolchainError(f"the GDB server at {self.address}: {brief(e) or 'no answer'}") from None
            if not data:
                raise ToolchainError(f"the GDB server at {self.address} closed the connection")
            self.received += data
        byte = self.received[0]
        del self.received[0]
        return byte

    def _send(self, payload: bytes) -> None:
        """One packet, sent again until the server acknowledges it with "+"."""
        while True:
            self.sock.sendall(b"$" + payload + b"#" + checksum(payload))
            ack = self._byte()
            while ack not in b"+-":  # stray bytes before the acknowledgement
                ack = self._byte()
            if ack == ord("+"):
                return

    def _receive(self) -> bytes:
        """The next packet's payload, acknowledged ("-" and the server sends it again if
        its checksum is wrong)."""
        while True:
            while self._byte() != ord("$"):
                pass
            payload = bytearray()
            while (byte := self._byte()) != ord("#"):
                payload.append(byte)
            if bytes([self._byte(), self._byte()]).lower() == checksum(payload):
                self.sock.sendall(b"+")
                return run_length_decoded(bytes(payload))
            self.sock.sendall(b"-")

    def request(self, payload: bytes) -> bytes:
        self._send(payload)
        return self._receive()

    def stop(self) -> None:
        """Interrupts the running target and waits for its stop reply (S or T; console
        output packets, O, are skipped)."""
        self.sock.sendall(INTERRUPT)
        while self._receive()[:1] not in (b"S", b"T"):
            pass
        self.running = False

    def resume(self) -> None:
        self._send(b"c")  # answered only when the target stops again
        self.running = True

    def read(self, address: int, length: int) -> bytes:
        out = bytearray()
        while len(out) < length:
            n = min(self.chunk, length - len(out))
            reply = self.request(b"m%x,%x" % (address + len(out), n))
            if len(reply) != 2 * n:  # "Exx": an error
                raise ToolchainError(f"the GDB server at {self.address} cannot read {n} bytes at "
                                     f"0x{address + len(out):08x} ({reply[:8].decode(errors='replace')})")
            out += bytes.fromhex(reply.decode())
        return bytes(out)

    def write(self, address: int, data: bytes) -> None:
        for start in range(0, len(data), self.chunk):
            part = data[start:start + self.chunk]
            reply = self.request(b"M%x,%x:%s" % (address + start, len(part), part.hex().encode()))
            if reply != b"OK":
                raise ToolchainError(f"the GDB server at {self.address} cannot write {len(part)} bytes at "
                                     f"0x{address + start:08x} ({reply[:8].decode(errors='replace')})")
