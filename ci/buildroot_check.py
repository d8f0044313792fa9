#!/usr/bin/env python3
"""Checks of the Buildroot external tree (buildroot/) that need no Buildroot,
and the generator of the list of Buildroot symbols the tree uses.

    buildroot_check.py check
        What CI runs (ci/check-buildroot.sh): the external tree's Kconfig
        files parse; the defconfigs assign only symbols that exist (the
        committed list, ci/buildroot-symbols.txt, plus the tree's own), with
        values of their type, and name files that exist; each defconfig is
        configs/fragments/common.config joined with its own fragment; the GRUB modules
        are board/appliance/grub-modules; the package keeps Cargo.toml's
        release profile and can vendor every crate of Cargo.lock; the pinned
        versions agree with their hash files; every source of the offline
        build has an origin and a hash (buildroot/mirror/sources.txt, made by
        ci/buildroot-mirror.sh) and that manifest is current.

    buildroot_check.py defconfigs --write
        Joins configs/fragments/common.config with release.config and
        qemu.config into the two defconfigs (Buildroot reads only whole
        defconfigs; the fragments are where they are edited).

    buildroot_check.py symbols BUILDROOT_DIR [--write | --compare]
        Reads a Buildroot source tree with kconfiglib and lists every symbol
        the defconfigs and Config.in files use, with its type and where that
        release defines it (the place to read its help). Fails on a symbol
        the release does not define. --write replaces the committed list,
        --compare fails when it differs.

Needs kconfiglib (Debian: python3-kconfiglib).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

try:
    import kconfiglib
except ImportError:
    sys.exit("buildroot_check: needs kconfiglib (apt-get install python3-kconfiglib; then run it with /usr/bin/python3)")

REPO = Path(__file__).resolve().parent.parent
EXTERNAL = REPO / "buildroot"
EXTERNAL_NAME = "APPLIANCE"
SYMBOLS_FILE = REPO / "ci" / "buildroot-symbols.txt"
DEFCONFIGS = sorted((EXTERNAL / "configs").glob("*_defconfig"))
HARDWARE_DEFCONFIG = EXTERNAL / "configs" / "appliance_x86_64_defconfig"
QEMU_DEFCONFIG = EXTERNAL / "configs" / "appliance_qemu_x86_64_defconfig"
PACKAGE_MK = EXTERNAL / "package" / "appliance-services" / "appliance-services.mk"
FRAGMENTS = EXTERNAL / "configs" / "fragments"
# Each defconfig is fragments/common.config joined with its own fragment.
VARIANTS = {HARDWARE_DEFCONFIG: "release.config", QEMU_DEFCONFIG: "qemu.config"}

ASSIGNMENT = re.compile(r"^(BR2_[A-Za-z0-9_]+)=(.*)$")
UNSET = re.compile(r"^# (BR2_[A-Za-z0-9_]+) is not set$")


class CheckFailed(Exception):
    """A check found a problem; the message says which."""


# --- reading the tree's files ------------------------------------------------


def read_defconfig(path: Path) -> dict[str, str]:
    """Symbol -> value ("n" for "is not set"), in file order."""
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if m := ASSIGNMENT.match(line):
            name, value = m.group(1), m.group(2)
        elif m := UNSET.match(line):
            name, value = m.group(1), "n"
        elif not line or line.startswith("#"):
            continue
        else:
            raise CheckFailed(f"{path}:{number}: not a defconfig line: {line}")
        if name in values:
            raise CheckFailed(f"{path}:{number}: {name} is assigned twice")
        values[name] = value
    return values


def unquote(value: str) -> str:
    if len(value) < 2 or not (value.startswith('"') and value.endswith('"')):
        raise CheckFailed(f"not a quoted string: {value}")
    return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")


def make_variable(path: Path, name: str) -> str:
    """The value of NAME in a makefile, joined across continuation lines."""
    text = path.read_text().replace("\\\n", " ")
    m = re.search(rf"^{re.escape(name)}\s*[:?]?=\s*(.*)$", text, re.MULTILINE)
    if not m:
        raise CheckFailed(f"{path}: no {name}")
    return " ".join(m.group(1).split())


def buildroot_release() -> str:
    """The release the symbol list was made from (its first line)."""
    first = SYMBOLS_FILE.read_text().splitlines()[0]
    m = re.match(r"# Buildroot (\S+) ", first)
    if not m:
        raise CheckFailed(f"{SYMBOLS_FILE}: the first line names no Buildroot release")
    return m.group(1)


def symbol_list() -> dict[str, str]:
    """Symbol -> Kconfig type name, from the committed list."""
    symbols = {}
    for line in SYMBOLS_FILE.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, kind, _where = line.split()
        symbols[name] = kind
    return symbols


# --- Kconfig -------------------------------------------------------------------


def kconfig_env(base_dir: Path | None = None) -> dict[str, str]:
    env = {
        f"BR2_EXTERNAL_{EXTERNAL_NAME}_PATH": str(EXTERNAL),
        "BR2_VERSION_FULL": "stub",
        "HOSTARCH": "x86_64",
        "HOST_GCC_VERSION": "12",
        "BR2_HIDE_SECONDARY_TARGET_OPTIONS": "",
        "BR2_DEFCONFIG_FROM_ENV": "",
        "BR2_SKIP_LEGACY": "",
    }
    if base_dir is not None:
        env["BASE_DIR"] = env["BR2_BASE_DIR"] = str(base_dir)
    return env


def parse_kconfig(top: Path, srctree: Path, env: dict[str, str]) -> kconfiglib.Kconfig:
    saved = dict(os.environ)
    os.environ.update(env)
    os.environ["srctree"] = str(srctree)
    try:
        return kconfiglib.Kconfig(str(top), warn=True, warn_to_stderr=False)
    except kconfiglib.KconfigError as e:
        raise CheckFailed(f"Kconfig does not parse: {e}") from e
    finally:
        os.environ.clear()
        os.environ.update(saved)


def external_kconfig_stub(listed: dict[str, str], workdir: Path) -> kconfiglib.Kconfig:
    """The external tree's Config.in under a stub top level that declares the
    listed Buildroot symbols (what Buildroot itself would define)."""
    lines = ['mainmenu "Buildroot symbols (stub) and the appliance tree"', ""]
    for name, kind in sorted(listed.items()):
        lines += [f"config {name}", f"\t{kind}", ""]
    lines += ['menu "External options"', f'source "$BR2_EXTERNAL_{EXTERNAL_NAME}_PATH/Config.in"', "endmenu"]
    top = workdir / "Config.in"
    top.write_text("\n".join(lines) + "\n")
    return parse_kconfig(top, workdir, kconfig_env())


def external_symbols(kconf: kconfiglib.Kconfig) -> set[str]:
    """Symbols defined by the external tree's own Kconfig files."""
    return {
        sym.name
        for sym in kconf.unique_defined_syms
        if any(Path(node.filename).resolve().is_relative_to(EXTERNAL) for node in sym.nodes)
    }


def referenced_symbols(kconf: kconfiglib.Kconfig) -> set[str]:
    """Every symbol the external tree's Kconfig files refer to."""
    names = set()
    for node in kconf.node_iter():
        if not Path(node.filename).resolve().is_relative_to(EXTERNAL):
            continue
        for item in node.referenced:
            if isinstance(item, kconfiglib.Symbol) and not item.is_constant:
                names.add(item.name)
    return names


# --- the checks (no Buildroot needed) -------------------------------------------


def check_kconfig(listed: dict[str, str]) -> set[str]:
    """The external Config.in files parse and refer only to known symbols.
    Returns the symbols the external tree defines."""
    with tempfile.TemporaryDirectory() as tmp:
        kconf = external_kconfig_stub(listed, Path(tmp))
    if kconf.warnings:
        raise CheckFailed("Kconfig warnings:\n  " + "\n  ".join(kconf.warnings))
    own = external_symbols(kconf)
    unknown = sorted(referenced_symbols(kconf) - own - set(listed))
    if unknown:
        raise CheckFailed(
            f"the external Config.in files use symbols not in {SYMBOLS_FILE.name}: {', '.join(unknown)} "
            "(a typo, or regenerate the list: ci/buildroot_check.py symbols BUILDROOT_DIR --write)"
        )
    print(f"Kconfig: the external tree parses; it defines {len(own)} symbols")
    return own


def check_value(name: str, kind: str, value: str) -> None:
    if value == "n":
        if kind != "bool":
            raise CheckFailed(f"{name} is {kind}: it cannot be 'not set'")
    elif kind == "bool":
        if value != "y":
            raise CheckFailed(f"{name} is bool: {value} is not y")
    elif kind == "string":
        unquote(value)
    elif kind in ("int", "hex"):
        if not re.fullmatch(r"-?[0-9]+" if kind == "int" else r"0x[0-9a-fA-F]+", value):
            raise CheckFailed(f"{name} is {kind}: {value} is not")
    else:
        raise CheckFailed(f"{name}: unexpected type {kind}")


def check_paths(defconfig: Path, values: dict[str, str]) -> int:
    """Every path into the repository a string value names exists."""
    count = 0
    marker = f"$(BR2_EXTERNAL_{EXTERNAL_NAME}_PATH)"
    for name, value in values.items():
        if marker not in value:
            continue
        for word in unquote(value).split():
            if marker not in word:
                continue  # Buildroot's own file (system/device_table.txt)
            path = Path(word.replace(marker, str(EXTERNAL)))
            if not path.exists():
                raise CheckFailed(f"{defconfig.name}: {name} names {word}, which does not exist")
            count += 1
    return count


def check_defconfigs(listed: dict[str, str], own: set[str]) -> dict[Path, dict[str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        kconf = external_kconfig_stub(listed, Path(tmp))
    all_values = {}
    for defconfig in DEFCONFIGS:
        values = read_defconfig(defconfig)
        for name, value in values.items():
            if name not in listed and name not in own:
                raise CheckFailed(
                    f"{defconfig.name}: {name} is neither a Buildroot {buildroot_release()} symbol "
                    f"listed in {SYMBOLS_FILE.name} nor the external tree's (a typo, or regenerate the list)"
                )
            kind = listed.get(name) or kconfiglib.TYPE_TO_STR[kconf.syms[name].orig_type]
            try:
                check_value(name, kind, value)
            except CheckFailed as e:
                raise CheckFailed(f"{defconfig.name}: {e}") from e
        paths = check_paths(defconfig, values)
        print(f"{defconfig.name}: {len(values)} symbols, all known, {paths} paths into the repository exist")
        all_values[defconfig] = values
    if set(all_values) != {HARDWARE_DEFCONFIG, QEMU_DEFCONFIG}:
        raise CheckFailed(f"expected the defconfigs {HARDWARE_DEFCONFIG.name} and {QEMU_DEFCONFIG.name}")
    return all_values


def check_defconfig_pair(values: dict[Path, dict[str, str]]) -> None:
    """What the two fragments must say: the QEMU image is the release one
    plus the test overlay and the test builds of the Rust programs (what
    else they share, common.config holds)."""
    hw, qemu = values[HARDWARE_DEFCONFIG], values[QEMU_DEFCONFIG]
    if "BR2_PACKAGE_APPLIANCE_SERVICES_TEST_BUILDS" in hw:
        raise CheckFailed(f"{HARDWARE_DEFCONFIG.name}: a release image never has the test builds")
    if qemu.get("BR2_PACKAGE_APPLIANCE_SERVICES_TEST_BUILDS") != "y":
        raise CheckFailed(f"{QEMU_DEFCONFIG.name}: the test image needs BR2_PACKAGE_APPLIANCE_SERVICES_TEST_BUILDS=y")
    want = unquote(hw.get("BR2_ROOTFS_OVERLAY", '""')).split() + [f"$(BR2_EXTERNAL_{EXTERNAL_NAME}_PATH)/../board/appliance/test-overlay"]
    if unquote(qemu.get("BR2_ROOTFS_OVERLAY", '""')).split() != want:
        raise CheckFailed(f"{QEMU_DEFCONFIG.name}: BR2_ROOTFS_OVERLAY should be {' '.join(want)}")
    print("defconfigs: the QEMU one has the release one's overlay, the test overlay and the test builds")


def grub_modules() -> dict[str, list[str]]:
    lists = {}
    for line in (REPO / "board" / "appliance" / "grub-modules").read_text().splitlines():
        if m := re.match(r"^(common|pc|efi):\s*(.*)$", line):
            lists[m.group(1)] = m.group(2).split()
    if set(lists) != {"common", "pc", "efi"}:
        raise CheckFailed("board/appliance/grub-modules: expected the lines common:, pc: and efi:")
    return lists


def check_grub(values: dict[Path, dict[str, str]]) -> None:
    lists = grub_modules()
    early = f"$(BR2_EXTERNAL_{EXTERNAL_NAME}_PATH)/../board/appliance/grub-early.cfg"
    for defconfig, v in values.items():
        for platform in ("pc", "efi"):
            suffix = platform.upper()
            want = lists["common"] + lists[platform]
            got = unquote(v.get(f"BR2_TARGET_GRUB2_BUILTIN_MODULES_{suffix}", '""')).split()
            if got != want:
                raise CheckFailed(
                    f"{defconfig.name}: BR2_TARGET_GRUB2_BUILTIN_MODULES_{suffix} is not board/appliance/grub-modules' "
                    f"common + {platform} list:\n  defconfig: {' '.join(got)}\n  wanted:    {' '.join(want)}"
                )
            config = unquote(v.get(f"BR2_TARGET_GRUB2_BUILTIN_CONFIG_{suffix}", '""'))
            if config != early:
                raise CheckFailed(f"{defconfig.name}: BR2_TARGET_GRUB2_BUILTIN_CONFIG_{suffix} should be {early}")
    print("GRUB: both images have board/appliance/grub-modules and grub-early.cfg built in")


def squashfs_options() -> list[str]:
    path = REPO / "board" / "appliance" / "squashfs-options"
    return [w for line in path.read_text().splitlines() if not line.startswith("#") for w in line.split()]


def check_squashfs(values: dict[Path, dict[str, str]]) -> None:
    """Buildroot's fs/squashfs/squashfs.mk turns the symbols into options:
    the compressor, the block size, and with EXTREME_COMP xz's branch filter."""
    want = squashfs_options()
    blocks = {"1M": "1024K", "512K": "512K", "256K": "256K", "128K": "128K"}
    for defconfig, v in values.items():
        comps = [c for c in ("GZIP", "LZ4", "LZMA", "LZO", "XZ", "ZSTD") if v.get(f"BR2_TARGET_ROOTFS_SQUASHFS4_{c}") == "y"]
        got = ["-comp", comps[0].lower() if comps else "gzip"]
        size = next((b for b, s in blocks.items() if v.get(f"BR2_TARGET_ROOTFS_SQUASHFS_BS_{s}") == "y"), "128K")
        got += ["-b", size]
        if got[1] == "xz" and v.get("BR2_TARGET_ROOTFS_SQUASHFS_EXTREME_COMP") == "y":
            got += ["-Xbcj", "x86"]
        if got != want:
            raise CheckFailed(
                f"{defconfig.name}: the root file system's squashfs options are not board/appliance/squashfs-options':\n"
                f"  defconfig: {' '.join(got)}\n  wanted:    {' '.join(want)}"
            )
    print(f"squashfs: both builds compress the root with {' '.join(want)} (board/appliance/squashfs-options)")


def check_cargo_profile() -> None:
    """appliance-services.mk reads Cargo.toml's release profile right.

    The package reads the values with sed (Buildroot's cargo
    infrastructure overrides them in the environment); here GNU make runs
    the package's own reader and the result is compared with tomllib's.
    """
    profile = tomllib.loads((REPO / "Cargo.toml").read_text()).get("profile", {}).get("release", {})
    text = PACKAGE_MK.read_text().replace("\\\n", " ")
    m = re.search(r"^appliance-services-profile = .*$", text, re.MULTILINE)
    if not m:
        raise CheckFailed(f"{PACKAGE_MK.name}: no appliance-services-profile reader")
    keys = ("opt-level", "lto", "codegen-units")
    makefile = "\n".join(
        [f"APPLIANCE_SERVICES_SITE = {REPO}", m.group(0), "all:"]
        + [f"\t@echo '{k}=$(call appliance-services-profile,{k})'" for k in keys]
    )
    out = subprocess.run(["make", "-s", "-f", "-"], input=makefile, text=True, capture_output=True, check=False)
    if out.returncode != 0:
        raise CheckFailed(f"{PACKAGE_MK.name}: its profile reader failed under make: {out.stderr.strip()}")
    got = dict(line.split("=", 1) for line in out.stdout.splitlines())
    for key in keys:
        if got.get(key) != str(profile.get(key)):
            raise CheckFailed(
                f"{PACKAGE_MK.name}: reads {key} = {got.get(key)!r} from Cargo.toml, whose release profile has {profile.get(key)!r}"
            )
    print("cargo: the package reads Cargo.toml's release profile (" + ", ".join(f"{k} {got[k]}" for k in keys) + ")")


CRATES_IO = ("registry+https://github.com/rust-lang/crates.io-index", "sparse+https://index.crates.io/")


def check_lock_sources() -> None:
    """The package replaces only crates.io with the vendored crates: a git or
    other registry dependency would need the network at build time."""
    lock = tomllib.loads((REPO / "Cargo.lock").read_text())
    others = sorted(
        f"{p['name']} {p['version']} ({p['source']})"
        for p in lock.get("package", [])
        if "source" in p and p["source"] not in CRATES_IO
    )
    if others:
        raise CheckFailed(
            "Cargo.lock has crates from elsewhere than crates.io, which the Buildroot package "
            f"does not vendor: {', '.join(others)}"
        )
    print("Cargo.lock: every crate comes from crates.io (the package vendors them)")


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def hashed_files(path: Path) -> set[str]:
    return {line.split()[2] for line in path.read_text().splitlines() if line.startswith("sha256 ")}


def check_versions(values: dict[Path, dict[str, str]]) -> None:
    """The Rust and kernel versions the tree pins have their hashes, and the
    Rust is new enough for the workspace."""
    rust = make_variable(EXTERNAL / "package-override.mk", "override RUST_BIN_VERSION")
    needed = tomllib.loads((REPO / "Cargo.toml").read_text()).get("workspace", {}).get("package", {}).get("rust-version")
    if not needed:
        raise CheckFailed("Cargo.toml: no workspace.package.rust-version")
    if version_tuple(rust) < version_tuple(needed):
        raise CheckFailed(f"package-override.mk selects Rust {rust}, the workspace needs {needed}")
    rust_hashes = hashed_files(EXTERNAL / "patches" / "rust-bin" / "rust-bin.hash")
    for tarball in (f"rust-{rust}-x86_64-unknown-linux-gnu.tar.xz", f"rust-std-{rust}-x86_64-unknown-linux-gnu.tar.xz"):
        if tarball not in rust_hashes:
            raise CheckFailed(f"patches/rust-bin/rust-bin.hash has no hash of {tarball}")
    linux_hashes = hashed_files(EXTERNAL / "patches" / "linux" / "linux.hash")
    for defconfig, v in values.items():
        if "BR2_LINUX_KERNEL_CUSTOM_VERSION_VALUE" not in v:
            raise CheckFailed(f"{defconfig.name}: no BR2_LINUX_KERNEL_CUSTOM_VERSION_VALUE (the pinned kernel)")
        kernel = unquote(v["BR2_LINUX_KERNEL_CUSTOM_VERSION_VALUE"])
        if f"linux-{kernel}.tar.xz" not in linux_hashes:
            raise CheckFailed(f"{defconfig.name}: patches/linux/linux.hash has no hash of linux-{kernel}.tar.xz")
        if v.get("BR2_PACKAGE_OVERRIDE_FILE") != f'"$(BR2_EXTERNAL_{EXTERNAL_NAME}_PATH)/package-override.mk"':
            raise CheckFailed(f"{defconfig.name}: BR2_PACKAGE_OVERRIDE_FILE must name package-override.mk (Rust {rust})")
    release = buildroot_release()
    for path in [*values, REPO / "README.md"]:
        if f"Buildroot {release}" not in path.read_text():
            raise CheckFailed(f"{path.name} does not name the pinned release, Buildroot {release}")
    print(f"versions: Buildroot {release}, Rust {rust} (the workspace needs {needed}), Linux {kernel}, hashes present")


# --- the offline build's sources (ci/buildroot-mirror.sh) ------------------------

MANIFEST = EXTERNAL / "mirror" / "sources.txt"
DEBIAN_SOURCES = EXTERNAL / "debian-sources"
FINGERPRINT_FILES = (
    "buildroot/package-override.mk",
    "buildroot/debian-sources/debian-sources.mk",
    "buildroot/debian-sources/debian-sources.config",
    "buildroot/mirror/members.txt",
)
ORIGIN = re.compile(r"^(debian:[a-z0-9][a-z0-9.+-]*=[A-Za-z0-9.+~:-]+(:\S+)?|pypi|pinned|crates\.io)$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def mirror_fingerprint(release: str) -> str:
    """What decides which sources the defconfigs need: the release, the
    defconfigs' values and the files that swap sources. The same as
    ci/buildroot-mirror.sh writes into the manifest."""
    h = hashlib.sha256()
    h.update(release.encode() + b"\n")
    for defconfig in DEFCONFIGS:
        lines = [line for line in defconfig.read_text().splitlines() if line.startswith(("BR2_", "# BR2_"))]
        h.update(defconfig.name.encode() + b"\n" + "\n".join(sorted(lines)).encode() + b"\n")
    for name in FINGERPRINT_FILES:
        h.update(name.encode() + b"\n" + (REPO / name).read_bytes())
    return h.hexdigest()


def check_mirror() -> None:
    """Every source the defconfigs need (with the Debian substitutes on) has
    an origin and a sha256 in buildroot/mirror/sources.txt, the manifest is
    the one for the current defconfigs and overrides, and the substitutes'
    hash files agree with it: what CI can tell without Buildroot or network
    (ci/buildroot-mirror.sh makes the manifest with both)."""
    stale = "run ci/buildroot-mirror.sh and commit buildroot/mirror and buildroot/debian-sources"
    if not MANIFEST.exists():
        raise CheckFailed(f"no {MANIFEST.relative_to(REPO)}: {stale}")
    header: dict[str, str] = {}
    rows: dict[str, tuple[str, str, str]] = {}
    for n, line in enumerate(MANIFEST.read_text().splitlines(), 1):
        where = f"{MANIFEST.relative_to(REPO)}:{n}"
        if line.startswith("# ") and ": " in line:
            key, _, value = line[2:].partition(": ")
            header[key] = value
            continue
        if not line or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 4:
            raise CheckFailed(f"{where}: not 4 tab-separated fields (packages, file, origin, sha256)")
        packages, name, origin, digest = fields
        if not ORIGIN.match(origin):
            raise CheckFailed(f"{where}: {name} has no known origin ({origin!r})")
        if not SHA256.match(digest):
            raise CheckFailed(f"{where}: {name} has no sha256")
        if name in rows:
            raise CheckFailed(f"{where}: {name} is listed twice")
        rows[name] = (packages, origin, digest)
    listed = header.get("defconfigs", "").split()
    if listed != [d.name for d in DEFCONFIGS]:
        raise CheckFailed(f"{MANIFEST.name} is for {listed}, not every defconfig: {stale}")
    release = buildroot_release()
    if header.get("fingerprint") != mirror_fingerprint(release):
        raise CheckFailed(f"{MANIFEST.name} is stale (the defconfigs or the source overrides changed since): {stale}")
    # The vendored crates are those of the workspace's Cargo.lock.
    lock = hashlib.sha256((REPO / "Cargo.lock").read_bytes()).hexdigest()
    vendored = [d for (p, o, d) in rows.values() if p == "appliance-services" and o == "crates.io"]
    if vendored != [lock]:
        raise CheckFailed(
            f"{MANIFEST.name}: the vendored crates are not those of Cargo.lock (a crate changed since): "
            "run ci/buildroot-mirror.sh --crates and commit buildroot/mirror/sources.txt"
        )
    # Every substitute the overrides name is in the manifest...
    overrides = DEBIAN_SOURCES / "debian-sources.mk"
    named = re.findall(r"^override ([A-Z0-9_]+)_SOURCE = (\S+)$", overrides.read_text(), re.MULTILINE)
    unused = [f"{name} ({var}_SOURCE)" for var, name in named if name not in rows]
    if unused:
        raise CheckFailed(f"debian-sources.mk names sources no defconfig needs, or the manifest lacks: {', '.join(unused)}; {stale}")
    # ... and its hash file says what the manifest says, with a reason.
    hashed = 0
    for hash_file in sorted((DEBIAN_SOURCES / "patches").glob("*/*.hash")):
        text = hash_file.read_text()
        if not text.startswith("#"):
            raise CheckFailed(f"{hash_file.relative_to(REPO)}: no comment saying where the hash comes from")
        for line in text.splitlines():
            fields = line.split()
            if len(fields) != 3 or fields[0] != "sha256":
                continue
            _, digest, name = fields
            if name not in rows:
                raise CheckFailed(f"{hash_file.relative_to(REPO)}: {name} is in no defconfig's sources (a stale hash?)")
            if rows[name][2] != digest:
                raise CheckFailed(f"{hash_file.relative_to(REPO)}: {name} has another sha256 than the manifest's")
            hashed += 1
    origins: dict[str, int] = {}
    for _, origin, _ in rows.values():
        kind = origin.split(":")[0]
        origins[kind] = origins.get(kind, 0) + 1
    summary = ", ".join(f"{count} {kind}" for kind, count in sorted(origins.items()))
    print(f"mirror: {len(rows)} sources of {len(listed)} defconfigs have an origin and a sha256 ({summary}); "
          f"{len(named)} substitutes, {hashed} hashes agree")


def run_checks() -> None:
    listed = symbol_list()
    own = check_kconfig(listed)
    check_fragments()
    values = check_defconfigs(listed, own)
    check_defconfig_pair(values)
    check_grub(values)
    check_squashfs(values)
    check_cargo_profile()
    check_lock_sources()
    check_versions(values)
    check_mirror()


# --- the defconfigs, joined from their fragments --------------------------------


def leading_comments(lines: list[str]) -> tuple[list[str], list[str]]:
    """The comment block a file opens with, and the rest without the blank
    lines that separate them."""
    i = 0
    while i < len(lines) and lines[i].startswith("#"):
        i += 1
    rest = lines[i:]
    while rest and not rest[0].strip():
        rest = rest[1:]
    return lines[:i], rest


def joined_defconfig(variant: str) -> str:
    """The variant's opening comment, then what both images have, then what
    only this one has."""
    _, common = leading_comments((FRAGMENTS / "common.config").read_text().splitlines())
    header, own = leading_comments((FRAGMENTS / variant).read_text().splitlines())
    note = [
        "#",
        "# Made by ci/buildroot_check.py defconfigs --write from configs/fragments/",
        f"# common.config and {variant}: edit those, not this file.",
        "",
    ]
    return "\n".join(header + note + common + [""] + own) + "\n"


def check_fragments() -> None:
    common = read_defconfig(FRAGMENTS / "common.config")
    for defconfig, variant in VARIANTS.items():
        twice = sorted(set(common) & set(read_defconfig(FRAGMENTS / variant)))
        if twice:
            raise CheckFailed(f"configs/fragments/{variant} sets what common.config sets: {', '.join(twice)}")
        if defconfig.read_text() != joined_defconfig(variant):
            raise CheckFailed(
                f"{defconfig.name} is not common.config joined with {variant}: edit configs/fragments/ "
                "and run ci/buildroot_check.py defconfigs --write"
            )
    print("defconfigs: each is configs/fragments/common.config joined with its own fragment")


def write_defconfigs() -> None:
    for defconfig, variant in VARIANTS.items():
        text = joined_defconfig(variant)
        if defconfig.read_text() != text:
            defconfig.write_text(text)
            print(f"wrote {defconfig.relative_to(REPO)}")
        else:
            print(f"{defconfig.relative_to(REPO)} is current")


# --- the symbol list, from a Buildroot tree ------------------------------------------


def buildroot_version(buildroot: Path) -> str:
    m = re.search(r"^export BR2_VERSION := (\S+)$", (buildroot / "Makefile").read_text(), re.MULTILINE)
    if not m:
        raise CheckFailed(f"{buildroot}/Makefile: no BR2_VERSION")
    return m.group(1)


def write_external_includes(base: Path) -> None:
    """What Buildroot's support/scripts/br2-external writes for this tree."""
    for item in ("paths", "menus", "toolchains", "jpeg", "openssl", "skeleton", "init", "linux"):
        (base / f".br2-external.in.{item}").write_text("")
    (base / ".br2-external.in.paths").write_text(
        f'config BR2_EXTERNAL_NAMES\n\tstring\n\tdefault "{EXTERNAL_NAME}"\n\n'
        f'config BR2_EXTERNAL_{EXTERNAL_NAME}_PATH\n\tstring\n\tdefault "{EXTERNAL}"\n'
    )
    (base / ".br2-external.in.menus").write_text(
        f'menu "External options"\nsource "{EXTERNAL}/Config.in"\nendmenu\n'
    )


def symbols(buildroot: Path, mode: str | None) -> None:
    version = buildroot_version(buildroot)
    with tempfile.TemporaryDirectory() as tmp:
        write_external_includes(Path(tmp))
        kconf = parse_kconfig(buildroot / "Config.in", buildroot, kconfig_env(Path(tmp)))
    own = external_symbols(kconf)
    used = referenced_symbols(kconf) - own
    for defconfig in DEFCONFIGS:
        used |= set(read_defconfig(defconfig)) - own
    lines = [
        f"# Buildroot {version} symbols the external tree uses (defconfigs, Config.in): name, type,",
        "# where that release defines it (its help there is the reference). Made by",
        "# ci/buildroot_check.py symbols BUILDROOT_DIR --write; checked by ci/check-buildroot.sh.",
    ]
    missing = []
    for name in sorted(used):
        sym = kconf.syms.get(name)
        if sym is None or not sym.nodes:
            missing.append(name)
            continue
        node = sym.nodes[0]
        where = Path(node.filename)
        where = where.relative_to(buildroot) if where.is_absolute() else where
        lines.append(f"{name} {kconfiglib.TYPE_TO_STR[sym.orig_type]} {where}:{node.linenr}")
    if missing:
        raise CheckFailed(f"Buildroot {version} does not define: {', '.join(missing)}")
    text = "\n".join(lines) + "\n"
    if mode == "write":
        SYMBOLS_FILE.write_text(text)
        print(f"wrote {SYMBOLS_FILE} ({len(used)} symbols of Buildroot {version})")
    elif mode == "compare":
        if SYMBOLS_FILE.read_text() != text:
            raise CheckFailed(f"{SYMBOLS_FILE} is not what Buildroot {version} gives; regenerate it with --write")
        print(f"{SYMBOLS_FILE.name}: the {len(used)} symbols are as Buildroot {version} defines them")
    else:
        sys.stdout.write(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="the checks CI runs")
    joined = sub.add_parser("defconfigs", help="join configs/fragments/ into the defconfigs")
    joined.add_argument("--write", action="store_true", required=True)
    gen = sub.add_parser("symbols", help="list the Buildroot symbols the tree uses")
    gen.add_argument("buildroot", type=Path, help="a Buildroot source tree")
    mode = gen.add_mutually_exclusive_group()
    mode.add_argument("--write", dest="mode", action="store_const", const="write")
    mode.add_argument("--compare", dest="mode", action="store_const", const="compare")
    args = parser.parse_args()
    try:
        if args.command == "check":
            run_checks()
        elif args.command == "defconfigs":
            write_defconfigs()
        else:
            symbols(args.buildroot.resolve(), args.mode)
    except (CheckFailed, OSError, ValueError, tomllib.TOMLDecodeError) as e:
        print(f"buildroot_check: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
