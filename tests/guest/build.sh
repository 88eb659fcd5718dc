#!/bin/sh
# Build the multiboot test guest: sh build.sh OUTDIR  ->  OUTDIR/guest.elf
#
# Needs only gcc and binutils (ld, objcopy); no gcc-multilib, libc or libgcc.
# The code is compiled for x86-64 (see boot.S for why) and the linked image
# is rewrapped as ELF32 i386, the format QEMU's multiboot loader accepts.
# Prints nothing on success.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: sh build.sh OUTDIR" >&2
    exit 2
fi

# Sources live next to this script; work from any current directory.
dir=$(cd "$(dirname "$0")" && pwd)
out=$1

CC=${CC:-gcc}
LD=${LD:-ld}
OBJCOPY=${OBJCOPY:-objcopy}
for tool in "$CC" "$LD" "$OBJCOPY"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "build.sh: required tool '$tool' not found (install gcc and binutils)" >&2
        exit 1
    fi
done

mkdir -p "$out"
out=$(cd "$out" && pwd)
tmp="$out/guest-build.$$"
mkdir "$tmp"
trap 'rm -rf "$tmp"' EXIT

# Freestanding, no SSE (never enabled in the guest), no calls to memset & co.
CFLAGS="-m64 -ffreestanding -nostdlib -static -fno-pic -fno-pie
 -fno-stack-protector -fno-builtin -fno-tree-loop-distribute-patterns
 -fno-asynchronous-unwind-tables -fcf-protection=none
 -mgeneral-regs-only -mno-red-zone -mcmodel=small -O2 -Wall -Wextra"

# shellcheck disable=SC2086 # CFLAGS is a word list on purpose
"$CC" $CFLAGS -c "$dir/boot.S" -o "$tmp/boot.o"
# shellcheck disable=SC2086
"$CC" $CFLAGS -c "$dir/guest.c" -o "$tmp/guest.o"
"$LD" -m elf_x86_64 -nostdlib -static -z max-page-size=0x1000 \
    -T "$dir/link.ld" -o "$tmp/guest64.elf" "$tmp/boot.o" "$tmp/guest.o"
"$OBJCOPY" -O elf32-i386 "$tmp/guest64.elf" "$out/guest.elf"
