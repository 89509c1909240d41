#!/usr/bin/env bash
# Two facts about the machine under every store and broker figure (rmq-store/README.md, "This
# VM's memory" and "Pages written ahead with pwrite"), measured with small C loops (gcc):
#
#  1. first touch: 1 GiB mmap + memset + munmap, five times, some after 10 idle seconds: the CPU
#     per 4 KiB page. On a VM whose balloon reports freed memory to the host
#     (/sys/module/page_reporting), memory freed a while ago costs a host fault on its first
#     touch, so idle rounds cost more than rounds right after a free; a page cache that grows
#     (a broker's commit log) keeps paying that.
#  2. sync size: 8,000 appends of 1 KiB to a mapped, preallocated file, each followed by an
#     msync of its range, with zeros written ahead by pwrite in steps of 0, 4, 64 and 256 KiB:
#     time per append + msync and KiB the disk wrote per msync (/sys/block/DEV/stat), which
#     shows that a sync writes whole page-cache folios.
#
#   bench/vm-memory.sh            (files in $TMPDIR, default /tmp)
set -euo pipefail
WORK="$(mktemp -d "${TMPDIR:-/tmp}/vm-memory.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

for p in page_reporting_order min_free_ms; do
  f=/sys/module/page_reporting/parameters/$p
  echo "page_reporting $p: $(cat "$f" 2>/dev/null || echo 'absent')"
done

cat >"$WORK/touch.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(void) {
  size_t n = 1UL << 30; int idle[] = {0, 0, 10, 0, 10};
  for (int r = 0; r < 5; r++) {
    sleep(idle[r]);
    char *p = mmap(0, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 1; }
    double t = now(); memset(p, 1, n); t = now() - t;
    printf("first touch after %2d s idle: %.2f µs per 4 KiB page\n", idle[r], t / (n / 4096) * 1e6);
    munmap(p, n);
  }
  return 0;
}
EOF

cat >"$WORK/sync.c" <<'EOF'
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static long sectors(const char *stat) { long v[7] = {0}; FILE *f = fopen(stat, "r"); if (!f) return -1;
  for (int i = 0; i < 7; i++) if (fscanf(f, "%ld", &v[i]) != 1) break; fclose(f); return v[6]; }
static char zeros[1 << 20];
int main(int argc, char **argv) {
  const char *path = argv[1], *stat = argv[2]; size_t ahead = (size_t)atol(argv[3]) * 1024, n = 64UL << 20;
  int ops = 8000, fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644); char rec[1024]; memset(rec, 'x', sizeof rec);
  if (fd < 0 || fallocate(fd, 0, 0, n) != 0) { perror(path); return 1; }
  char *p = mmap(0, n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0); size_t prepared = 0, synced = 0;
  long s0 = sectors(stat); double t = now();
  for (int i = 0; i < ops; i++) {
    size_t o = (size_t)i * 1024;
    if (ahead && o + 1024 > prepared) { if (pwrite(fd, zeros, ahead, prepared) < 0) { perror("pwrite"); return 1; } prepared += ahead; }
    memcpy(p + o, rec, 1024);
    size_t from = synced & ~4095UL; msync(p + from, o + 1024 - from, MS_SYNC); synced = o + 1024;
  }
  t = now() - t; long s = sectors(stat) - s0;
  printf("zeros written ahead in steps of %3zu KiB: %.1f µs per append + msync, %.1f KiB written per msync\n",
         ahead / 1024, t / ops * 1e6, s * 512.0 / 1024 / ops);
  unlink(path); return 0;
}
EOF

gcc -O2 -o "$WORK/touch" "$WORK/touch.c"
gcc -O2 -o "$WORK/sync" "$WORK/sync.c"
"$WORK/touch"
dev="$(lsblk -no PKNAME "$(df --output=source "$WORK" | tail -1)" 2>/dev/null | head -1)"
[ -n "$dev" ] || dev="$(basename "$(df --output=source "$WORK" | tail -1)")"
echo "sync size on $WORK (device $dev):"
for step in 0 4 64 256 0 4 64 256; do
  "$WORK/sync" "$WORK/log" "/sys/block/$dev/stat" "$step"
done
