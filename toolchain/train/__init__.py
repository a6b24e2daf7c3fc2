"""Training the reference model (trainer: llama2.c's train.py recipe), on a corpus of
generated stories (corpus) with a SentencePiece vocabulary (tokenizer); config holds
the settings `llmtool train` and `demo` start from."""
