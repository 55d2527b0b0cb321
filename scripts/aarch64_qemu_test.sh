#!/usr/bin/env bash
# Builds rtorch's extension for aarch64 Linux and runs the Python tests (or any
# arguments given, passed to pytest) on Debian's arm64 Python 3.11 + numpy under
# qemu-user emulation: a check that the Arm build works, not a timing.
#
# Needs a Debian (bookworm) host where apt-get may run (root), and:
#   apt-get install qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross
#   rustup target add aarch64-unknown-linux-gnu
#   dpkg --add-architecture arm64 && apt-get update
# The arm64 Python, numpy, pillow and pytest are unpacked (not installed) into
# $ARM_ROOT. Under emulation the whole suite takes about an hour on two cores.
#
# Known emulator limit: a fork() from a process with several threads trips an
# assertion inside qemu-user itself (the Rust test
# `fork_tests::a_child_forked_while_another_thread_held_the_pool_runs_parallel_work`
# and the DataLoader worker tests that fork), which says nothing about Arm hardware.
set -euo pipefail
cd "$(dirname "$0")/.."

ARM_ROOT=${ARM_ROOT:-/tmp/rtorch-arm64-root}
PKG=${ARM_PKG:-/tmp/rtorch-arm64-pkg}
TARGET_DIR=${CARGO_TARGET_DIR:-target}

debs=(
    python3.11-minimal libpython3.11-minimal libpython3.11-stdlib python3-numpy
    libexpat1 zlib1g libffi8 libssl3 libbz2-1.0 liblzma5 libblas3 liblapack3
    libgfortran5 libgcc-s1 libstdc++6 libc6 libsqlite3-0 libncursesw6 libtinfo6
    libreadline8 libuuid1 libcrypt1 libnsl2 libtirpc3 libdb5.3 libgssapi-krb5-2
    libkrb5-3 libk5crypto3 libcom-err2 libkrb5support0 libkeyutils1
    python3-pil libjpeg62-turbo libtiff6 libwebp7 libwebpmux3 libwebpdemux2 liblcms2-2
    libopenjp2-7 libxcb1 libfreetype6 libpng16-16 libbrotli1 libimagequant0 libraqm0
    libfribidi0 libharfbuzz0b libglib2.0-0 libgraphite2-3 libpcre2-8-0 libxau6
    libxdmcp6 libbsd0 libmd0 libdeflate0 libjbig0 liblerc4 libzstd1
)
# Architecture-independent: pytest and hypothesis with their dependencies.
pure=(
    python3-pytest python3-pluggy python3-iniconfig python3-packaging python3-py
    python3-attr python3-exceptiongroup python3-tomli python3-hypothesis
    python3-sortedcontainers
)

if [[ ! -x "$ARM_ROOT/usr/bin/python3.11" ]]; then
    echo "== unpacking Debian's arm64 Python into $ARM_ROOT"
    mkdir -p "$ARM_ROOT/debs"
    (
        cd "$ARM_ROOT/debs"
        for p in "${debs[@]}"; do apt-get download -q "$p:arm64"; done
        for p in "${pure[@]}"; do apt-get download -q "$p"; done
    )
    for f in "$ARM_ROOT"/debs/*.deb; do dpkg-deb -x "$f" "$ARM_ROOT"; done
    # The BLAS and LAPACK sonames are alternatives (symlinks dpkg would have made).
    lib="$ARM_ROOT/usr/lib/aarch64-linux-gnu"
    ln -sf blas/libblas.so.3 "$lib/libblas.so.3"
    ln -sf lapack/liblapack.so.3 "$lib/liblapack.so.3"
fi

echo "== building the extension for aarch64-unknown-linux-gnu"
PYO3_BUILD_EXTENSION_MODULE=1 PYO3_CROSS_PYTHON_VERSION=3.11 \
    CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
    cargo build --release --quiet --target aarch64-unknown-linux-gnu -p rtorch-python

rm -rf "$PKG"
mkdir -p "$PKG"
cp -r python/rtorch "$PKG/"
cp "$TARGET_DIR/aarch64-unknown-linux-gnu/release/librtorch_python.so" \
    "$PKG/rtorch/_C.cpython-311-aarch64-linux-gnu.so"

# The emulated interpreter as a program of its own, so that tests that start
# `sys.executable` start it under qemu too (`-0` sets the argv[0] it reports).
py="$PKG/python3-arm64"
cat >"$py" <<EOF
#!/bin/sh
exec qemu-aarch64 -L "$ARM_ROOT" -0 "$py" "$ARM_ROOT/usr/bin/python3.11" "\$@"
EOF
chmod +x "$py"

echo "== pytest under qemu-aarch64"
# The PyTorch parity runs would start an x86 PyTorch whose numpy need not match the
# emulated one (its pickles fail to load): off here.
export RTORCH_TORCH_PYTHON=none
PYTHONPATH="$PKG" "$py" -c 'import platform, rtorch; print(platform.machine(), rtorch.__version__)'
PYTHONPATH="$PKG" exec "$py" -m pytest -q -p no:cacheprovider "${@:-tests}"
