#!/usr/bin/env bash
# The Debian package as an operator meets it (run by scripts/test, as root): lintian finds no
# error; dpkg -i installs it with the loyalty system user, the config as a conffile readable by
# that user only, the units (which systemd-analyze verify accepts where they are installed) and
# the man pages; loyaltyctl --version runs; dpkg -r removes the programs and keeps the config;
# dpkg --purge removes the config and the user (but keeps a data directory that holds data, and
# its user). Usage: package_test.sh FILE.deb
set -euo pipefail
deb=$1
[[ $(id -u) -eq 0 ]] || { echo "package_test: must run as root (dpkg -i)"; exit 1; }
if dpkg-query -W -f='${Status}' loyalty 2>/dev/null | grep -q installed; then
  echo "package_test: the loyalty package is already installed here; not touching it"; exit 1
fi
failed=0
check() { # DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; failed=1; fi
}

echo "--- lintian (errors fail, warnings are listed)"
lintian --fail-on error --tag-display-limit 0 "$deb" || { echo "FAIL lintian reports errors"; exit 1; }

trap 'dpkg --purge loyalty >/dev/null 2>&1 || true' EXIT
dpkg -i "$deb" >/dev/null
check "loyaltyctl --version prints the version and the schema" \
  bash -c 'loyaltyctl --version | grep -Eq "^loyaltyctl [0-9]+\.[0-9]+\.[0-9]+ \(schema [0-9]{4}_"'
check "loyaltyd --version runs from /usr/bin" bash -c '/usr/bin/loyaltyd --version | grep -q "^loyaltyd "'
check "a loyalty system user without a login shell" \
  bash -c '[[ $(getent passwd loyalty | cut -d: -f7) == /usr/sbin/nologin && $(id -u loyalty) -lt 1000 ]]'
check "/etc/loyalty/loyalty.conf is root:loyalty 0640" \
  bash -c '[[ $(stat -c "%U:%G %a" /etc/loyalty/loyalty.conf) == "root:loyalty 640" ]]'
check "/etc/loyalty/loyalty.conf is a conffile" \
  bash -c 'dpkg-query -W -f="\${Conffiles}" loyalty | grep -q "/etc/loyalty/loyalty.conf"'
check "/var/lib/loyalty belongs to loyalty" bash -c '[[ $(stat -c %U /var/lib/loyalty) == loyalty ]]'
check "the installed units verify" bash -c \
  'out=$(systemd-analyze verify --man=no /lib/systemd/system/loyaltyd.service /lib/systemd/system/loyalty-*.timer /lib/systemd/system/loyalty-*.service 2>&1) && [[ -z $out ]] || { echo "$out"; false; }'
check "the man pages are installed" bash -c 'man -w loyaltyctl >/dev/null && man -w 5 loyaltyd.conf >/dev/null && man -w 8 loyaltyd >/dev/null'
check "loyaltyctl reads the installed config" \
  bash -c 'loyaltyctl --config /etc/loyalty/loyalty.conf rules eval "{\"+\":[1,2]}" | grep -qx 3'

dpkg -r loyalty >/dev/null
check "dpkg -r removes the programs" bash -c '[[ ! -e /usr/bin/loyaltyctl && ! -e /usr/bin/loyaltyd ]]'
check "dpkg -r keeps the config" test -f /etc/loyalty/loyalty.conf
dpkg --purge loyalty >/dev/null
check "dpkg --purge removes the config and the user" \
  bash -c '[[ ! -e /etc/loyalty ]] && ! getent passwd loyalty >/dev/null && ! getent group loyalty >/dev/null'
check "dpkg --purge leaves no statoverride" bash -c '! dpkg-statoverride --list | grep -q loyalty'
check "the package is gone" bash -c '! dpkg-query -W loyalty >/dev/null 2>&1 || [[ $(dpkg-query -W -f="\${Status}" loyalty) == "unknown ok not-installed" ]]'

# Purging over data (an embedded database) keeps it, and the user who owns it.
dpkg -i "$deb" >/dev/null
runuser -u loyalty -- touch /var/lib/loyalty/data-file
dpkg --purge loyalty >/dev/null 2>&1
check "dpkg --purge keeps a data directory that holds data, and its user" \
  bash -c '[[ -f /var/lib/loyalty/data-file && $(stat -c %U /var/lib/loyalty/data-file) == loyalty ]]'
rm -rf /var/lib/loyalty
deluser --system --quiet loyalty >/dev/null 2>&1 || true
delgroup --system --quiet loyalty >/dev/null 2>&1 || true
trap - EXIT
((failed == 0))
