#!/bin/sh
# manpages.sh - man pages generated from the `--help` texts, so the two cannot
# disagree: pmarena(1) from `pmarena --help`, and pmarena-COMMAND(1) from
# `pmarena COMMAND --help` for every command that `pmarena --help` lists.
# Usage: scripts/manpages.sh PMARENA_BINARY OUT_DIR
# Plain sh + awk, so no help2man package is needed.
set -eu
bin=$1
out=$2
mkdir -p "$out"
version=$("$bin" --version | awk '{print $2}')
[ -n "$version" ] || { echo "manpages: $bin --version printed no version" >&2; exit 1; }

# roff-safe text: backslashes escaped, lines starting with . or ' protected.
esc() { sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"; }

header() { # NAME SUMMARY
    upper=$(printf '%s' "$1" | tr '[:lower:]' '[:upper:]')
    printf '.TH %s 1 "" "pmarena %s" "User Commands"\n' "$upper" "$version"
    printf '.SH NAME\n%s \\- %s\n' "$1" "$(printf '%s' "$2" | esc)"
}

# SYNOPSIS: the usage line(s) (and their indented continuations) at the top;
# DESCRIPTION: the rest, kept as laid out (option tables line up).
body() { # HELP_FILE
    awk 'BEGIN { state = 0 }
         state == 0 && /^usage: / { print ".SH SYNOPSIS"; print ".nf"; sub(/^usage: /, ""); print; state = 1; next }
         state == 1 && /^ / { t = $0; sub(/^ +/, "", t); print (t ~ /^pmarena / ? "" : "  ") t; next }
         state == 1 { print ".fi"; print ".SH DESCRIPTION"; print ".nf"; state = 2 }
         state == 2 || state == 0 { if (state == 0) { print ".SH DESCRIPTION"; print ".nf"; state = 2 } print }
         END { if (state >= 1) print ".fi" }' "$1"
}

tmp=$(mktemp); trap 'rm -f "$tmp"' EXIT
"$bin" --help > "$tmp"
cmds=$(awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }' "$tmp")
[ -n "$cmds" ] || { echo "manpages: no commands listed by $bin --help" >&2; exit 1; }

{
    header pmarena "simulate a persistent-memory arena allocator and report device wear"
    esc < "$tmp" > "$tmp.e"; body "$tmp.e"; rm -f "$tmp.e"
    printf '.SH SEE ALSO\n'
    sep=""
    for c in $cmds; do printf '%s\\fBpmarena-%s\\fR(1)' "$sep" "$c"; sep=", "; done
    printf '\n'
} > "$out/pmarena.1"

for c in $cmds; do
    summary=$(awk -v c="$c" '/^commands:/ { on = 1; next } on && $1 == c { $1 = ""; sub(/^ +/, ""); print; exit }' "$tmp")
    "$bin" "$c" --help 2>&1 | esc > "$tmp.c"
    {
        header "pmarena-$c" "$summary"
        body "$tmp.c"
        printf '.SH SEE ALSO\n\\fBpmarena\\fR(1)\n'
    } > "$out/pmarena-$c.1"
    rm -f "$tmp.c"
done
