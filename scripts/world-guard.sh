#!/usr/bin/env bash
# The world outside the tests' temp dirs (issue 11): a test that followed a
# symlink it had made in a mount once truncated /etc/passwd and made files
# in /. `snapshot DIR` records /, /etc, $HOME and a canary in DIR, made
# beside the tests' temp dirs (in ${MDFS_TMPDIR:-/tmp}); `check DIR` compares, prints one line saying what
# it looked at, names whatever changed, and exits 1 if anything did (also
# when a test's teardown reported its own canary in DIR/changed).
# Usage: scripts/world-guard.sh snapshot|check DIR
set -u
cmd=${1:?snapshot|check}
dir=${2:?state dir}
home=${HOME:-/root}
canary=$dir/canary		# DIR is beside the temp dirs

# One line per entry: path, type, inode, and size and mtime of all but
# the directories of / and $HOME, which move with what others do in them
# (/tmp, /run, caches). /etc whole. Shells write history files in $HOME.
listing() {
	{
		find / "$home" -mindepth 1 -maxdepth 1 -type d -printf '%p d %i\n'
		find / "$home" -mindepth 1 -maxdepth 1 ! -type d \
			! -name '.*history' ! -name .lesshst ! -name .viminfo \
			-printf '%p %y %i %s %T@\n'
		find /etc -mindepth 1 -printf '%p %y %i %s %T@\n'
	} 2>/dev/null | LC_ALL=C sort -u
}

case $cmd in
snapshot)
	mkdir -p "$dir"
	listing >"$dir/before"
	printf 'mapdirectfs run canary\n' >"$canary"
	touch -d @1000000000 "$canary"
	: >"$dir/changed"
	;;
check)
	listing >"$dir/after"
	bad=0
	changes=$(LC_ALL=C comm -3 "$dir/before" "$dir/after" |
		sed -e 's/^\t/  now: /' -e 's/^[^ ]/  was: &/')
	if [ -n "$changes" ]; then
		echo "world guard: CHANGED outside the tests' temp dirs:"
		printf '%s\n' "$changes" | head -n 40
		bad=1
	fi
	if [ "$(cat "$canary" 2>/dev/null)" != "mapdirectfs run canary" ] ||
	   [ "$(stat -c %Y "$canary" 2>/dev/null)" != 1000000000 ]; then
		echo "world guard: CHANGED: the run's canary $canary"
		bad=1
	fi
	if [ -s "$dir/changed" ]; then
		echo "world guard: CHANGED: tests' canaries beside their mounts:"
		head -n 20 "$dir/changed" | sed 's/^/  /'
		bad=1
	fi
	if [ $bad = 0 ]; then
		echo "world guard: /, /etc ($(grep -c '^/etc/' "$dir/after")" \
			"entries), $home and every test's canary beside its" \
			"mount are unchanged"
	fi
	exit $bad
	;;
*)
	echo "usage: $0 snapshot|check DIR" >&2
	exit 2
	;;
esac
