"""A run: the Fuzzer (the seeds and their baselines, one case after another, a
reproducer of each finding under --keep), the run's table and report, and the replay
of a kept case in this process."""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from synthetic import synthetic_tokenizer
from toolchain.config import random_model
from toolchain.importers.tokenizer import load_tokenizer

from .checkout import ROOT
from .child import MEMORY_WORDS, RSS_LIMIT, TIME_LIMIT, run_in_child, stack_frame
from .classify import CATEGORIES, OUTCOMES, Case, classify_accepted, group_key
from .json_values import RETYPED
from .load_and_compile import Partners, child_case
from .marker import OpenWatch, make_marker
from .mutations import Mutation, plan_case
from .seeds import FORMATS, FORMATS_BY_SLUG, SEED_CONFIG, Format, Seed, make_seeds
from .torch_zip import zip_checksums_ok


class Fuzzer:
    def __init__(self, workdir: Path, formats: list[Format] | None = None, time_limit: float = TIME_LIMIT,
                 keep: Path | None = None, keep_per_group: int = 3, log=None):
        torch.set_num_threads(1)
        self.workdir = Path(workdir)
        self.formats = formats or FORMATS
        self.time_limit = time_limit
        self.keep = Path(keep) if keep else None
        self.keep_per_group = keep_per_group
        self.kept = Counter()
        self.log = log or (lambda *a: None)
        self.seeds = make_seeds(self.workdir / "seeds", self.formats)
        self.marker = self.workdir / "marker" / "x"
        self.marker.parent.mkdir(parents=True)
        make_marker(self.marker)
        self.watch = OpenWatch(self.marker)
        vocab = {s.fmt.slug: load_tokenizer(s.directory / s.fmt.target).vocab_size
                 for s in self.seeds.values() if s.fmt.kind == "tokenizer"}
        self.partners = Partners(synthetic_tokenizer(SEED_CONFIG.vocab_size),
                                 {slug: random_model(replace(SEED_CONFIG, vocab_size=v, n_layers=1), seed=1)
                                  for slug, v in vocab.items()})
        for seed in self.seeds.values():
            self._baseline(seed)

    def _case_dir(self, index: int) -> Path:
        return self.workdir / f"case-{index}"

    def _layout(self, seed: Seed, index: int, mutation: Mutation | None) -> tuple[Path, Path]:
        """case-N/ckpt/ holds the seed's files (one mutated), case-N/x the marker."""
        case = self._case_dir(index)
        shutil.rmtree(case, ignore_errors=True)
        ckpt = case / "ckpt"
        ckpt.mkdir(parents=True)
        for name in seed.files:
            if mutation is not None and name == mutation.file:  # ESCAPE_ABS: the marker's absolute path
                (ckpt / name).write_bytes(mutation.data.replace(b"ESCAPE_ABS", str(self.marker).encode()))
            else:
                os.link(seed.directory / name, ckpt / name)
        os.link(self.marker, case / "x")
        return case, ckpt / seed.fmt.target if seed.fmt.target != "." else ckpt

    def _baseline(self, seed: Seed) -> None:
        case, target = self._layout(seed, -1, None)
        run = run_in_child(lambda state: child_case(seed.fmt, target, case / "out", None, self.partners, state),
                           case, max(self.time_limit, 60.0))
        shutil.rmtree(case, ignore_errors=True)
        self.watch.opened()
        r = run.result or {}
        if r.get("outcome") != "accepted":
            raise RuntimeError(f"the {seed.fmt.slug} seed is not accepted: {r.get('exc_type')} {r.get('message')} "
                               f"{r.get('traceback', '')} {run.log[-2000:]}")
        seed.baseline = r["fingerprint"]

    def run_case(self, index: int, seed_value: int) -> Case:
        seed, m = plan_case(self.seeds, index, seed_value)
        return self.run_mutation(index, seed, m)

    def run_mutation(self, index: int, seed: Seed, m: Mutation) -> Case:
        """Runs one mutated file of `seed` (a planned case, or one made by hand)."""
        case = Case(index, seed.fmt.slug, m.file, m.steps, m.kinds, size=len(m.data),
                    sha1=hashlib.sha1(m.data).hexdigest())
        directory, target = self._layout(seed, index, m)
        self.watch.opened()
        run = run_in_child(lambda state: child_case(seed.fmt, target, directory / "out", seed.baseline,
                                                    self.partners, state), directory, self.time_limit)
        escaped = self.watch.opened()
        case.seconds, case.max_rss, case.stage = run.seconds, run.max_rss, run.stage
        r = run.result or {}
        for k in ("exc_type", "message", "frame", "last_frame", "traceback"):
            setattr(case, k, r.get(k))
        if run.timed_out:
            case.outcome = "hang"
            case.frame, case.last_frame = stack_frame(run.log)
            case.detail = f"killed after {self.time_limit:g} s"
            case.traceback = run.log[-6000:]
        elif run.result is None:
            sig = run.signal
            name = signal.Signals(sig).name if sig else f"exit {run.exit_code}"
            case.frame, case.last_frame = stack_frame(run.log)
            case.traceback = run.log[-6000:]
            if sig == signal.SIGXFSZ or MEMORY_WORDS.search(run.log) or sig == signal.SIGKILL:
                case.outcome, case.detail = "blow-up", f"{name} ({'file size limit' if sig == signal.SIGXFSZ else 'memory'})"
            elif sig == signal.SIGXCPU:
                case.outcome, case.detail = "hang", "CPU time limit"
            else:
                case.outcome, case.detail = "crash", name
        else:
            case.outcome = r["outcome"]
        if case.max_rss > RSS_LIMIT and case.outcome != "hang":
            case.detail = f"peak RSS {case.max_rss / 2**30:.2f} GB (was: {case.outcome}) " + case.detail
            case.outcome = "blow-up"
        if escaped:
            case.detail = f"opened the marker outside the checkpoint directory (was: {case.outcome}) " + case.detail
            case.outcome = "escape"
        if case.outcome in ("accepted", "bad-c"):
            if seed.files[m.file] == "zip":
                case.checksum_ok = zip_checksums_ok(m.data)
            if case.outcome == "accepted":
                case.category, case.detail, case.reason = classify_accepted(
                    seed.fmt.kind, seed.baseline, r["fingerprint"], case.checksum_ok,
                    any(RETYPED in step for step in m.steps))
        if case.finding and self.keep is not None:
            self._keep(case, directory, seed)
        shutil.rmtree(directory, ignore_errors=True)
        return case

    def _keep(self, case: Case, directory: Path, seed: Seed) -> None:
        group = group_key(case)
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", group)[:90].strip("_")
        if self.kept[slug] >= self.keep_per_group:
            return
        self.kept[slug] += 1
        dest = self.keep / slug / f"{case.format}-{case.index}"
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        shutil.copytree(directory / "ckpt", dest / "ckpt")
        shutil.copy(directory / "x", dest / "x")
        self.watch.opened()  # the copy opened the marker
        target = "ckpt" + ("" if seed.fmt.target == "." else "/" + seed.fmt.target)
        loader = ("from toolchain.importers import load_checkpoint as load" if seed.fmt.kind == "checkpoint"
                  else "from toolchain.importers.tokenizer import load_tokenizer as load")
        info = {k: v for k, v in case.__dict__.items() if k != "kept"} | {
            "group": group, "target": target, "seed_title": seed.fmt.title, "kind": seed.fmt.kind,
            "load": f"cd {ROOT} && python3 -c '{loader}; load(\"{dest / target}\")'",
            "replay": f"cd {ROOT} && python3 tests/fuzz/fuzz_files --replay {dest}"}
        (dest / "info.json").write_text(json.dumps(info, indent=2, default=str) + "\n")
        case.kept = str(dest)

    def close(self):
        self.watch.close()


@dataclass
class Run:
    seed: int
    cases: list[Case]
    seconds: float
    formats: list[Format]

    def table(self) -> dict[str, dict]:
        rows = {}
        for fmt in self.formats:
            cs = [c for c in self.cases if c.format == fmt.slug]
            counts = Counter(c.label() for c in cs)
            rows[fmt.slug] = {"cases": len(cs), **{k: counts.get(k, 0) for k in ("clean",) + CATEGORIES + OUTCOMES[2:]},
                              "max_seconds": round(max((c.seconds for c in cs), default=0), 2),
                              "max_rss_mb": round(max((c.max_rss for c in cs), default=0) / 2**20)}
        return rows

    def findings(self) -> list[dict]:
        groups: dict[str, list[Case]] = {}
        for c in self.cases:
            if c.finding:
                groups.setdefault(group_key(c), []).append(c)
        out = []
        for key, cs in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            example = min(cs, key=lambda c: (len(c.steps), c.kinds.count("bytes"), c.index))
            out.append({"group": key, "count": len(cs), "formats": sorted({c.format for c in cs}),
                        "outcome": example.label(), "format": example.format, "file": example.file,
                        "mutation": example.steps, "stage": example.stage, "exc_type": example.exc_type, "message": example.message,
                        "frame": example.frame, "last_frame": example.last_frame, "detail": example.detail,
                        "case": example.index, "reproducer": example.kept or next((c.kept for c in cs if c.kept), None)})
        return out

    def summary(self) -> dict:
        return {"seed": self.seed, "cases": len(self.cases), "seconds": round(self.seconds, 1),
                "cases_per_second": round(len(self.cases) / self.seconds, 1) if self.seconds else None,
                "table": self.table(), "findings": self.findings()}

    def report(self) -> str:
        cols = [("cases", "cases"), ("clean", "clean"), ("identical", "ident"), ("values-only", "values"),
                ("config-only", "config"), ("implausible", "implaus"), ("checksum-ignored", "crc-ign"),
                ("type-confusion", "retyped"), ("structure-differs", "struct"), ("traceback", "trace"), ("hang", "hang"), ("blow-up", "blowup"),
                ("crash", "crash"), ("bad-c", "bad-c"), ("bad-message", "bad-msg"), ("escape", "escape"),
                ("max_seconds", "max s"), ("max_rss_mb", "max MB")]
        rows = self.table()
        total = {k: sum(r[k] for r in rows.values()) for k, _ in cols[:-2]} | {
            "max_seconds": max((r["max_seconds"] for r in rows.values()), default=0),
            "max_rss_mb": max((r["max_rss_mb"] for r in rows.values()), default=0)}
        lines = ["| format | " + " | ".join(h for _, h in cols) + " |", "|---" * (len(cols) + 1) + "|"]
        for name, r in list(rows.items()) + [("all", total)]:
            lines.append(f"| {name} | " + " | ".join(str(r[k]) for k, _ in cols) + " |")
        s = self.summary()
        lines.append(f"\n{s['cases']} cases in {s['seconds']} s ({s['cases_per_second']} cases/s), seed {self.seed}")
        findings = s["findings"]
        lines.append(f"{len(findings)} finding groups" + (":" if findings else ""))
        for f in findings:
            lines.append(f"\n[{f['count']}x] {f['group']}  ({', '.join(f['formats'])})")
            lines.append(f"    e.g. case {f['case']} {f['format']} {f['file']}: {' | '.join(f['mutation'])}"
                         f"  [stage {f['stage']}]")
            if f["exc_type"] or f["message"]:
                lines.append(f"    {f['exc_type'] or ''}: {(f['message'] or '')[:300]}")
            if f["detail"]:
                lines.append(f"    {f['detail'][:300]}")
            if f["frame"] or f["last_frame"]:
                lines.append(f"    at {f['frame']} (innermost: {f['last_frame']})")
            if f["reproducer"]:
                lines.append(f"    reproducer: {f['reproducer']}")
        return "\n".join(lines)


def fuzz(cases: int, seed: int = 1, workdir: Path | None = None, formats: list[str] | None = None,
         keep: Path | None = None, time_limit: float = TIME_LIMIT, progress: bool = False) -> Run:
    """Runs `cases` cases (formats in turn) and returns them; `workdir` (a temporary
    directory if None, removed at the end) holds the seeds and the case being run."""
    chosen = [FORMATS_BY_SLUG[s] for s in formats] if formats else FORMATS
    own = workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="fuzz-files-")) if own else Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    fuzzer = None
    try:
        fuzzer = Fuzzer(workdir, chosen, time_limit, keep)
        results = []
        start = time.monotonic()
        for i in range(cases):
            results.append(fuzzer.run_case(i, seed))
            if progress and (i + 1) % 100 == 0:
                bad = sum(c.finding for c in results)
                print(f"{i + 1}/{cases} cases, {bad} findings, {(i + 1) / (time.monotonic() - start):.1f}/s",
                      file=sys.stderr, flush=True)
        return Run(seed, results, time.monotonic() - start, chosen)
    finally:
        if fuzzer is not None:
            fuzzer.close()
        if own:
            shutil.rmtree(workdir, ignore_errors=True)


def replay(directory: Path) -> int:
    """Runs a kept case in this process (no fork, no limits): its traceback, if any,
    is Python's own."""
    info = json.loads((directory / "info.json").read_text())
    fmt = FORMATS_BY_SLUG[info["format"]]
    print(f"{info['format']} {info['file']}: {' | '.join(info['steps'])}")
    with tempfile.TemporaryDirectory(prefix="fuzz-replay-") as tmp:
        tmp = Path(tmp)
        if fmt.kind == "checkpoint":
            partners = Partners(synthetic_tokenizer(SEED_CONFIG.vocab_size), {})
        else:
            seed = make_seeds(tmp / "seeds", [fmt])[fmt.slug]
            vocab = load_tokenizer(seed.directory / fmt.target).vocab_size
            partners = Partners(None, {fmt.slug: random_model(replace(SEED_CONFIG, vocab_size=vocab, n_layers=1),
                                                              seed=1)})
        state = {}
        result = child_case(fmt, directory / info["target"], tmp / "out", None, partners, state)
    print(f"stage {state['stage']}: {result['outcome']} {result.get('message', '')}")
    return 0
