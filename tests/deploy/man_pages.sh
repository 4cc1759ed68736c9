#!/usr/bin/env bash
# The manual pages are complete and render cleanly:
# - every page in man/ renders with groff (-ww) and man(1) (--warnings) without a warning;
# - every loyaltyctl subcommand (walked from the CLI's own --help) appears in loyaltyctl.1;
# - every setting of loyaltyd and loyaltyctl (flag and environment name, from --help) appears in
#   loyaltyd.conf.5.
# A deliberately broken page must be refused, so the render check cannot pass by checking nothing.
# Usage: man_pages.sh MAN_DIR LOYALTYCTL LOYALTYD
set -euo pipefail
man_dir=$1 loyaltyctl=$2 loyaltyd=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
fail() { echo "FAIL $*"; failed=1; }

render_warnings() { # PAGE: prints every warning groff and man give, nothing when clean
  groff -man -ww -z "$1" 2>&1
  MANWIDTH=80 man --warnings -l "$1" 2>&1 >/dev/null
}
pages=("$man_dir"/*.[1-8])
((${#pages[@]} >= 4)) || fail "expected at least 4 pages in $man_dir, found ${#pages[@]}"
for page in "${pages[@]}"; do
  out=$(render_warnings "$page")
  if [[ -n $out ]]; then fail "$(basename "$page") renders with warnings:"; echo "$out"; else echo "ok   $(basename "$page") renders"; fi
done
printf '.TH BROKEN 1\n.SH NAME\nbroken \\- a page\n.XX unknown macro\n\\fQ bad font\n' >"$work/broken.1"
[[ -n $(render_warnings "$work/broken.1") ]] || fail "a broken page rendered without a warning"

# The page's text without font changes and escaped hyphens, one space between words.
plain() { sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\f(..//g' -e 's/\\&//g' "$1" | tr -s ' \t' '  '; }
plain "$man_dir/loyaltyctl.1" >"$work/loyaltyctl.txt"
plain "$man_dir/loyaltyd.conf.5" >"$work/conf.txt"

# Subcommands as CLI11 lists them: the lines under "Subcommands:" of each --help.
subcommands() { "$loyaltyctl" "$@" --help | awk '/^Subcommands:/{on=1; next} on && /^  [a-z]/{print $1} on && /^$/{on=0}'; }
walk() { # PATH...: checks the path and every subcommand below it
  local path="$*"
  if [[ -n $path ]]; then
    # A heading of its own: the group's .SS, or the command at the start of a .B/.BR line.
    if grep -qE -- "^\.(SS|BR?) \"?$path( |\"|\$)" "$work/loyaltyctl.txt"; then
      echo "ok   loyaltyctl $path"
    else
      fail "loyaltyctl.1 has no entry for '$path'"
    fi
  fi
  local sub
  for sub in $(subcommands "$@"); do walk "$@" "$sub"; done
}
walk
count=$(grep -c '^ok   loyaltyctl' <<<"$(walk 2>/dev/null)" || true)
((count >= 40)) || fail "only $count loyaltyctl commands found in its --help tree"

# Settings: every --NAME VALUE option and every [env NAME] of each program's --help.
help=$("$loyaltyd" --help; "$loyaltyctl" --help)
names=$(grep -oE -- '^ +--[a-z0-9-]+ VALUE' <<<"$help" | sed -E 's/^ +--([a-z0-9-]+) VALUE/\1/' | sort -u)
envs=$(tr '\n' ' ' <<<"$help" | grep -oE '\[env [A-Z_]+,' | sed -E 's/\[env ([A-Z_]+),/\1/' | sort -u)
n=$(wc -w <<<"$names")
((n >= 30 && n == $(wc -w <<<"$envs"))) || fail "found $n settings and $(wc -w <<<"$envs") environment names in the programs' --help"
for name in $names; do
  # An entry of its own: a .BR line that begins with the setting's name.
  grep -qE -- "^\.BR $name " "$work/conf.txt" || fail "loyaltyd.conf.5 has no entry for the setting '$name'"
done
for env in $envs; do
  grep -qF -- "$env" "$work/conf.txt" || fail "loyaltyd.conf.5 does not name the environment variable $env"
done
echo "$n settings checked"
((failed == 0))
