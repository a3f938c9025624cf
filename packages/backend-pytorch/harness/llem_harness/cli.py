"""`python -m llem_harness --config <config.json> --out <dir>`.

Exit codes: 0 ok, 2 bad config, 1 any other failure, 130 interrupted. On failure the harness
writes `<out>/error.json` {message, kind, traceback} and then prints an `error` event.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import traceback
from typing import Any

from .atomic_write import write_json_atomic
from .errors import HarnessError
from .protocol import ProtocolWriter, take_over_stdout

log = logging.getLogger("llem_harness")


class Interrupted(Exception):
    pass


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Interrupted(f"stopped by signal {signum}")


def _report(protocol: ProtocolWriter, out_dir: str, message: str, kind: str) -> None:
    try:
        write_json_atomic(os.path.join(out_dir, "error.json"),
                          {"message": message, "kind": kind, "traceback": traceback.format_exc()})
    except Exception as exc:  # the event below still tells the host what happened
        log.error("could not write error.json: %s", exc)
    protocol.emit("error", message=message, kind=kind)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m llem_harness", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="JSON file {experiment_id, config_hash, config}")
    parser.add_argument("--out", required=True, help="folder for workload-result.json / error.json")
    args = parser.parse_args(argv)

    logging.basicConfig(stream=sys.stderr, level=os.environ.get("LLEM_HARNESS_LOG", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    protocol = take_over_stdout()
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        from .settings import load_settings

        settings = load_settings(args.config)  # before importing torch: a bad config fails in milliseconds
        from .workload import run_workload

        run_workload(settings, args.out, protocol)
        return 0
    except HarnessError as exc:
        log.error("%s (%s)", exc.message, exc.kind)
        _report(protocol, args.out, exc.message, exc.kind)
        return 2 if exc.kind == "config" else 1
    except (KeyboardInterrupt, Interrupted) as exc:
        _report(protocol, args.out, f"interrupted: {exc}" if str(exc) else "interrupted", "interrupted")
        return 130
    except Exception as exc:
        kind = "oom" if "out of memory" in str(exc).lower() else "internal"
        log.exception("workload failed")
        _report(protocol, args.out, f"{type(exc).__name__}: {exc}", kind)
        return 1
