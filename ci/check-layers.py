#!/usr/bin/env python3
"""The crate layers of docs/architecture.md, checked on Cargo's own graph.

Rules (each one a function below, each failure one line):
  1. Every workspace crate has a layer, and a normal dependency points to a
     lower layer: never up, never sideways.
  2. The format crate (backupset) knows no destination, service or screen:
     its normal dependencies are foundation crates only.
  3. The console reaches the services only through the control protocol:
     it depends on no service crate.
  4. Nothing in a release binary depends on test support: the testing
     crates are dev-dependencies (or optional, behind a test-support
     feature), and the release build of board/appliance/rust-binaries
     (cargo tree over normal and build edges) contains no testing crate and
     no crate with a test feature switched on.

    ci/check-layers.py        (run by ci/lint.sh)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Bottom to top. docs/architecture.md draws the same picture.
LAYERS: list[tuple[str, set[str]]] = [
    ("foundation", {"applog", "atomicfile", "humanfmt", "mountinfo", "privs", "svcsignals", "timedcmd"}),
    ("formats", {"appconfig", "backupset", "grubenv"}),
    ("protocol and transports", {"admission", "control", "smbmount"}),
    ("destinations and alerts", {"destinations", "alerts"}),
    ("services and tools", {"appctl", "backupd", "ftpd", "hotplugd", "recover", "sshgate", "timesync"}),
    ("console", {"console"}),
]
TESTING = {"storegen", "systest"}
FORMAT_CRATE = "backupset"
CONSOLE = "console"
SERVICES = LAYERS[4][1]
# Features that only tests switch on (from dev-dependencies) or that only
# the test image's builds enable (board/appliance/rust-test-binaries).
TEST_FEATURES = {"test-support", "fault-injection"}


class CheckFailed(Exception):
    pass


def layer_of(name: str) -> int:
    for i, (_, crates) in enumerate(LAYERS):
        if name in crates:
            return i
    raise CheckFailed(f"{name}: a workspace crate with no layer in ci/check-layers.py (and docs/architecture.md)")


def metadata() -> dict:
    out = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps", "--locked"],
        cwd=REPO, capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout)


def normal_deps(pkg: dict, names: set[str]) -> list[dict]:
    return [d for d in pkg["dependencies"] if d["name"] in names and d["kind"] in (None, "build")]


def check_layers(pkgs: list[dict], names: set[str]) -> None:
    for p in pkgs:
        if p["name"] in TESTING:
            continue
        mine = layer_of(p["name"])
        for d in normal_deps(p, names):
            if d["name"] in TESTING:
                if not d.get("optional"):
                    raise CheckFailed(f"{p['name']} depends on the testing crate {d['name']} outside dev-dependencies")
                continue
            theirs = layer_of(d["name"])
            if theirs >= mine:
                raise CheckFailed(
                    f"{p['name']} ({LAYERS[mine][0]}) depends on {d['name']} ({LAYERS[theirs][0]}): "
                    "a dependency points to a lower layer"
                )
    print(f"layers: {len(pkgs) - len(TESTING)} product crates in {len(LAYERS)} layers, every dependency points down")


def check_format_crate(pkgs: list[dict], names: set[str]) -> None:
    p = next(p for p in pkgs if p["name"] == FORMAT_CRATE)
    for d in normal_deps(p, names):
        if d["name"] not in LAYERS[0][1] and not (d["name"] in TESTING and d.get("optional")):
            raise CheckFailed(f"{FORMAT_CRATE} depends on {d['name']}: the format crate uses foundation crates only")
    print(f"{FORMAT_CRATE}: knows no configuration, destination, service or screen")


def check_console(pkgs: list[dict], names: set[str]) -> None:
    p = next(p for p in pkgs if p["name"] == CONSOLE)
    for d in p["dependencies"]:
        if d["name"] in SERVICES:
            raise CheckFailed(f"{CONSOLE} depends on the service crate {d['name']}: it reaches services through control only")
    print(f"{CONSOLE}: no service crate among its dependencies (control only)")


def release_binaries() -> list[str]:
    lines = (REPO / "board" / "appliance" / "rust-binaries").read_text().splitlines()
    return [ln.split("#")[0].strip() for ln in lines if ln.split("#")[0].strip()]


def check_release_build(pkgs: list[dict]) -> None:
    owner = {}
    for p in pkgs:
        for t in p["targets"]:
            if "bin" in t["kind"]:
                # name@version: crates.io has a "console" too.
                owner[t["name"]] = f"{p['name']}@{p['version']}"
    bins = release_binaries()
    missing = [b for b in bins if b not in owner]
    if missing:
        raise CheckFailed(f"board/appliance/rust-binaries names programs no crate builds: {' '.join(missing)}")
    cmd = ["cargo", "tree", "--locked", "-e", "normal,build", "--prefix", "none", "-f", "{p} [{f}]"]
    for pkg in sorted({owner[b] for b in bins}):
        cmd += ["-p", pkg]
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        crate = line.split(" ", 1)[0]
        feats = set(line.rsplit("[", 1)[-1].rstrip("]").split(",")) if "[" in line else set()
        if crate in TESTING:
            raise CheckFailed(f"the release build contains the testing crate {crate}")
        if feats & TEST_FEATURES:
            raise CheckFailed(f"the release build has {crate} with {' '.join(sorted(feats & TEST_FEATURES))}")
    print(f"release build: {len(bins)} programs, no testing crate, no test feature")


def main() -> int:
    try:
        pkgs = metadata()["packages"]
        names = {p["name"] for p in pkgs}
        check_layers(pkgs, names)
        check_format_crate(pkgs, names)
        check_console(pkgs, names)
        check_release_build(pkgs)
    except CheckFailed as e:
        print(f"check-layers: {e}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as e:
        print(f"check-layers: {' '.join(e.cmd[:3])} failed: {e.stderr.strip()}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
