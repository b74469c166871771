"""Command line: ``symgraph cache clear`` / ``symgraph cache info``
(also ``python -m symgraph ...``).  The folder is ``sg.config.compiledir``
(SYMGRAPH_FLAGS="compiledir=..." sets it)."""
import argparse
import os
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="symgraph", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    cache_cmd = commands.add_parser("cache", help="the folder of compiled programs")
    cache_cmd.add_argument("action", choices=["clear", "info"],
                           help="clear: delete every compiled program; info: where and how many")
    args = parser.parse_args(argv)

    from .compile import cache
    from .config import config
    folder = os.path.abspath(os.path.expanduser(config.compiledir))
    if args.action == "clear":
        removed = cache.clear(folder)
        print(f"removed {removed} files from {folder}")
        return 0
    programs = [f for f in os.listdir(folder) if f.startswith("sg_") and f.endswith(".py")] \
        if os.path.isdir(folder) else []
    size = 0
    for root, _, files in os.walk(folder) if os.path.isdir(folder) else []:
        size += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    print(f"{folder}: {len(programs)} programs, {size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
