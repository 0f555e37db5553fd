#!/bin/sh
# bootstrap.sh: install what is missing (Debian packages in .ci/packages), then configure
# and build. Extra arguments go to ./configure (e.g. --enable-sanitizers).
# (configure's "rm: cannot remove 'core': Is a directory" is harmless: autoconf cleans up
# a core dump file of that name and finds our core/ source directory instead.)
set -e
cd "$(dirname "$0")"
missing=""
for p in $(cat .ci/packages); do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "installing:$missing"
    if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi
[ -x configure ] || autoreconf -fi
[ -f Makefile ] || ./configure "$@"
make -j"$(nproc 2>/dev/null || echo 2)"
