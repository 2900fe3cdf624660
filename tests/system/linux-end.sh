#!/bin/sh
# Ends the Linux domain the way the kernel command line says: xenolith.end=poweroff, reboot or
# crash (a kernel panic through the magic SysRq trigger). xenolith.end_delay=N waits N seconds
# first, so that a crash lands while the domains beside this one are still at work.
end=poweroff
delay=0
for word in $(cat /proc/cmdline); do
    case "$word" in
    xenolith.end=*) end=${word#xenolith.end=} ;;
    xenolith.end_delay=*) delay=${word#xenolith.end_delay=} ;;
    esac
done
[ "$delay" -gt 0 ] && sleep "$delay"
echo "linux-end: ending the domain with $end"
sync
case "$end" in
poweroff) poweroff -f ;;
reboot) reboot -f ;;
# Writing to /proc/sysrq-trigger works whatever kernel.sysrq says; 'c' panics the kernel, and
# Linux's Xen panic notifier then asks the hypervisor for SHUTDOWN_crash.
crash) echo c > /proc/sysrq-trigger ;;
*) echo "LINUX-TEST: FAIL (unknown xenolith.end=$end)" ;;
esac
sleep 5
echo "LINUX-TEST: FAIL (the domain is still running after '$end')"
