#!/usr/bin/env bash
# Provision a Debian 12 machine for mapdirectfs: Debian packages, then libfuse
# 3.18.3 with fuse-over-io-uring in a project-local prefix ($REPO/.deps/libfuse).
# Idempotent; a provisioned machine is a no-op in well under 2 s.
# Recipe and rationale: shared/FUSE-NOTES.md, "libfuse version: 3.18.3".
set -euo pipefail

PACKAGES=(
  build-essential meson ninja-build pkg-config dpkg-dev ca-certificates  # build (+ apt over https mirrors)
  patch                                                                  # libfuse fixes (scripts/libfuse-patches)
  fuse3 libpmem-dev libndctl-dev libdaxctl-dev libjson-c-dev uthash-dev  # build: mapdirectfs deps, fusermount3
  liburing-dev libnuma-dev                                               # libfuse's io_uring transport
  libseccomp-dev libcap-ng-dev                                           # least privilege (fuse/sandbox.c)
  libcriterion-dev attr xfsprogs e2fsprogs util-linux                    # tests (xattrs, loop fs images)
  ndctl                                                                  # tests: what ndctl says of pmem (DAX truth)
  fio                                                                    # benchmarks
  clang                                                                  # fuzzing (libFuzzer, sanitizers)
)
FUSE_PIN=3.18.3-1   # Debian fuse3 source version, from sid
FUSE_SHA256=bcd19582c5e30f7fe45dd86a5540e998590aa01903afc7ebcbeea6c8ac5421ee  # orig tarball
FUSE_MIN=3.18       # fallback floor for sid/forky (io_uring needs >= 3.18)

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEPS=$REPO/.deps
PREFIX=$DEPS/libfuse
STAMP=$PREFIX/.provisioned
LOG=$DEPS/provision.log
mkdir -p "$DEPS"
exec 9>"$DEPS/.provision.lock" && flock 9   # serialise concurrent runs (CI + dev shell)

say()  { echo "provision: $*"; }
die()  { echo "provision: ERROR: $*" >&2; echo "--- tail of $LOG ---" >&2; tail -n 40 "$LOG" >&2 || true; exit 1; }
run()  { echo "+ $*" >>"$LOG"; "$@" >>"$LOG" 2>&1; }   # quiet: output goes to the log only

[[ $(id -u) == 0 ]] || { echo "provision: must run as root (apt-get)" >&2; exit 1; }
echo "=== provision $(date -Is) ===" >>"$LOG"   # append: a no-op run keeps the last build's log

# ---- 1. Debian packages: apt-get only when something is missing -------------
. "$REPO/scripts/lib-apt.sh"
apt_install_missing "${PACKAGES[@]}"
say "packages ok"

# ---- 2. libfuse into $PREFIX ------------------------------------------------
# Upstream fixes not in any release yet, applied to the source in order
# (scripts/libfuse-patches/README). The stamp records the pin and the
# patches it was built with, so changing either rebuilds.
PATCHES=("$REPO"/scripts/libfuse-patches/*.patch)
[[ -e ${PATCHES[0]} ]] || PATCHES=()
PATCH_SUM=$(cat /dev/null "${PATCHES[@]}" | sha256sum | cut -c1-16)
if [[ -f $STAMP && $(head -n1 "$STAMP") == "pin=$FUSE_PIN patches=$PATCH_SUM" && -f $PREFIX/lib/pkgconfig/fuse3.pc
      && -e $PREFIX/lib/libfuse3.so && -x $PREFIX/bin/passthrough_hp ]]; then
  say "$(sed -n 's/^msg=//p' "$STAMP") (cached; rm -rf .deps to rebuild)"
  exit 0
fi

SRC=$DEPS/src
APTDIR=$SRC/apt
rm -rf "$SRC" && mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial" "$SRC/dl"

# The machine's own Debian entry, copied at run time (apt_machine_entry).
CODENAME=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
entry=$(apt_machine_entry)
[[ -n $entry ]] || die "no Debian '$CODENAME' entry found in /etc/apt/sources.list{,.d/*.sources}"

# Fetch fuse3 source with apt, from the given suites, using only our own sources
# file, lists and cache (the system's apt state is left untouched).
APTO=(-o Dir::Etc::SourceList="$APTDIR/fuse3.sources" -o Dir::Etc::SourceParts=/dev/null
      -o Dir::State::Lists="$APTDIR/lists" -o Dir::Cache="$APTDIR/cache" -o Acquire::Languages=none)
apt_suites() {
  printf 'Types: deb-src\n%s\nSuites: %s\nComponents: main\n' "$entry" "$*" >"$APTDIR/fuse3.sources"
  run apt-get "${APTO[@]}" update || die "apt-get update of deb-src ($*) failed"
}
fetch() {   # fetch VERSION -> downloads into $SRC/dl
  rm -rf "$SRC/dl" && mkdir -p "$SRC/dl"
  (cd "$SRC/dl" && run apt-get "${APTO[@]}" source --download-only "fuse3=$1")
}
newest() {  # newest fuse3 source version known to apt that is >= $1
  { apt-cache "${APTO[@]}" showsrc fuse3 2>>"$LOG" || true; } | sed -n 's/^Version: //p' | sort -u |
    while read -r v; do if dpkg --compare-versions "$v" ge "$1"; then echo "$v"; fi; done |
    sort -V | tail -n1
}

VER=$FUSE_PIN FALLBACK=""
apt_suites sid
if ! fetch "$VER"; then
  # sid moved on: take the newest >= 3.18 from sid/forky, else trixie's 3.17.x.
  apt_suites sid forky
  VER=$(newest "$FUSE_MIN")
  if [[ -z $VER ]]; then apt_suites trixie; VER=$(newest 3.17); fi
  [[ -n $VER ]] || die "no usable fuse3 source in sid/forky/trixie"
  FALLBACK="pin $FUSE_PIN unavailable"
  echo "provision: WARNING: fuse3 $FUSE_PIN is gone from sid; FALLING BACK to fuse3 $VER" >&2
  fetch "$VER" || die "apt-get source fuse3=$VER failed"
fi
rm -rf "$APTDIR"   # ~25 MB of sid Sources indexes, no longer needed
UPSTREAM=${VER#*:}; UPSTREAM=${UPSTREAM%-*}
ORIG=$(ls "$SRC"/dl/fuse3_"$UPSTREAM".orig.tar.* 2>/dev/null | head -n1)
[[ -n $ORIG ]] || die "orig tarball for fuse3 $VER not found in $SRC/dl"
SHA=$(sha256sum "$ORIG" | cut -d' ' -f1)
if [[ -z $FALLBACK && $SHA != "$FUSE_SHA256" ]]; then
  die "sha256 MISMATCH for $(basename "$ORIG"): got $SHA, want $FUSE_SHA256"
fi

# Build from the pristine upstream tarball (Debian patches are not needed).
B=$SRC/fuse-$UPSTREAM
mkdir -p "$B" && tar -xf "$ORIG" -C "$B" --strip-components=1
# a fallback version may have a fix already: then it is skipped, loudly
applied=()
for p in "${PATCHES[@]}"; do
  n=$(basename "$p")
  if patch -d "$B" -p1 --forward --dry-run -s <"$p" >>"$LOG" 2>&1; then
    run patch -d "$B" -p1 --forward -s -i "$p" || die "patch $n failed"
    applied+=("${n%%-*}")
  elif patch -d "$B" -p1 -R --dry-run -s <"$p" >>"$LOG" 2>&1; then
    echo "provision: note: fuse3 $VER already has $n; not applied" >&2
  else
    die "patch $n does not apply to fuse3 $VER"
  fi
done
# io_uring wanted from 3.18 on; meson silently drops it if liburing/libnuma are
# missing, so the result is checked on the built .so below.
WANT_URING=false; dpkg --compare-versions "$UPSTREAM" ge "$FUSE_MIN" && WANT_URING=true
opts=(-Dexamples=true -Dutils=false -Dtests=false)
grep -q "'enable-io-uring'" "$B/meson_options.txt" && opts+=(-Denable-io-uring=$WANT_URING)
rm -rf "$PREFIX"
# Soname is libfuse3.so.4 (Debian 12's is .so.3). passthrough_hp is not installed
# by ninja; its build rpath $ORIGIN/../lib resolves to $PREFIX/lib once copied to bin/.
run meson setup "$B/build" "$B" --prefix="$PREFIX" --libdir=lib "${opts[@]}" || die "meson setup failed"
run ninja -C "$B/build" install || die "ninja install failed"
install -D -m755 "$B/build/example/passthrough_hp" "$PREFIX/bin/passthrough_hp"

# ---- verify ------------------------------------------------------------------
got=$(PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig pkg-config --modversion fuse3) || die "pkg-config cannot find fuse3"
[[ $got == "$UPSTREAM" ]] || die "pkg-config says fuse3 $got, expected $UPSTREAM"
so=$PREFIX/lib/libfuse3.so
# (no grep -q after a pipe: with pipefail, its early exit can fail the writer)
# fuse_req_is_uring is exported even without io_uring; linking liburing is the proof.
URING=false; readelf -d "$so" | grep 'liburing' >/dev/null && URING=true
if [[ $WANT_URING == true ]]; then
  nm -D --defined-only "$so" | grep -w fuse_req_is_uring >/dev/null || die "fuse_req_is_uring not exported by $so"
  [[ $URING == true ]] || die "$so is not linked with liburing: io_uring got disabled"
fi
run "$PREFIX/bin/passthrough_hp" --help || die "passthrough_hp --help failed"
lib=$(ldd "$PREFIX/bin/passthrough_hp" | awk '/libfuse3\.so/ { print $3 }')
[[ -n $lib && $(realpath "$lib") == $(realpath "$so") ]] || die "passthrough_hp loads '$lib', not $so"

uring_txt=$([[ $URING == true ]] && echo "io_uring" || echo "no io_uring")
{ printf 'version=%s\ndebian_version=%s\nsha256=%s\nio_uring=%s\npatches=%s\n' "$UPSTREAM" "$VER" "$SHA" "$URING" "${applied[*]}"
  [[ -z $FALLBACK ]] || echo "fallback=$FALLBACK"; } >"$PREFIX/VERSION"
msg="libfuse $UPSTREAM ($uring_txt${applied:+, patched: ${applied[*]}}) ok${FALLBACK:+ -- WARNING: FALLBACK, $FALLBACK}"
printf 'pin=%s patches=%s\nmsg=%s\n' "$FUSE_PIN" "$PATCH_SUM" "$msg" >"$STAMP"
say "$msg"
