#!/usr/bin/env bash
# systemd-analyze verify on every unit of deploy/systemd, with the binaries' paths moved to the
# build tree (verify checks that ExecStart= is executable). verify exits 0 on some mistakes
# (an unknown key only warns), so any output fails too; and a broken copy must fail, so this
# test cannot pass by checking nothing. Usage: systemd_verify.sh UNIT_DIR LOYALTYD LOYALTYCTL
set -euo pipefail
units=$1 loyaltyd=$2 loyaltyctl=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

render() { # SRC DEST: the unit with the build tree's binaries
  sed -e "s|/usr/bin/loyaltyd |$loyaltyd |g" -e "s|/usr/bin/loyaltyctl |$loyaltyctl |g" "$1" >"$2"
}
verify() { # FILE...: 0 when systemd-analyze accepts them without a word
  local out
  out=$(systemd-analyze verify --man=no "$@" 2>&1) || { echo "$out"; return 1; }
  [[ -z $out ]] || { echo "$out"; return 1; }
}

mkdir "$work/units" "$work/broken"
count=0
for unit in "$units"/*.service "$units"/*.timer; do
  render "$unit" "$work/units/$(basename "$unit")"
  count=$((count + 1))
done
((count >= 13)) || { echo "expected loyaltyd.service and six service+timer pairs, found $count units"; exit 1; }
failed=0
for unit in "$work"/units/*; do
  name=$(basename "$unit")
  if [[ $name == *.timer && ! -f $work/units/${name%.timer}.service ]]; then
    echo "FAIL $name: no ${name%.timer}.service beside it"; failed=1; continue
  fi
  if [[ $name == *.timer ]] && ! grep -q '^OnCalendar=' "$unit"; then
    echo "FAIL $name: no OnCalendar="; failed=1; continue
  fi
  if out=$(verify "$unit"); then echo "ok   $name"; else echo "FAIL $name"; echo "$out"; failed=1; fi
done
((failed == 0)) || exit 1

# The check must be able to fail: a misspelt key, a bad calendar, a missing binary.
cp "$work/units/loyaltyd.service" "$work/broken/a.service"
sed -i 's/^NoNewPrivileges=yes/NoNewPrivilege=yes/' "$work/broken/a.service"
cp "$work/units/loyalty-expire.service" "$work/broken/b.service"
sed -e 's/^OnCalendar=.*/OnCalendar=every quarter hour/' -e 's/^Unit=.*//' \
  "$work/units/loyalty-expire.timer" >"$work/broken/b.timer"
sed 's|^ExecStart=[^ ]*|ExecStart=/nonexistent/loyaltyctl|' "$work/units/loyalty-expire.service" \
  >"$work/broken/c.service"
for unit in "$work"/broken/a.service "$work"/broken/b.timer "$work"/broken/c.service; do
  if verify "$unit" >/dev/null; then echo "FAIL: a broken unit passed verify: $unit"; exit 1; fi
done
echo "all $count units verify; broken copies are refused"
