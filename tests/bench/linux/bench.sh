#!/bin/sh
# Runs in the benchmark initramfs (tests/bench/linux/run builds it): the same tests natively and
# as a PV guest. /init powers the machine or domain off when this script ends.
echo "linux-bench: $(uname -r), $(grep -c ^processor /proc/cpuinfo) CPU(s), clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
/bin/linux-bench
echo "linux-bench: done"
