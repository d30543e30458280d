# Sourced by scripts/prebuild.sh and scripts/test-install.sh: prints the Debian archive to
# debootstrap from, FIELDLINK_DEBIAN_MIRROR or else the first Debian archive URI this
# machine's apt already uses (deb822 or one-line sources; not the security archive).
debian_mirror() {
  if [ -n "${FIELDLINK_DEBIAN_MIRROR:-}" ]; then echo "$FIELDLINK_DEBIAN_MIRROR"; return; fi
  cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    grep -v '^[[:space:]]*#' | grep -oE '(https?://[^ ]+/debian)/?( |$)' | grep -v -- '-security' | head -n1 | tr -d ' ' || true
}
