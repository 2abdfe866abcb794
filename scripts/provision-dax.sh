#!/usr/bin/env bash
# Provision `make test-dax` (issue 12): the Debian packages that boot a
# guest with an emulated NVDIMM, and a Debian kernel with FUSE passthrough,
# fuse-over-io-uring and FS_DAX, extracted into $REPO/.deps/dax/kernel
# (never installed on the host). Idempotent: a provisioned machine is a
# no-op. Recipe and rationale: shared/DAX-NOTES.md, "The guest".
# Prints what it did and, on the last line, "kernel=VERSION" of what runs.
set -euo pipefail

PACKAGES=(
  qemu-system-x86 busybox-static kmod     # the guest, its initramfs, depmod/modprobe
  ndctl xfsprogs e2fsprogs util-linux     # namespaces and filesystems in the guest
  xz-utils                                # the kernel's modules are .ko.xz
)
KERNEL_PKG=linux-image-6.18.15+deb13-amd64   # what DAX-NOTES.md verified
KERNEL_PIN=6.18.15-1~bpo13+1
KERNEL_SUITE=trixie-backports
KERNEL_SHA256=d38a7af6260782a47cd615ad717347a528b45f076245b4deabb3f1ecf8459186  # the .deb
KERNEL_MIN=6.14          # fallback floor: FUSE passthrough + io_uring + FS_DAX
FALLBACK_SUITES="trixie-backports sid"
# what the guest needs built in (=y); modules are checked by the initramfs build
NEED_Y=(FUSE_FS FUSE_PASSTHROUGH FUSE_IO_URING FS_DAX ZONE_DEVICE DEVTMPFS
        MAGIC_SYSRQ SERIAL_8250_CONSOLE VIRTIO_PCI)

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DAX=$REPO/.deps/dax
KDIR=$DAX/kernel
STAMP=$KDIR/.provisioned
LOG=$DAX/provision.log
mkdir -p "$DAX"
exec 9>"$DAX/.provision.lock" && flock 9

say()  { echo "provision-dax: $*"; }
die()  { echo "provision-dax: ERROR: $*" >&2; echo "--- tail of $LOG ---" >&2; tail -n 40 "$LOG" >&2 || true; exit 1; }
run()  { echo "+ $*" >>"$LOG"; "$@" >>"$LOG" 2>&1; }

[[ $(id -u) == 0 ]] || { echo "provision-dax: must run as root (apt-get)" >&2; exit 1; }
echo "=== provision-dax $(date -Is) ===" >>"$LOG"

# ---- 1. Debian packages: apt-get only when something is missing -------------
. "$REPO/scripts/lib-apt.sh"
apt_install_missing "${PACKAGES[@]}"
say "packages ok"

# ---- 2. the guest kernel into $KDIR -------------------------------------------
# The stamp records the pin it was fetched for, so changing the pin refetches.
if [[ -f $STAMP && $(head -n1 "$STAMP") == "pin=$KERNEL_PKG=$KERNEL_PIN" && -f $KDIR/VERSION ]]; then
  say "$(sed -n 's/^msg=//p' "$STAMP") (cached; rm -rf .deps/dax to refetch)"
  echo "kernel=$(sed -n 's/^kernel=//p' "$KDIR/VERSION")"
  exit 0
fi

entry=$(apt_machine_entry)
[[ -n $entry ]] || die "no Debian entry for this release in /etc/apt/sources.list{,.d/*.sources}"

t0=$SECONDS
APTDIR=$DAX/apt
DL=$DAX/dl
rm -rf "$APTDIR" "$DL" "$KDIR"
mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial" "$DL"
# Only our own sources file, lists and cache: the system's apt state is
# left untouched. The machine's URI and Signed-By, other suites.
APTO=(-o Dir::Etc::SourceList="$APTDIR/kernel.sources" -o Dir::Etc::SourceParts=/dev/null
      -o Dir::State::Lists="$APTDIR/lists" -o Dir::Cache="$APTDIR/cache"
      -o Acquire::Languages=none -o APT::Architecture=amd64 -o APT::Sandbox::User=root)
apt_suites() {
  printf 'Types: deb\n%s\nSuites: %s\nComponents: main\nArchitectures: amd64\n' "$entry" "$*" \
    >"$APTDIR/kernel.sources"
  run apt-get "${APTO[@]}" update || die "apt-get update of $* failed"
}
download() {   # download PKG=VER...: into $DL (apt checks the signed indexes' hashes)
  rm -f "$DL"/*.deb
  (cd "$DL" && run apt-get "${APTO[@]}" download "$@")
}
# The newest linux-image-X.Y.Z+...-amd64 (the generic flavour, not cloud,
# rt or dbg) at >= $KERNEL_MIN, as "PKG VERSION".
newest() {
  apt-cache "${APTO[@]}" pkgnames linux-image- 2>>"$LOG" |
    grep -E '^linux-image-[0-9][^ ]*-amd64$' | grep -vE -- '-(cloud|rt)-amd64$' |
    while read -r p; do
      v=$(apt-cache "${APTO[@]}" show --no-all-versions "$p" 2>>"$LOG" | sed -n 's/^Version: //p' | head -n1)
      [[ -n $v ]] && dpkg --compare-versions "$v" ge "$KERNEL_MIN" && echo "$v $p"
    done | sort -V | tail -n1 | awk '{ print $2, $1 }'
}

PKG=$KERNEL_PKG VER=$KERNEL_PIN FALLBACK=""
apt_suites "$KERNEL_SUITE"
if ! download "$PKG=$VER"; then
  apt_suites $FALLBACK_SUITES
  PKG="" VER=""
  read -r PKG VER < <(newest) || true
  [[ -n ${PKG:-} ]] || die "no linux-image >= $KERNEL_MIN in $FALLBACK_SUITES"
  FALLBACK="pin $KERNEL_PKG=$KERNEL_PIN unavailable"
  echo "provision-dax: WARNING: $KERNEL_PKG=$KERNEL_PIN is gone from $KERNEL_SUITE;" \
       "FALLING BACK to $PKG=$VER" >&2
  # a kernel split into several binary packages: take its module packages too
  extra=$(apt-cache "${APTO[@]}" show --no-all-versions "$PKG" | sed -n 's/^Depends: //p' |
          tr ',' '\n' | sed 's/[ (].*//; s/^ *//' | grep -E '^linux-(modules|binary)-' || true)
  download "$PKG=$VER" $extra || die "apt-get download $PKG=$VER failed"
fi
deb=$(ls "$DL"/"${PKG}"_*.deb 2>/dev/null | head -n1)
[[ -n $deb ]] || die "$PKG .deb not found in $DL"
SHA=$(sha256sum "$deb" | cut -d' ' -f1)
if [[ -z $FALLBACK && $SHA != "$KERNEL_SHA256" ]]; then
  die "sha256 MISMATCH for $(basename "$deb"): got $SHA, want $KERNEL_SHA256"
fi
fetch_s=$((SECONDS - t0))

# dpkg-deb -x only: no maintainer scripts, nothing of the host changes
mkdir -p "$KDIR"
for d in "$DL"/*.deb; do
  run dpkg-deb -x "$d" "$KDIR" || die "dpkg-deb -x $(basename "$d") failed"
done
rm -rf "$APTDIR" "$DL"   # the indexes and the 167 MB .deb are no longer needed

vmlinuz=$(ls "$KDIR"/boot/vmlinuz-* 2>/dev/null | head -n1)
[[ -n $vmlinuz ]] || die "no boot/vmlinuz-* in $PKG"
KVER=${vmlinuz##*/vmlinuz-}
config=$KDIR/boot/config-$KVER
[[ -f $config ]] || die "no boot/config-$KVER in $PKG"
for c in "${NEED_Y[@]}"; do
  grep -qx "CONFIG_$c=y" "$config" || die "kernel $KVER lacks CONFIG_$c=y"
done
# the modules' own modules.dep (Debian's postinst would run depmod)
for base in "$KDIR/usr" "$KDIR"; do
  [[ -d $base/lib/modules/$KVER ]] && break
done
[[ -d $base/lib/modules/$KVER ]] || die "no lib/modules/$KVER in $PKG"
run depmod -b "$base" -a "$KVER" || die "depmod failed"

{ printf 'package=%s\nversion=%s\nsha256=%s\nkernel=%s\nmodules=%s\nfetch_s=%s\n' \
    "$PKG" "$VER" "$SHA" "$KVER" "$base/lib/modules/$KVER" "$fetch_s"
  [[ -z $FALLBACK ]] || echo "fallback=$FALLBACK"; } >"$KDIR/VERSION"
msg="kernel $PKG=$VER ok${FALLBACK:+ -- WARNING: FALLBACK, $FALLBACK}"
printf 'pin=%s\nmsg=%s\n' "$KERNEL_PKG=$KERNEL_PIN" "$msg" >"$STAMP"
say "$msg (fetched and verified in $fetch_s s, extracted in $((SECONDS - t0 - fetch_s)) s)"
echo "kernel=$KVER"
