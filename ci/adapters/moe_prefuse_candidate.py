"""The release gate's candidate protocols for Python implementations (moe-prefuse; the contract is
docs/gate-protocols.md). Turns stage functions `fn(weights, config) -> weights` into a candidate that
speaks both protocols:

  case/1   prog [--stage STAGE] INPUT_DIR OUTPUT_FILE
           one case per process: exit 0 written, 1 refused (the input is outside what the stage
           does), 2 bad usage or a stage this candidate does not implement.
  serve/1  prog --serve [--stage STAGE]   (or MOE_PREFUSE_PROTOCOL=serve/1 in the environment)
           one process for many cases: one JSON request per line on stdin,
           {"case": ID, "stage": STAGE, "input": DIR, "output": FILE}, one JSON answer per line on
           stdout, {"case": ID, "status": "written"} or {"case": ID, "status": "refused",
           "message": "..."}; end of stdin means exit. stdout carries only answers: while a stage
           runs, anything written to stdout (print, a native library writing to fd 1) goes to
           stderr instead.

The stage comes from the request (serve/1), else --stage, else MOE_PREFUSE_STAGE, else "prefuse".
An exception in a stage function refuses the case: `Refused("why")` with its message alone (one
line on stderr too), any other exception with its traceback on stderr, as a crashing per-case
process would show it.

    from moe_prefuse_candidate import main
    sys.exit(main("my_prefuse", {"prefuse": my_prefuse}, load, save))

where load(path) -> (weights, context) reads INPUT_DIR/model.safetensors and
save(path, weights, context) writes the result (context: whatever load wants to hand on, e.g. the
safetensors __metadata__).
"""

import argparse
import json
import os
import sys
import traceback

PROTOCOL_ENV = "MOE_PREFUSE_PROTOCOL"
SERVE = "serve/1"


class Refused(Exception):
    """The input is outside what this stage can do: one line, the case refused."""


def arguments(prog, description, stages):
    """The command line of both protocols; a stage given here that is not implemented: exit 2."""
    serve_env = os.environ.get(PROTOCOL_ENV) == SERVE
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--stage", default=os.environ.get("MOE_PREFUSE_STAGE", "prefuse"))
    parser.add_argument("--serve", action="store_true", default=serve_env, help="serve/1: take requests on stdin")
    parser.add_argument("input", nargs="?", help="directory holding config.json and model.safetensors (case/1)")
    parser.add_argument("output", nargs="?", help="the .safetensors file to write, the whole weight dict (case/1)")
    args = parser.parse_args()
    if args.serve and args.input is not None:
        parser.error("--serve takes no INPUT_DIR or OUTPUT_FILE: requests carry them")
    if not args.serve and args.output is None:
        parser.error("INPUT_DIR and OUTPUT_FILE are required (or --serve)")
    if not args.serve and args.stage not in stages:  # serve/1 refuses such requests one by one
        print(f"{prog}: stage {args.stage!r} is not one this adapter implements ({', '.join(stages)})", file=sys.stderr)
        raise SystemExit(2)
    return args


def run_case(stages, stage, input_dir, output, load, save):
    """One case: config.json and model.safetensors of input_dir through the stage into output."""
    if stage not in stages:
        raise Refused(f"stage {stage!r} is not one this candidate implements ({', '.join(stages)})")
    with open(os.path.join(input_dir, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    weights, context = load(os.path.join(input_dir, "model.safetensors"))
    save(output, stages[stage](weights, config), context)


def serve(prog, stages, load, save):
    """serve/1: requests on stdin until it ends, one answer line each on the real stdout."""
    answers = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)  # the stages' own output, native libraries' included, goes to stderr
    sys.stdout = sys.stderr
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            case = request["case"]
        except (ValueError, KeyError, TypeError) as e:
            print(f"{prog}: not a serve/1 request ({e}): {line.strip()[:200]}", file=sys.stderr)
            return 2
        try:
            run_case(stages, request.get("stage"), request["input"], request["output"], load, save)
            answer = {"case": case, "status": "written"}
        except Refused as e:
            print(f"{prog}: {e}", file=sys.stderr)
            answer = {"case": case, "status": "refused", "message": str(e)}
        except Exception as e:  # noqa: BLE001  (any failure refuses this case; the worker goes on)
            traceback.print_exc(file=sys.stderr)
            answer = {"case": case, "status": "refused", "message": f"{type(e).__name__}: {e}"}
        sys.stderr.flush()  # the case's stderr reaches the gate before its answer
        answers.write(json.dumps(answer) + "\n")
    return 0


def main(prog, stages, load, save, description="a moe-prefuse release-gate candidate"):
    """Either protocol, from the command line; returns the exit status."""
    args = arguments(prog, description, stages)
    if args.serve:
        return serve(prog, stages, load, save)
    try:
        run_case(stages, args.stage, args.input, args.output, load, save)
    except Refused as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 1
    return 0
