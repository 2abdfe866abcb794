# shellcheck shell=bash
# Sourced by scripts/provision*.sh: the machine's own Debian archive entry,
# and installing what is missing.
#
# apt_install_missing PKG... installs with apt-get the packages of the list
# that dpkg does not have, and nothing when all are there (the caller's
# say, run and die print, log and stop).
apt_install_missing() {
  local have missing=() p t0=$SECONDS
  mapfile -t have < <(dpkg-query -W -f='${db:Status-Status} ${Package}\n' "$@" 2>/dev/null \
                      | awk '$1 == "installed" { print $2 }')
  for p in "$@"; do
    [[ " ${have[*]} " == *" $p "* ]] || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  say "installing ${missing[*]}"
  run apt-get update || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive run apt-get install -y --no-install-recommends "${missing[@]}" \
    || die "apt-get install failed"
  say "packages installed in $((SECONDS - t0)) s"
}
#
# apt_machine_entry prints the "URIs:" line (and "Signed-By:" lines, an
# inline key included) of the machine's configured Debian entry for this
# release's codename, read at run time from /etc/apt/sources.list.d/*.sources
# or the one-line /etc/apt/sources.list: a temporary sources file for other
# suites copies them, so that the repo never names an archive host.
# Prints nothing if there is no such entry.
apt_machine_entry() {
  local CODENAME entry
  CODENAME=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
  entry=$(awk -v cn="$CODENAME" '
  function flush() { if (!done && enabled != "no" && types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " cn " ")) {
                       print "URIs: " uri; if (sb != "") printf "Signed-By:%s\n", sb; done = 1 }
                     types = suites = uri = sb = enabled = ""; field = "" }
  FNR == 1 { flush() }
  /^#/ { next }
  /^[ \t]*$/ { flush(); next }
  /^[ \t]/ { if (field == "signed-by") sb = sb "\n" $0; next }   # continuation (inline key)
  { split($0, kv, ":"); field = tolower(kv[1]); val = substr($0, length(kv[1]) + 2); sub(/^[ \t]+/, "", val)
    if (field == "types") types = val; else if (field == "suites") suites = val; else if (field == "enabled") enabled = tolower(val)
    else if (field == "uris") { split(val, u, " "); uri = u[1] } else if (field == "signed-by") sb = " " val }
  END { flush() }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  if [[ -z $entry && -f /etc/apt/sources.list ]]; then   # one-line format: deb [signed-by=K] URI SUITE ...
    entry=$(awk -v cn="$CODENAME" '$1 == "deb" {
      sb = ""; i = 2
      if ($2 ~ /^\[/) { while (i <= NF) { if ($i ~ /signed-by=/) { sb = $i; sub(/.*signed-by=/, "", sb); sub(/\]$/, "", sb) }
                                          if ($(i++) ~ /\]$/) break } }
      if ($(i+1) == cn) { print "URIs: " $i; if (sb != "") print "Signed-By: " sb; exit } }' /etc/apt/sources.list)
  fi
  printf '%s\n' "$entry"
}
