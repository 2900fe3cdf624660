#!/bin/sh
# A first check from inside the Linux guest: the basics work, then /init powers the domain off.
echo "smoke: kernel $(uname -r) on $(grep -c ^processor /proc/cpuinfo) CPU(s)"
echo "smoke: $(grep -E '^(MemTotal|MemFree)' /proc/meminfo | tr -s ' ' | tr '\n' ' ')"
echo "smoke: hypervisor $(cat /sys/hypervisor/type 2>/dev/null || echo unknown)"
head -c 1048576 /dev/urandom > /tmp/data
sum1=$(md5sum < /tmp/data)
gzip -c /tmp/data | gunzip -c > /tmp/copy
sum2=$(md5sum < /tmp/copy)
[ "$sum1" = "$sum2" ] && echo "smoke: gzip round trip OK" || { echo "smoke: gzip round trip FAILED"; exit 1; }
echo "smoke: done"
