"""What a serial console's firmware (main.c's serial_console) answered in a session, for
the tests that talk to it over a UART (test_uart_console) or RTT (test_rtt_console)."""


def split_answers(received: bytes, n_lines: int) -> tuple[bytes, list[bytes]]:
    """The banner and the answer to each of n_lines lines (the text between one "> "
    prompt and the next), CRLF as LF; all of them, and the prompt after the last, came."""
    received = received.replace(b"\r\n", b"\n")
    banner, *answers = received.split(b"> ")
    assert len(answers) == n_lines + 1, received[-2000:]
    return banner, answers[:-1]
