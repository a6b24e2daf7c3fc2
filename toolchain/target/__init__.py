"""A rendered project on its board: build (make with the board's toolchain, the size
check), run (natively, under qemu-user or qemu-system), toolcheck (a missing tool is
one line naming its Debian package)."""
