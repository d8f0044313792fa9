#!/usr/bin/env bash
# Fills a Buildroot download folder for the appliance defconfigs without the
# upstream download sites (unreachable here): from Debian's source packages,
# PyPI and the Rust distribution site, and writes what that needed into the
# repository:
#
#  - buildroot/debian-sources/patches/<pkg>/<pkg>.hash: the hash of each
#    substituted file (a Debian tarball under its own name, which the
#    overrides in buildroot/debian-sources/debian-sources.mk name), taken
#    from Debian's signed indexes;
#  - buildroot/mirror/sources.txt: every source file the defconfigs need,
#    with its origin and sha256 (ci/buildroot_check.py checks it in CI).
#
# Byte-identical files (Debian's .orig tarball has Buildroot's hash) are
# copied under Buildroot's name and need nothing else. A re-run with nothing
# changed downloads nothing and rewrites nothing.
#
#   ci/buildroot-mirror.sh [--buildroot DIR] [--dl DIR] [--state DIR]
#                          [--tools DIR] [--update] [DEFCONFIG...]
#   ci/buildroot-mirror.sh --candidates SRCPKG...
#   ci/buildroot-mirror.sh --crates [--dl DIR] [--state DIR]
#
# --buildroot: Buildroot 2026.02.3 source tree (default /work/br/buildroot-2026.02.3)
# --dl: the download folder to fill (default /work/br/dl)
# --state: private apt configuration, indexes and work files
#   (default /work/br/mirror-state)
# --tools: host tools Debian 12 lacks, built from Debian's sources: GNU tar
#   1.35 (Buildroot 2026.02 wants it; default /work/br/tools)
# --update: refresh Debian's indexes (otherwise only fetched when missing)
# DEFCONFIG: default every buildroot/configs/*_defconfig
# --candidates: list the versions of these Debian source packages and
#   whether the archive still serves their .orig tarball (to choose a
#   substitute), and do nothing else
# --crates: only the workspace's crates (a crate added or bumped changes
#   Cargo.lock, nothing else): vendor them into the download folder and
#   refresh their row of sources.txt; needs neither Buildroot nor Debian
set -euo pipefail
shopt -s inherit_errexit
. "$(dirname "$0")/lib.sh"

BUILDROOT=/work/br/buildroot-2026.02.3
DL=/work/br/dl
STATE=/work/br/mirror-state
TOOLS=/work/br/tools
UPDATE=0
CRATES_ONLY=0
DEFCONFIGS=()
CANDIDATES=()
while [ $# -gt 0 ]; do
	case "$1" in
	--buildroot) BUILDROOT=$2; shift 2 ;;
	--dl) DL=$2; shift 2 ;;
	--state) STATE=$2; shift 2 ;;
	--tools) TOOLS=$2; shift 2 ;;
	--update) UPDATE=1; shift ;;
	--crates) CRATES_ONLY=1; shift ;;
	--candidates) shift; CANDIDATES=("$@"); set -- ;;
	-h | --help)
		sed -n '2,36s/^# \{0,1\}//p' "$0"
		exit 0
		;;
	-*) die "unknown option $1 (see --help)" ;;
	*) DEFCONFIGS+=("$1"); shift ;;
	esac
done
# The workspace's crates, vendored as buildroot/package/appliance-services
# would at "make source" (same folder name and stamp, so the offline build
# finds them and does not try crates.io).
vendor_crates() {
	local lock_id vendor
	lock_id=$(sha256sum "$REPO/Cargo.lock" | cut -c1-16)
	vendor=$DL/appliance-services/vendor-$lock_id
	[ -f "$vendor/.stamp_vendored" ] && return 0
	note "cargo vendor into $vendor"
	require_tools cargo:cargo
	rm -rf "$vendor.tmp"
	mkdir -p "$DL/appliance-services" "$STATE"
	(cd "$REPO" && cargo vendor --locked --versioned-dirs --manifest-path Cargo.toml "$vendor.tmp") \
		>"$STATE/vendor.log" 2>&1 || { tail -n 20 "$STATE/vendor.log" >&2; die "cargo vendor failed"; }
	touch "$vendor.tmp/.stamp_vendored"
	mv "$vendor.tmp" "$vendor"
}

if [ "$CRATES_ONLY" = 1 ]; then
	vendor_crates
	# The row mirror_py writes for them (the same fields, in place).
	lock=$(sha256sum "$REPO/Cargo.lock" | cut -d' ' -f1)
	manifest=$REPO/buildroot/mirror/sources.txt
	grep -q '^appliance-services	' "$manifest" ||
		die "$manifest has no row for the crates: run ci/buildroot-mirror.sh in full"
	sed -i "s/^appliance-services	.*/appliance-services	vendor-${lock:0:16}	crates.io	$lock/" "$manifest"
	note "crates vendored; their row of buildroot/mirror/sources.txt is Cargo.lock's ${lock:0:16}"
	exit 0
fi

[ -f "$BUILDROOT/Makefile" ] || die "no Buildroot tree in $BUILDROOT (see docs/buildroot.md)"
if [ ${#DEFCONFIGS[@]} -eq 0 ]; then
	for f in "$REPO"/buildroot/configs/*_defconfig; do DEFCONFIGS+=("$(basename "$f")"); done
fi
require_tools apt-get:apt curl:curl python3:python3 make:make
mkdir -p "$DL" "$STATE"
DL=$(cd "$DL" && pwd)
STATE=$(cd "$STATE" && pwd)

# --- a private apt: its own sources, lists and cache; the machine's is untouched
APT=$STATE/apt
mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$APT/preferences.d"
touch "$APT/status"
cat >"$APT/apt.conf.new" <<EOF
Dir::Etc::SourceList "$APT/sources.list";
Dir::Etc::SourceParts "$APT/sources.list.d";
Dir::Etc::Preferences "$APT/preferences";
Dir::Etc::PreferencesParts "$APT/preferences.d";
Dir::State "$APT";
Dir::State::Lists "$APT/lists";
Dir::State::status "$APT/status";
Dir::Cache "$APT/cache";
Debug::NoLocking "true";
APT::Sandbox::User "$(id -un)";
EOF
# The machine's Debian mirrors (the same hosts, so what works for its apt
# works here), with source indexes for the releases whose versions
# Buildroot's pins are nearest: bookworm (the machine's) with backports,
# trixie and sid.
# shellcheck disable=SC2016 # apt's own $(...) format, not the shell's
mapfile -t uris < <(apt-get indextargets --format '$(REPO_URI)' 'Identifier: Packages' 2>/dev/null |
	grep -E '/debian(-security)?/$' | sort -u)
[ ${#uris[@]} -gt 0 ] || die "the machine's apt has no Debian archive to mirror"
{
	for uri in "${uris[@]}"; do
		case "$uri" in
		*-security/) suites="bookworm-security trixie-security" ;;
		*) suites="bookworm bookworm-updates bookworm-backports trixie trixie-updates sid" ;;
		esac
		for s in $suites; do
			echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $s main non-free-firmware"
			# Firmware has no source package the archive serves here, but
			# its binary packages carry the files themselves.
			echo "deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $s non-free-firmware"
		done
	done
} >"$APT/sources.list.new"
mkdir -p "$APT/sources.list.d"
changed=0
for f in apt.conf sources.list; do
	if ! cmp -s "$APT/$f.new" "$APT/$f"; then
		mv "$APT/$f.new" "$APT/$f"
		changed=1
	else
		rm -f "$APT/$f.new"
	fi
done
export APT_CONFIG=$APT/apt.conf
if [ "$UPDATE" = 1 ] || [ "$changed" = 1 ] || ! compgen -G "$APT/lists/*Sources*" >/dev/null; then
	note "Debian's source indexes"
	apt-get update -q -o APT::Get::List-Cleanup=true >"$STATE/apt-update.log" 2>&1 ||
		{ tail -n 20 "$STATE/apt-update.log" >&2; die "apt-get update failed"; }
fi

# The work, in Python: the Debian index, the choices, the downloads and the
# manifest.
mirror_py() {
	python3 - "$@" <<'EOF'
import hashlib, json, os, re, shutil, subprocess, sys, tarfile, urllib.parse

repo, buildroot, dl, state = sys.argv[1:5]
defconfigs = sys.argv[5:]
ours = os.path.join(repo, "buildroot/debian-sources/patches")
rules_file = os.path.join(repo, "buildroot/mirror/members.txt")
manifest = os.path.join(repo, "buildroot/mirror/sources.txt")
cache = os.path.join(state, "debian")
os.makedirs(cache, exist_ok=True)


def die(msg):
    sys.exit(f"buildroot-mirror.sh: {msg}")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# Debian's source indexes: every file of every source package, by name and
# by sha256 (apt verified the indexes against the signed Release files).
by_hash, by_name = {}, {}
lists = os.path.join(state, "apt/lists")
for name in sorted(os.listdir(lists)):
    if "_source_Sources" not in name and "_Packages" not in name:
        continue
    suite = name.split("_dists_")[1].split("_")[0]
    base = "http://" + name.split("_dists_")[0].replace("_", "/") + "/"
    text = subprocess.run(["/usr/lib/apt/apt-helper", "cat-file", os.path.join(lists, name)],
                          check=True, capture_output=True, text=True).stdout
    if "_binary-" in name and name.split("_binary-")[1].startswith(("amd64_Packages", "all_Packages")):
        for para in text.split("\n\n"):
            pkg = re.search(r"^Package: (.*)$", para, re.M)
            ver = re.search(r"^Version: (.*)$", para, re.M)
            fn = re.search(r"^Filename: (.*)$", para, re.M)
            digest = re.search(r"^SHA256: (.*)$", para, re.M)
            if pkg and ver and fn and digest:
                entry = {"pkg": pkg.group(1), "version": ver.group(1), "suite": suite,
                         "url": base + fn.group(1), "file": fn.group(1).rsplit("/", 1)[-1],
                         "sha256": digest.group(1)}
                by_hash.setdefault(entry["sha256"], []).append(entry)
                by_name.setdefault(entry["file"], []).append(entry)
        continue
    for para in text.split("\n\n"):
        pkg = re.search(r"^Package: (.*)$", para, re.M)
        ver = re.search(r"^Version: (.*)$", para, re.M)
        dire = re.search(r"^Directory: (.*)$", para, re.M)
        sums = re.search(r"^Checksums-Sha256:\n((?: .*\n?)*)", para, re.M)
        if not (pkg and ver and dire and sums):
            continue
        for line in sums.group(1).strip().split("\n"):
            digest, _size, fname = line.split()
            entry = {"pkg": pkg.group(1), "version": ver.group(1), "suite": suite,
                     "url": base + dire.group(1) + "/" + fname, "file": fname, "sha256": digest}
            # A file can be in several suites (and pools): keep every place.
            by_hash.setdefault(digest, []).append(entry)
            by_name.setdefault(fname, []).append(entry)


class Unavailable(Exception):
    pass


def debian_file(entries):
    """The Debian file, downloaded once into the cache and checked; the
    archive may not serve every file its indexes list (old uploads), so
    every place is tried."""
    first = entries[0]
    path = os.path.join(cache, first["file"])
    if os.path.exists(path) and sha256(path) == first["sha256"]:
        return path
    tmp = path + ".part"
    for entry in entries:
        r = subprocess.run(["curl", "-fsSL", "--retry", "3", "-o", tmp, entry["url"]],
                           capture_output=True, text=True)
        if r.returncode == 0:
            if sha256(tmp) != entry["sha256"]:
                die(f"{entry['url']}: sha256 differs from Debian's index")
            os.replace(tmp, path)
            return path
    raise Unavailable(f"the archive serves none of {', '.join(e['url'] for e in entries)}")


if len(sys.argv) > 5 and sys.argv[5] == "--candidates":
    # Which versions of Debian source packages the archive serves (to
    # choose a substitute): --candidates SRCPKG...
    for name in sys.argv[6:]:
        for fname, entries in sorted(by_name.items()):
            e = entries[0]
            if e["pkg"] != name or not re.search(r"\.orig\.tar\.[a-z0-9]+$", fname):
                continue
            ok = any(subprocess.run(["curl", "-fsI", "-o", "/dev/null", x["url"]]).returncode == 0
                     for x in entries)
            print(f"{name}\t{e['version']}\t{fname}\t{'served' if ok else 'NOT served'}")
    sys.exit(0)


def pypi_same_bytes(src, want):
    """PyPI's site for src when PyPI has a file of that name and hash (some
    projects publish one sdist on both PyPI and their release page)."""
    m = re.match(r"(.+?)-[0-9][^-]*\.(tar\.gz|tar\.xz|tar\.bz2|zip)$", src)
    if not m:
        return None
    r = subprocess.run(["curl", "-fsSL", f"https://pypi.org/simple/{m.group(1)}/"],
                       capture_output=True, text=True)
    for href in re.findall(r'href="([^"]+)"', r.stdout):
        url, _, frag = href.partition("#")
        if url.rsplit("/", 1)[-1] == src and frag == f"sha256={want}":
            return "https+" + url.rsplit("/", 1)[0]
    return None


# Members: a file Buildroot wants that is inside a Debian tarball (gcc's
# Debian source carries the upstream tarball, repacked, as a member).
members = {}
if os.path.exists(rules_file):
    for line in open(rules_file):
        line = line.split("#", 1)[0].split()
        if line:
            members[line[0]] = (line[1], line[2])


def hash_lines(path):
    out = {}
    if os.path.exists(path):
        for line in open(path):
            f = line.split()
            if len(f) == 3 and f[0] == "sha256":
                out[f[2]] = f[1]
    return out


needed = {}  # file -> record
for d in defconfigs:
    info = json.load(open(os.path.join(state, f"show-info-{d}.json")))
    for key, pkg in sorted(info.items()):
        for download in pkg.get("downloads", []):
            if download.get("uris", [""])[0].startswith("local+"):
                continue  # built from a folder, nothing to download
            src = download["source"]
            rec = needed.setdefault(src, {"file": src, "dl_dir": pkg["dl_dir"], "pkgs": set(),
                                          "rawnames": set(), "uris": download.get("uris", []),
                                          "hashes": {}, "version": pkg["version"]})
            rec["pkgs"].add(key)
            rec["rawnames"].add(pkg["name"])
            for h in pkg.get("hashes", []):
                p = h if h.startswith("/") else os.path.join(buildroot, h)
                if src in hash_lines(p):
                    rec["hashes"][p] = hash_lines(p)[src]

problems = []
written = []
rows = []
for src, rec in sorted(needed.items()):
    target = os.path.join(dl, rec["dl_dir"], src)
    digests = set(rec["hashes"].values())
    if len(digests) > 1:
        problems.append(f"{src}: hash files disagree ({', '.join(rec['hashes'])})")
        continue
    want = digests.pop() if digests else None
    origin = None
    pypi = next((u for u in rec["uris"] if "files.pythonhosted.org" in u
                 or "static.rust-lang.org" in u), None)
    if want and want in by_hash and not pypi:
        e = by_hash[want][0]
        origin = f"debian:{e['pkg']}={e['version']}"
        fetch = lambda e=by_hash[want]: debian_file(e)
    elif src in by_name and not pypi:
        # A Debian file under its own name: a substitute the overrides chose.
        e = by_name[src][0]
        origin = f"debian:{e['pkg']}={e['version']}"
        fetch = lambda e=by_name[src]: debian_file(e)
        if want is None:
            want = e["sha256"]
            for raw in sorted(rec["rawnames"]):
                path = os.path.join(ours, raw, raw + ".hash")
                if src in hash_lines(path):
                    continue
                os.makedirs(os.path.dirname(path), exist_ok=True)
                new = not os.path.exists(path)
                with open(path, "a") as f:
                    if new:
                        f.write(f"# Debian's sources of {raw} (see ../../debian-sources.mk for why).\n")
                    f.write(f"# From Debian's signed index ({e['suite']}): {e['pkg']} {e['version']}\n")
                    f.write(f"sha256  {want}  {src}\n")
                written.append(path)
        elif want != e["sha256"]:
            problems.append(f"{src}: our hash is not Debian's ({e['pkg']} {e['version']})")
            continue
    elif src in members:
        outer_name, member = members[src]
        if outer_name not in by_name:
            problems.append(f"{src}: {outer_name} is in no Debian index")
            continue
        e = by_name[outer_name][0]
        origin = f"debian:{e['pkg']}={e['version']}:{member}"

        def fetch(e=by_name[outer_name], member=member, src=src):
            outer = debian_file(e)
            tmp = os.path.join(cache, src + ".part")
            with tarfile.open(outer) as t, open(tmp, "wb") as out:
                shutil.copyfileobj(t.extractfile(t.getmember(member)), out)
            return tmp
        if want is None:
            problems.append(f"{src}: a member of {outer_name}, but no hash file has it "
                            f"(add sha256 of the member to buildroot/debian-sources/patches)")
            continue
    else:
        uri = pypi
        if not uri and want:
            uri = pypi_same_bytes(src, want)
        if uri and want:
            url = uri.split("+", 1)[1].rstrip("/") + "/" + urllib.parse.quote(src)
            origin = "pypi" if "pythonhosted" in uri else "pinned"

            def fetch(url=url, src=src):
                tmp = os.path.join(cache, src + ".part")
                subprocess.run(["curl", "-fsSL", "--retry", "3", "-o", tmp, url], check=True)
                return tmp
        else:
            problems.append(f"{src} ({', '.join(sorted(rec['pkgs']))}): no Debian file with "
                            f"its hash, no override naming a Debian file")
            continue
    if not (os.path.exists(target) and sha256(target) == want):
        try:
            got = fetch()
        except (Unavailable, subprocess.CalledProcessError, KeyError, tarfile.TarError) as err:
            problems.append(f"{src}: {origin}: {err}")
            continue
        if sha256(got) != want:
            problems.append(f"{src}: {origin} does not have the expected sha256")
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        tmp = target + ".part"
        shutil.copyfile(got, tmp)
        os.replace(tmp, target)
        print(f"  {rec['dl_dir']}/{src} <- {origin}")
    rows.append((",".join(sorted(rec["pkgs"])), src, origin, want))

# The crates: cargo vendor's folder (the shell part fills it), checked by
# cargo against Cargo.lock's own checksums; the row holds Cargo.lock's hash.
lock = os.path.join(repo, "Cargo.lock")
rows.append(("appliance-services", f"vendor-{sha256(lock)[:16]}", "crates.io", sha256(lock)))


def fingerprint():
    """What decides the list of sources: the release, the defconfigs' values
    and the files that change sources (ci/buildroot_check.py computes the
    same, to tell a stale manifest without Buildroot)."""
    h = hashlib.sha256()
    h.update(open(os.path.join(buildroot, "Makefile")).read().split("export BR2_VERSION := ")[1]
             .split("\n")[0].encode() + b"\n")
    for d in sorted(defconfigs):
        lines = [l for l in open(os.path.join(repo, "buildroot/configs", d)).read().splitlines()
                 if l.startswith(("BR2_", "# BR2_"))]
        h.update(d.encode() + b"\n" + "\n".join(sorted(lines)).encode() + b"\n")
    for f in ("buildroot/package-override.mk", "buildroot/debian-sources/debian-sources.mk",
              "buildroot/debian-sources/debian-sources.config", "buildroot/mirror/members.txt"):
        h.update(f.encode() + b"\n" + open(os.path.join(repo, f), "rb").read())
    return h.hexdigest()


text = ("# Every source file the defconfigs need, with the Debian sources on\n"
        "# (ci/buildroot-mirror.sh writes it; ci/buildroot_check.py checks it).\n"
        f"# defconfigs: {' '.join(sorted(defconfigs))}\n"
        f"# fingerprint: {fingerprint()}\n"
        "# packages\tfile\torigin\tsha256\n"
        + "".join("\t".join(r) + "\n" for r in rows))
# Hashes of substitutes no defconfig needs any more (a version changed):
# drop them with their comment line, and files left without a hash.
if not problems:
    for raw in sorted(os.listdir(ours)) if os.path.isdir(ours) else []:
        path = os.path.join(ours, raw, raw + ".hash")
        if not os.path.exists(path):
            continue
        lines = open(path).read().splitlines()
        keep = []
        for line in lines:
            f = line.split()
            if len(f) == 3 and f[0] == "sha256" and f[2] not in needed:
                if keep and keep[-1].startswith("# From "):
                    keep.pop()
                continue
            keep.append(line)
        if keep != lines:
            if any(l.startswith("sha256") for l in keep):
                with open(path, "w") as f:
                    f.write("\n".join(keep) + "\n")
            else:
                os.remove(path)
                os.rmdir(os.path.dirname(path))
            written.append(path)

old = open(manifest).read() if os.path.exists(manifest) else None
if not problems and old != text:
    os.makedirs(os.path.dirname(manifest), exist_ok=True)
    with open(manifest, "w") as f:
        f.write(text)
    print(f"  wrote {os.path.relpath(manifest, repo)}")
for p in sorted(set(written)):
    print(f"  {'wrote' if os.path.exists(p) else 'removed'} {os.path.relpath(p, repo)}")
if problems:
    print("buildroot-mirror.sh: not every source has an origin:", file=sys.stderr)
    for p in problems:
        print("  " + p, file=sys.stderr)
    sys.exit(1)
print(f"  {len(rows)} source files in place")
EOF
}

if [ ${#CANDIDATES[@]} -gt 0 ]; then
	mirror_py "$REPO" "$BUILDROOT" "$DL" "$STATE" --candidates "${CANDIDATES[@]}"
	exit 0
fi

# --- host tools Debian 12 lacks ---------------------------------------------------
# GNU tar 1.35: with an older tar Buildroot builds its own, from a source
# (tar-1.35.cpio.gz) Debian does not have. Built once from Debian's source.
tar_ok() {
	local v
	v=$("$TOOLS/bin/tar" --version 2>/dev/null | sed -n '1s/.* //p')
	[ -n "$v" ] && [ "$(printf '%s\n' 1.35 "$v" | sort -V | head -n 1)" = 1.35 ]
}
if ! tar_ok; then
	note "GNU tar 1.35 from Debian's source into $TOOLS"
	require_tools gcc:gcc make:make
	src=$STATE/tools-src
	rm -rf "$src"
	mkdir -p "$src"
	got=
	for v in $(apt-cache showsrc --only-source tar | sed -n 's/^Version: //p' | sort -rV); do
		case "$v" in 1.35*) ;; *) continue ;; esac
		if (cd "$src" && apt-get source --download-only -q "tar=$v" >/dev/null 2>&1); then
			got=$v
			break
		fi
	done
	[ -n "$got" ] || die "the archive serves no tar 1.35 source"
	mkdir "$src/tar"
	tar -xf "$src"/tar_*.orig.tar.* -C "$src/tar" --strip-components=1
	(cd "$src/tar" && FORCE_UNSAFE_CONFIGURE=1 ./configure -q --prefix="$TOOLS" --disable-nls &&
		make -s -j"$(nproc)" && make -s install) >"$STATE/tools.log" 2>&1 ||
		{ tail -n 20 "$STATE/tools.log" >&2; die "building tar $got failed"; }
	tar_ok || die "$TOOLS/bin/tar is not 1.35 or newer"
fi
export PATH=$TOOLS/bin:$PATH

# --- what the defconfigs need, as Buildroot sees it with the Debian sources on
# (buildroot/debian-sources/debian-sources.config adds the hash folder, which
# turns the overrides on).
for d in "${DEFCONFIGS[@]}"; do
	[ -f "$REPO/buildroot/configs/$d" ] || die "no defconfig $d in buildroot/configs"
	out=$STATE/cfg-$d
	note "make show-info for $d"
	make -s -C "$BUILDROOT" O="$out" BR2_EXTERNAL="$REPO/buildroot" "$d" >"$STATE/make.log" 2>&1 ||
		{ tail -n 20 "$STATE/make.log" >&2; die "make $d failed"; }
	cat "$REPO/buildroot/debian-sources/debian-sources.config" >>"$out/.config"
	make -s -C "$out" olddefconfig >"$STATE/make.log" 2>&1 ||
		{ tail -n 20 "$STATE/make.log" >&2; die "make olddefconfig ($d) failed"; }
	BR2_DL_DIR=$DL make -s -C "$out" show-info >"$STATE/show-info-$d.json" 2>"$STATE/make.log" ||
		{ tail -n 20 "$STATE/make.log" >&2; die "make show-info ($d) failed"; }
done

vendor_crates

note "filling $DL"
mirror_py "$REPO" "$BUILDROOT" "$DL" "$STATE" "${DEFCONFIGS[@]}"
