"""cortex-sim cache: the compiled C++/CUDA projects."""

from __future__ import annotations

from ..errors import CortexSimError
from ._options import _Parser, _add, _print_json

def register(sub):
    """Add this command group to the top-level subparsers ``sub``."""
    cache = sub.add_parser("cache", help="the cache of compiled C++/CUDA projects (CORTEX_SIM_CACHE)")
    csub = cache.add_subparsers(dest="command", required=True, parser_class=_Parser)
    ci = _add(csub, "info", "list the cached projects: device, size, last use, compiles, whether the next use rebuilds")
    ci.add_argument("--json", action="store_true", help="print the list as JSON on stdout")
    cc = _add(csub, "clear", "remove cached projects (all, or those unused for DAYS, or one by name); "
                             "the next run compiles them again")
    cc.add_argument("--older-than", type=float, default=None, metavar="DAYS",
                    help="only projects not built or run for this many days")
    cc.add_argument("--name", default=None, help="only this project (its folder name, with or without the fingerprint)")
    cc.add_argument("--json", action="store_true", help="print the removed folders as JSON on stdout")
    ci.set_defaults(run=_cmd_cache)
    cc.set_defaults(run=_cmd_cache)


def _cmd_cache(args):
    import datetime

    from .. import cache
    from ..devices import cache_root

    root = cache_root()
    if args.command == "clear":
        if args.older_than is not None and args.older_than < 0:
            raise CortexSimError(f"--older-than: got {args.older_than:g}; allowed: a number of days >= 0")
        removed = cache.clear(root, older_than_days=args.older_than, name=args.name)
        if args.json:
            _print_json(args, {"cache": str(root), "removed": removed})
        else:
            print(f"removed {len(removed)} project(s) from {root}")
        return
    infos = cache.project_infos(root)
    if args.json:
        _print_json(args, {"cache": str(root), "projects": infos})
        return
    print(f"cache: {root}  ({len(infos)} projects, {sum(i['size'] for i in infos) / 1e6:.1f} MB)")
    for i in infos:
        used = datetime.datetime.fromtimestamp(i["last_used"]).strftime("%Y-%m-%d %H:%M")
        print(f"  {i['device']:4s} {i['name']:45s} {i['size'] / 1e6:7.1f} MB  used {used}  "
              f"compiles {i['compiles']}" + (f"  rebuilds: {i['rebuild']}" if i["rebuild"] else ""))
