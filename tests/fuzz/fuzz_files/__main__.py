"""The command line: `python3 tests/fuzz/fuzz_files --help`, from the checkout (docs/fuzzing.md)."""
import argparse
import json
import resource
import signal
import sys
from pathlib import Path

if not __package__:  # run as a directory (its own on sys.path): import the package from its parent instead
    _here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
    sys.path.insert(0, str(_here.parent))

import fuzz_files  # noqa: E402
from fuzz_files.child import AS_HEADROOM, TIME_LIMIT, _vm_size  # noqa: E402
from fuzz_files.run import fuzz, replay  # noqa: E402
from fuzz_files.seeds import FORMATS_BY_SLUG  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=fuzz_files.__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", type=int, default=1000, help="cases to run, the formats in turn (default 1000)")
    p.add_argument("--seed", type=int, default=1, help="the run's seed: the same seed, the same cases")
    p.add_argument("--formats", nargs="+", choices=list(FORMATS_BY_SLUG), help="only these formats")
    p.add_argument("--json", type=Path, help="write the summary and every case here")
    p.add_argument("--keep", type=Path, help="keep a reproducer of each finding here (3 per root cause)")
    p.add_argument("--workdir", type=Path, help="seeds and cases here instead of a temporary directory")
    p.add_argument("--time-limit", type=float, default=TIME_LIMIT, help="seconds before a case is a hang")
    p.add_argument("--replay", type=Path, help="run a kept reproducer's case in this process")
    args = p.parse_args(argv)

    def stop(signum, frame):  # SIGTERM (and SIGINT in a background job) stops the run and its child
        raise KeyboardInterrupt
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
    # the parent itself stays small: a mutator's bug fails here, not in the kernel's OOM killer
    cap = _vm_size() + AS_HEADROOM + (2 << 30)
    resource.setrlimit(resource.RLIMIT_AS, (cap, resource.getrlimit(resource.RLIMIT_AS)[1]))
    if args.replay:
        return replay(args.replay)
    run = fuzz(args.cases, args.seed, args.workdir, args.formats, args.keep, args.time_limit, progress=True)
    print(run.report())
    if args.json:
        args.json.write_text(json.dumps(run.summary() | {"case_list": [
            {k: v for k, v in c.__dict__.items() if k != "traceback"} for c in run.cases]}, indent=1, default=str))
    return 1 if any(c.finding for c in run.cases) else 0


if __name__ == "__main__":
    sys.exit(main())
