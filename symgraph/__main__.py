"""Command line: ``symgraph cache [info]`` / ``symgraph cache clear``
(also ``python -m symgraph ...``).  The folder is ``sg.config.compiledir``
(SYMGRAPH_FLAGS="compiledir=..." sets it); its size limit is
``sg.config.cache_max_mb``."""
import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="symgraph", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    cache_cmd = commands.add_parser("cache", help="the folder of compiled programs")
    cache_cmd.add_argument("action", nargs="?", default="info", choices=["clear", "info"],
                           help="clear: delete every compiled program; info (default): where, "
                                "how many, how large")
    args = parser.parse_args(argv)

    from .compile import cache
    from .config import config
    if args.action == "clear":
        folder = config.compiledir
        removed = cache.clear(folder)
        print(f"removed {removed} files from {cache.info(folder)['folder']}")
        return 0
    report = cache.info()
    state = ("used" + ("" if report["writable"] else ", read-only")) if report["trusted"] else \
        f"not used: {report['problem']}"
    print(f"folder:   {report['folder']} ({state})")
    print(f"numba:    {report['numba_folder']}")
    print(f"programs: {report['entries']}, {report['bytes'] / 1e6:.1f} MB "
          f"of {report['limit_mb']:g} MB (config.cache_max_mb; least recently used go first)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
