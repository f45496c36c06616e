"""The release gate's candidate protocol, as the bundled adapters read it: INPUT_DIR (config.json
and one model.safetensors) and OUTPUT_FILE (the .safetensors to write), the stage from --stage, else
the environment variable MOE_PREFUSE_STAGE the gate sets, else "prefuse". A stage the adapter does
not implement ends it with exit status 2 and one line on stderr."""

import argparse
import os
import sys


def arguments(prog, description, stages):
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--stage", default=os.environ.get("MOE_PREFUSE_STAGE", "prefuse"))
    parser.add_argument("input", help="directory holding config.json and model.safetensors")
    parser.add_argument("output", help="the .safetensors file to write (the whole weight dict)")
    args = parser.parse_args()
    if args.stage not in stages:
        print(f"{prog}: stage {args.stage!r} is not one this adapter implements ({', '.join(stages)})", file=sys.stderr)
        raise SystemExit(2)
    return args
