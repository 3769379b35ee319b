#!/bin/sh
# install_test.sh - `make install` into a temporary prefix, then what a user of
# the installed library does: compile and link a small program with
# `pkg-config --cflags --libs pmarena` against the shared library and run it,
# link it again statically with `pkg-config --static`, and look for the man
# pages. Run by `make test` from the project root (MAKE names the make to use;
# SAN_FLAGS, the sanitizer flags of a test-asan/test-tsan build, which the
# installed library then carries, so the program is built with them too).
set -u
MAKE=${MAKE:-make}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fails=$((fails + 1)); }

if ! $MAKE -s install PREFIX="$tmp/prefix" DESTDIR= >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log"
    echo "FAIL: make install PREFIX=$tmp/prefix"
    exit 1
fi
lib=$tmp/prefix/lib
export PKG_CONFIG_PATH="$lib/pkgconfig"

# The program prints the default granularity and the first line of a device
# config check, so it needs code (not only headers) from the library.
cat > "$tmp/p.c" <<'C'
#include <pmarena/pma.h>
#include <pmarena/config.h>
#include <stdio.h>
int main(void)
{
    pma_config c;
    pma_config_defaults(&c);
    nv_config d;
    nv_config_defaults(&d);
    char msg[200];
    printf("granularity %u device %s\n", c.granularity, nv_config_check(&d, msg, sizeof msg) == 0 ? "ok" : msg);
    return 0;
}
C

[ -f "$lib/libpmarena.a" ] && ok "libpmarena.a installed" || bad "libpmarena.a installed"
soname=$(objdump -p "$lib/libpmarena.so" 2>/dev/null | awk '$1 == "SONAME" { print $2 }')
[ "$soname" = libpmarena.so.0 ] && [ -L "$lib/libpmarena.so" ] && [ -e "$lib/libpmarena.so.0" ] \
    && ok "libpmarena.so -> libpmarena.so.0 (soname)" || bad "libpmarena.so -> libpmarena.so.0 (soname '$soname')"

flags=$(pkg-config --cflags --libs pmarena 2>"$tmp/pc.err") || { cat "$tmp/pc.err"; bad "pkg-config --cflags --libs pmarena"; }
if gcc -std=c11 ${SAN_FLAGS:-} "$tmp/p.c" -o "$tmp/p" $flags 2>"$tmp/cc.err" &&
   LD_LIBRARY_PATH="$lib" "$tmp/p" > "$tmp/p.out" &&
   grep -q '^granularity [0-9][0-9]* device ok$' "$tmp/p.out" &&
   LD_LIBRARY_PATH="$lib" ldd "$tmp/p" | grep -q "$lib/libpmarena.so.0"; then
    ok "shared: gcc p.c \$(pkg-config --cflags --libs pmarena) links $lib/libpmarena.so.0 and runs"
else
    cat "$tmp/cc.err"; bad "shared link with pkg-config --cflags --libs pmarena ($flags)"
fi

# -l:libpmarena.a picks the archive although the .so lies beside it; the rest
# of the line (gsl, jansson, libpmem, zlib, -lm) comes from pkg-config --static.
sflags=$(pkg-config --static --cflags --libs pmarena | sed 's/-lpmarena\b/-l:libpmarena.a/')
if gcc -std=c11 ${SAN_FLAGS:-} "$tmp/p.c" -o "$tmp/ps" $sflags 2>"$tmp/cc.err" &&
   env -u LD_LIBRARY_PATH "$tmp/ps" > "$tmp/ps.out" && cmp -s "$tmp/p.out" "$tmp/ps.out" &&
   ! ldd "$tmp/ps" | grep -q libpmarena; then
    ok "static: pkg-config --static --libs pmarena links libpmarena.a"
else
    cat "$tmp/cc.err"; bad "static link with pkg-config --static --libs pmarena ($sflags)"
fi

# The installed headers must not need Jansson's: with its include guard
# predefined, jansson.h is empty and any json_t left in them fails to compile.
for h in "$tmp"/prefix/include/pmarena/*.h; do echo "#include <pmarena/${h##*/}>"; done > "$tmp/h.c"
echo 'int main(void) { return 0; }' >> "$tmp/h.c"
gcc -std=c11 -I"$tmp/prefix/include" -DJANSSON_H -c "$tmp/h.c" -o "$tmp/h.o" 2>"$tmp/cc.err" &&
    ! grep -rq '#include <jansson.h>' "$tmp/prefix/include/pmarena/" &&
    ok "no installed header needs jansson.h" || { cat "$tmp/cc.err"; bad "an installed header needs jansson.h"; }

for p in pmarena pmarena-run pmarena-sweep pmarena-validate; do
    f=$tmp/prefix/share/man/man1/$p.1
    [ -f "$f" ] && grep -q '^\.SH SYNOPSIS' "$f" && ok "man page $p(1)" || bad "man page $p(1)"
done
[ -x "$tmp/prefix/bin/pmarena" ] && [ -f "$lib/libpmarena-record.so" ] && [ -f "$tmp/prefix/include/pmarena/pma.h" ] \
    && ok "binary, recorder and headers installed" || bad "binary, recorder and headers installed"

[ $fails -eq 0 ] && echo "install_test: all passed" || echo "install_test: $fails FAILED"
[ $fails -eq 0 ]
