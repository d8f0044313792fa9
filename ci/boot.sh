#!/usr/bin/env bash
# Sets up the machine, builds the image (incrementally) and boots it in
# QEMU with the serial console on this terminal. Quit QEMU with Ctrl-A X.
#
#   ci/boot.sh [--uefi] [--test-image] [--no-build] [--image PATH]
#
# --uefi        boot through OVMF (default: legacy BIOS)
# --test-image  boot out/appliance-test.img (root's password: appliance-test)
# --no-build    boot what is in out/ without building
#
# The appliance's FTP port is forwarded to 127.0.0.1:2121, its passive
# ports 50000-50009 to the same ports on 127.0.0.1. Changes to the disk are
# thrown away when QEMU exits.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

firmware=bios
image=$REPO/out/appliance.img
build=1
while [ $# -gt 0 ]; do
	case "$1" in
	--uefi) firmware=uefi; shift ;;
	--test-image) image=$REPO/out/appliance-test.img; shift ;;
	--no-build) build=0; shift ;;
	--image) image=$2; build=0; shift 2 ;;
	-h | --help)
		sed -n '2,15s/^# \{0,1\}//p' "$0"
		exit 0
		;;
	*) die "unknown option $1 (see --help)" ;;
	esac
done

if [ "$build" = 1 ]; then
	"$REPO/ci/setup.sh" --build-only
	"$REPO/ci/build-image.sh"
fi
[ -f "$image" ] || die "no image at $image: run ci/build-image.sh"
require_tools qemu-system-x86_64:qemu-system-x86

fwd="hostfwd=tcp:127.0.0.1:2121-:21"
for p in $(seq 50000 50009); do fwd="$fwd,hostfwd=tcp:127.0.0.1:$p-:$p"; done
args=(-accel tcg -cpu max -machine q35 -smp 2 -m 1024 -nographic
	-drive "file=$image,format=raw,if=virtio,snapshot=on"
	-netdev "user,id=net0,$fwd" -device "virtio-net-pci,netdev=net0"
	-device "qemu-xhci,id=xhci")
if [ "$firmware" = uefi ]; then
	vars=$(mktemp)
	trap 'rm -f "$vars"' EXIT
	cp /usr/share/OVMF/OVMF_VARS_4M.fd "$vars"
	args+=(-drive "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd"
		-drive "if=pflash,format=raw,unit=1,file=$vars")
fi
note "booting $image ($firmware); quit with Ctrl-A X"
qemu-system-x86_64 "${args[@]}"
