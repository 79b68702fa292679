# prepare.sh IFACE MANAGER [PACKAGE...] — install what is missing, then make sure the key pair exists.
# MANAGER is apt|dnf|yum|none; PACKAGEs come from a fixed list chosen by wgfleet (validated before sending).
# The private key is generated here, on the host, only if absent, and never printed: only the public key is.
# Temporary files come from mktemp (created new, never through a name planted in /tmp beforehand) and are
# removed on exit, however the script ends.
set +xv
set -eu
iface=$1
manager=$2
shift 2
keyfile=/etc/wireguard/$iface.key
log= keytmp=
trap 'rm -f -- ${log:+"$log"} ${keytmp:+"$keytmp"}' EXIT

install_packages() {
  [ "$#" -gt 0 ] || return 0
  echo "step=install $*"
  # The package manager's output, shown (its tail) only when it fails.
  log=$(mktemp /tmp/.wgfleet-install.XXXXXX) || { echo "error=cannot create a temporary file in /tmp"; exit 20; }
  case $manager in
    apt)
      export DEBIAN_FRONTEND=noninteractive
      # Wait (bounded) for a package lock held by another apt/dpkg run instead of failing at once.
      apt_opts="-o DPkg::Lock::Timeout=120 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold"
      # shellcheck disable=SC2086
      if ! apt-get $apt_opts install -y --no-install-recommends "$@" >"$log" 2>&1; then
        # Stale or missing package lists: refresh once, then try again.
        # shellcheck disable=SC2086
        apt-get $apt_opts update >>"$log" 2>&1 || true
        # shellcheck disable=SC2086
        if ! apt-get $apt_opts install -y --no-install-recommends "$@" >>"$log" 2>&1; then
          tail -n 15 "$log" >&2
          # Release difference: Debian 11 (bullseye) packages no wireguard-go (bullseye-backports is gone),
          # so on a kernel without the WireGuard module nothing in the release can run WireGuard. apt
          # installs nothing when one package is missing: the host is left as it was.
          case " $* " in
            *" wireguard-go "*)
              if grep -Eq "Unable to locate package wireguard-go|Package 'wireguard-go' has no installation candidate" "$log"; then
                release=$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-}")
                echo "error=the kernel ($(uname -r)) has no WireGuard module and ${release:-this release} packages no wireguard-go: boot a kernel with WireGuard (Linux 5.6 or later, or the release's own kernel) or upgrade the host to a release that packages wireguard-go (Debian 12 or later), then rerun"
                exit 23
              fi
              ;;
          esac
          echo "error=apt-get install $* failed"
          exit 20
        fi
      fi
      ;;
    dnf|yum)
      # dnf waits for its own lock; bound the wait with timeout.
      if ! timeout 600 "$manager" install -y "$@" >"$log" 2>&1; then
        tail -n 15 "$log" >&2
        echo "error=$manager install $* failed"
        exit 20
      fi
      ;;
    *)
      echo "error=no supported package manager (apt, dnf, yum) to install $*"
      exit 21
      ;;
  esac
  echo "installed=$*"
}

install_packages "$@"

command -v wg >/dev/null 2>&1 || { echo "error=wg is still missing after installation"; exit 22; }

# /etc/wireguard is root's alone: 0700.
mkdir -p /etc/wireguard
chown root:root /etc/wireguard
chmod 0700 /etc/wireguard

if [ -s "$keyfile" ]; then
  echo "key=kept"
else
  # A leftover of a run cut off here (.wgfleet.*) is removed by the next apply.
  keytmp=$(umask 077 && mktemp /etc/wireguard/.wgfleet.key.XXXXXX)
  (umask 077 && wg genkey >"$keytmp")
  mv -f "$keytmp" "$keyfile"
  keytmp=
  echo "key=new"
fi
chown root:root "$keyfile"
chmod 0600 "$keyfile"
echo "pubkey=$(wg pubkey <"$keyfile")"
