# prepare.sh IFACE MANAGER [PACKAGE...] — install what is missing, then make sure the key pair exists.
# MANAGER is apt|dnf|yum|none; PACKAGEs come from a fixed list chosen by wgfleet (validated before sending).
# The private key is generated here, on the host, only if absent, and never printed: only the public key is.
set +xv
set -eu
iface=$1
manager=$2
shift 2
keyfile=/etc/wireguard/$iface.key

install_packages() {
  [ "$#" -gt 0 ] || return 0
  echo "step=install $*"
  case $manager in
    apt)
      export DEBIAN_FRONTEND=noninteractive
      # Wait (bounded) for a package lock held by another apt/dpkg run instead of failing at once.
      apt_opts="-o DPkg::Lock::Timeout=120 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold"
      # shellcheck disable=SC2086
      if ! apt-get $apt_opts install -y --no-install-recommends "$@" >/tmp/wgfleet-apt.$$ 2>&1; then
        # Stale or missing package lists: refresh once, then try again.
        # shellcheck disable=SC2086
        apt-get $apt_opts update >>/tmp/wgfleet-apt.$$ 2>&1 || true
        # shellcheck disable=SC2086
        if ! apt-get $apt_opts install -y --no-install-recommends "$@" >>/tmp/wgfleet-apt.$$ 2>&1; then
          tail -n 15 /tmp/wgfleet-apt.$$ >&2
          rm -f /tmp/wgfleet-apt.$$
          echo "error=apt-get install $* failed" 
          exit 20
        fi
      fi
      rm -f /tmp/wgfleet-apt.$$
      ;;
    dnf|yum)
      # dnf waits for its own lock; bound the wait with timeout.
      if ! timeout 600 "$manager" install -y "$@" >/tmp/wgfleet-dnf.$$ 2>&1; then
        tail -n 15 /tmp/wgfleet-dnf.$$ >&2
        rm -f /tmp/wgfleet-dnf.$$
        echo "error=$manager install $* failed"
        exit 20
      fi
      rm -f /tmp/wgfleet-dnf.$$
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
  (
    umask 077
    wg genkey >"$keyfile.tmp.$$"
    mv -f "$keyfile.tmp.$$" "$keyfile"
  )
  echo "key=new"
fi
chown root:root "$keyfile"
chmod 0600 "$keyfile"
echo "pubkey=$(wg pubkey <"$keyfile")"
