"""Training: generated stories -> SentencePiece tokenizer -> the reference model
trained on them -> compiled and run in C. A tiny model and a few hundred steps,
enough to learn the stories' words."""
import re
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from toolchain.cli import main
from toolchain.cli.demo import run_demo
from toolchain.compile.compiler import compile_project
from toolchain.config import ModelConfig
from toolchain.train.corpus import make_stories, write_corpus
from toolchain.host.emulator import Emulator
from toolchain.importers import load_checkpoint
from toolchain.model import Transformer
from toolchain.train.tokenizer import train_sentencepiece
from toolchain.train.trainer import MODEL_ARGS, TrainConfig, read_checkpoint, train

TINY = dict(dim=48, n_layers=2, n_heads=4, n_kv_heads=2, max_seq_len=64, batch_size=16, max_iters=400,
            warmup_iters=10, learning_rate=5e-3, min_lr=5e-4, eval_interval=100, eval_iters=4, threads=1)


def words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z']+", text)


@pytest.fixture(scope="module")
def restore_threads():
    """Training in this process sets torch's threads (to one here: on a shared 2-core
    machine more only fight); the other tests get theirs back."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """600 generated stories and a 512-token SentencePiece model trained on them."""
    d = tmp_path_factory.mktemp("inputs")
    corpus = write_corpus(d / "corpus.txt", 600, seed=0)
    train_sentencepiece(corpus, 512, d / "tok")
    return corpus, d / "tok.model", d / "tok.bin"


@pytest.fixture(scope="module")
def trained(inputs, restore_threads, tmp_path_factory):
    corpus, model, _ = inputs
    config = TrainConfig(str(corpus), str(model), str(tmp_path_factory.mktemp("run")), **TINY)
    return config, train(config, progress=False)


def test_corpus_is_deterministic_and_varied(tmp_path):
    assert make_stories(50, seed=3) == make_stories(50, seed=3)
    stories = make_stories(300, seed=0)
    assert make_stories(300, seed=1) != stories
    assert len(set(stories)) == 300
    assert len(set(words(" ".join(stories)))) > 250  # names, places, objects, plots
    assert all("\n" not in s and s.endswith(".") for s in stories)
    path = write_corpus(tmp_path / "c.txt", 300, seed=0)
    assert path.read_text().splitlines() == stories


@pytest.mark.slow
def test_eval_loss_falls(trained):
    config, result = trained
    losses = [e.val_loss for e in result.evals]
    assert [e.iter_num for e in result.evals] == [0, 100, 200, 300, 400]
    assert losses[0] > np.log(512) - 0.3  # starts at chance
    assert losses[-1] < 1.2, losses  # about 0.65 nats per token
    assert losses == sorted(losses, reverse=True), losses


def test_checkpoint_carries_the_model_args(trained, inputs):
    config, result = trained
    ckpt = read_checkpoint(result.checkpoint)
    assert set(ckpt) == {"model", "model_args", "optimizer", "iter_num", "best_val_loss", "config"}
    assert set(ckpt["model_args"]) == set(MODEL_ARGS)
    assert ckpt["iter_num"] == 400
    assert ckpt["best_val_loss"] == min(e.val_loss for e in result.evals)
    assert ckpt["config"]["corpus"] == config.corpus and ckpt["config"]["max_iters"] == 400
    # model_args round-trip: they rebuild the model that was trained, with its weights
    model = load_checkpoint(result.checkpoint)
    assert model.config == config.model_config(512)
    args = ckpt["model_args"]
    assert ModelConfig.ffn_hidden_dim(args["dim"], args["multiple_of"]) == args["hidden_dim"]
    for name, tensor in model.tensors.items():
        assert np.array_equal(tensor, ckpt["model"][name].numpy()), name
    assert model.config.shared_classifier and "output.weight" not in model.tensors


def test_emulated_text_is_made_of_corpus_words(trained, inputs, tmp_path):
    _, result = trained
    corpus, _, tokenizer_bin = inputs
    out = tmp_path / "host"
    compile_project(result.checkpoint, tokenizer_bin, "host", out, quant="f32")
    emulator = Emulator(out)
    generation = emulator.generate("Once upon a time", steps=64, temperature=0)
    text = generation.text.decode()
    vocabulary = set(words(corpus.read_text()))
    generated = words(text)[:-1]  # the last word may be cut off by --steps
    assert len(generated) >= 20, text
    assert set(generated) <= vocabulary, (set(generated) - vocabulary, text)
    # the C build of the checkpoint generates what the PyTorch model does
    model = load_checkpoint(result.checkpoint)
    assert generation.tokens == Transformer(model).generate_greedy(emulator.encode("Once upon a time"), 64)


def test_resume_continues_from_iter_num(trained, inputs, restore_threads, tmp_path):
    config, _ = trained
    half = replace(config, out_dir=str(tmp_path), max_iters=100, eval_interval=25)
    first = train(half, progress=False)
    resumed = train(replace(half, max_iters=150, dim=8), resume=True, progress=False)  # shape from the checkpoint
    assert [e.iter_num for e in resumed.evals] == [125, 150]
    assert resumed.evals[0].val_loss < first.evals[-2].val_loss  # it went on, not from scratch
    assert resumed.evals[-1].val_loss < first.evals[-1].val_loss
    ckpt = read_checkpoint(tmp_path / "ckpt.pt")
    assert ckpt["iter_num"] == 150 and ckpt["model_args"]["dim"] == 48
    assert all(s["step"] == 150 for s in ckpt["optimizer"]["state"].values())
    assert ckpt["best_val_loss"] == resumed.evals[-1].val_loss


def test_cli_train_resume_and_errors(inputs, restore_threads, tmp_path):
    corpus, tokenizer, _ = inputs
    out = tmp_path / "run"
    small = ["--dim", "32", "--layers", "1", "--heads", "2", "--seq-len", "32", "--batch-size", "4",
             "--eval-interval", "10", "--eval-iters", "2", "--warmup", "2", "--threads", "1"]
    runner = CliRunner()
    result = runner.invoke(main, ["train", str(corpus), "-z", str(tokenizer), "-o", str(out),
                                  "--iters", "10", *small])
    assert result.exit_code == 0, result.output
    assert "trained to iteration 10" in result.output
    result = runner.invoke(main, ["train", "-o", str(out), "--resume", "--iters", "20"])
    assert result.exit_code == 0, result.output
    ckpt = read_checkpoint(out / "ckpt.pt")
    assert ckpt["iter_num"] == 20 and ckpt["model_args"]["dim"] == 32
    assert ckpt["config"]["batch_size"] == 4 and ckpt["config"]["corpus"] == str(corpus)
    for args, message in [
        (["train", str(corpus), "-z", str(tokenizer), "-o", str(out)], "exists (resume it"),
        (["train", "-o", str(out), "--resume", "--iters", "20"], "already at iteration 20"),
        (["train", "-o", str(tmp_path / "none"), "--resume"], "ckpt.pt: no such file"),
        (["train", str(corpus), "-z", str(corpus), "-o", str(tmp_path / "r2")], "not a SentencePiece model"),
        (["train", str(tmp_path / "missing.txt"), "-o", str(tmp_path / "r3")], "missing.txt: no such file"),
        (["train", str(corpus), "-z", str(tokenizer), "-o", str(tmp_path / "r4"), "--heads", "5"],
         "not a multiple of n_heads"),
        (["train", str(corpus), "-z", str(tokenizer), "-o", str(tmp_path / "r5"), "--seq-len", "100000"],
         "held-out split"),
        (["train", str(corpus), "-z", str(tokenizer), "-o", str(tmp_path / "r6"), "--dtype", "fp16",
          "--device", "cpu"], "fp16 training needs CUDA"),
    ]:
        result = runner.invoke(main, args)
        assert result.exit_code == 1, (args, result.output)
        assert result.output.startswith("error: ") and message in result.output, (args, result.output)
        assert "Traceback" not in result.output
    assert not any((tmp_path / f"r{i}").exists() for i in range(2, 7))  # nothing written


@pytest.mark.slow
def test_torchrun_data_parallel_equals_gradient_accumulation(restore_threads, tmp_path):
    """Two processes with one micro-batch each see the batches one process sees with
    two micro-batches, and DDP averages the gradients as accumulation does. Rank 0
    alone writes the corpus and the tokenizer."""
    settings = dict(dim=32, n_layers=1, n_heads=2, n_kv_heads=2, max_seq_len=32, batch_size=4,
                    max_iters=6, warmup_iters=2, eval_interval=6, eval_iters=1, threads=1)
    flags = ["--dim", "32", "--layers", "1", "--heads", "2", "--kv-heads", "2", "--seq-len", "32",
             "--batch-size", "4", "--iters", "6", "--warmup", "2", "--eval-interval", "6", "--eval-iters", "1"]
    ddp = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                          "-m", "toolchain", "train", "--stories", "300", "-o", str(tmp_path / "ddp"), *flags],
                         capture_output=True, text=True, timeout=300)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    assert ddp.stdout.count("trained to iteration 6") == 1  # rank 0 alone prints
    corpus, tokenizer = tmp_path / "ddp" / "corpus.txt", tmp_path / "ddp" / "tokenizer.model"
    assert corpus.read_text().splitlines() == make_stories(300)
    single = train(TrainConfig(str(corpus), str(tokenizer), str(tmp_path / "one"), grad_accum=2, **settings),
                   progress=False)
    a = read_checkpoint(tmp_path / "ddp" / "ckpt.pt")["model"]
    b = read_checkpoint(single.checkpoint)["model"]
    for name in b:
        assert torch.allclose(a[name], b[name], atol=1e-5), name
    assert not torch.equal(a["norm.weight"], torch.ones(32))  # it trained


@pytest.mark.slow
def test_demo_trains_once_then_reuses(restore_threads, tmp_path, capfd):
    config = TrainConfig("", "", "", **{**TINY, "max_iters": 200, "eval_interval": 200})
    assert run_demo(tmp_path, "rpi4", "Once upon a time", 40, 0.0, 0.9, 1, config, stories=300) == 0
    first = capfd.readouterr()
    assert first.out.startswith("Once upon a time") and len(words(first.out)) > 10, first
    assert "training the tiny_stories model" in first.err
    # how long it takes, said before it starts
    assert first.err.startswith("demo: this first run takes under a minute on a 2-core CPU: training a "), first.err
    (checkpoint,) = tmp_path.glob("model-*/ckpt.pt")
    stamp = checkpoint.stat().st_mtime_ns
    assert run_demo(tmp_path, "rpi4", "Once upon a time", 40, 0.0, 0.9, 1, config, stories=300) == 0
    second = capfd.readouterr()
    assert second.out == first.out
    assert "training" not in second.err and "compiling" not in second.err
    assert checkpoint.stat().st_mtime_ns == stamp
    assert (checkpoint.parent / "rpi4" / "build" / "llm").is_file()
