#!/bin/sh
# Real work inside the Linux guest, checked: data through tmpfs, compression both ways, processes
# on every vCPU, /proc and /sys. Prints one verdict line; /init then powers the domain off.
fail() { echo "LINUX-TEST: FAIL ($*)"; exit 1; }

cpus=$(grep -c ^processor /proc/cpuinfo)
echo "work: $(uname -sr), $cpus CPU(s), hypervisor $(cat /sys/hypervisor/type 2>/dev/null)"
[ "$(cat /sys/hypervisor/type 2>/dev/null)" = "xen" ] || fail "no Xen hypervisor in /sys"
[ "$cpus" -ge 1 ] || fail "no CPUs in /proc/cpuinfo"

# 4 MiB of data through tmpfs: gzip and bzip2 round trips must give the same checksum.
head -c 4194304 /dev/urandom > /tmp/data || fail "cannot write tmpfs"
sum=$(sha256sum < /tmp/data)
[ "$(gzip -c /tmp/data | gunzip -c | sha256sum)" = "$sum" ] || fail "gzip round trip"
[ "$(bzip2 -c /tmp/data | bunzip2 -c | sha256sum)" = "$sum" ] || fail "bzip2 round trip"
echo "work: gzip and bzip2 round trips of 4 MiB OK"

# One busy process pinned to each vCPU; each must have run on the CPU it was given.
i=0
while [ "$i" -lt "$cpus" ]; do
    taskset -c "$i" sh -c "n=0; while [ \$n -lt 20000 ]; do n=\$((n+1)); done; \
        awk '{print \$39}' /proc/self/stat > /tmp/ran.$i" &
    i=$((i+1))
done
wait
i=0
while [ "$i" -lt "$cpus" ]; do
    [ "$(cat /tmp/ran.$i 2>/dev/null)" = "$i" ] || fail "process for CPU $i ran on CPU $(cat /tmp/ran.$i 2>/dev/null)"
    i=$((i+1))
done
echo "work: a process ran on each of the $cpus CPU(s)"

# Time moves: sleep 1 takes about a second of the guest's clock.
t0=$(cut -d' ' -f1 /proc/uptime); sleep 1; t1=$(cut -d' ' -f1 /proc/uptime)
awk -v a="$t0" -v b="$t1" 'BEGIN { d = b - a; exit !(d >= 0.9 && d < 5) }' || fail "sleep 1 took $t0 -> $t1"
echo "work: sleep 1 took $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') s"

# /proc and /sys look like a live system.
[ -n "$(cat /proc/meminfo | grep MemTotal)" ] || fail "/proc/meminfo"
[ "$(ls /sys/devices/system/cpu | grep -c '^cpu[0-9]')" -eq "$cpus" ] || fail "/sys CPU count"
echo "LINUX-TEST: PASS"
