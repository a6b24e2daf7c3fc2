"""Tools that run a project's C on this machine: the emulator (the project as a host
library, through ctypes), validate (against the reference model), bench (speed
against the roofline) and encode (the C encoder for `llmtool tokenizer encode`)."""
