# make install PREFIX=... puts the header, the library, qinfer.pc and the CLI
# in place; the README example builds against the installed copy through
# pkg-config and runs; DESTDIR stages an install under another root with the
# real prefix in qinfer.pc; make uninstall removes exactly what was installed.
. test/lib.sh
if [ -n "${RUNNER:-}" ] || [ -n "${QINFER_SANITIZER:-}" ]; then
    echo "SKIP install: the native, plain build only (make install installs that one)"
    echo "# 0 passed, 0 failed, 1 skipped"
    exit 0
fi
P=$TMP/prefix
make -s install PREFIX="$P" >"$TMP/install.out" 2>&1
rc=$?
check "make install PREFIX=... (exit $rc)" [ $rc -eq 0 ]
for f in include/qinfer.h lib/libqinfer.a lib/pkgconfig/qinfer.pc bin/qinfer; do
    check "installed $f" test -s "$P/$f"
done
export PKG_CONFIG_PATH="$P/lib/pkgconfig"
check "pkg-config knows qinfer $(pkg-config --modversion qinfer 2>&1)" sh -c \
    "[ \"\$(pkg-config --modversion qinfer)\" = \"\$(sed -n 's/^#define QINFER_VERSION \"\\(.*\\)\"/\\1/p' lib/qinfer.h)\" ]"
awk '/^```c$/{on=1; next} /^```$/{on=0} on' README.md >"$TMP/example.c"
mkdir -p "$TMP/app" && cp "$TMP/example.c" "$TMP/app/app.c"
check "the README example builds against the installed copy: cc app.c \$(pkg-config --cflags --libs qinfer)" sh -c \
    "cd $TMP/app && cc -std=c11 -Wall -Werror app.c \$(pkg-config --cflags --libs qinfer) -o app"
check "and runs" sh -c "$TMP/app/app $SHARED/golden/tiny-qwen2-q4_0.gguf | grep -cE '^[0-9]+\$' | grep -qx 8"
check "the installed CLI runs" sh -c "$P/bin/qinfer info -m $SHARED/golden/tiny-qwen2-q4_0.gguf >/dev/null"
make -s install DESTDIR="$TMP/stage" PREFIX=/opt/qi >/dev/null 2>&1
check "DESTDIR stages under another root, qinfer.pc names the real prefix" sh -c \
    "test -s $TMP/stage/opt/qi/lib/libqinfer.a && grep -qx 'prefix=/opt/qi' $TMP/stage/opt/qi/lib/pkgconfig/qinfer.pc"
touch "$P/lib/other.a"
make -s uninstall PREFIX="$P" >/dev/null 2>&1
check "make uninstall removes what it installed, nothing else" sh -c \
    "[ ! -e $P/include/qinfer.h ] && [ ! -e $P/lib/libqinfer.a ] && [ ! -e $P/lib/pkgconfig/qinfer.pc ] && [ ! -e $P/bin/qinfer ] && [ -e $P/lib/other.a ]"
summary
