#!/usr/bin/env python3
"""Emit the hypervisor's symbol table as assembly, for symbolised backtraces.

Reads `nm -n -C --defined-only` output of the first link of the image and writes a .S file
with a `.symbols` section: the number of text symbols, then (address, name offset) pairs
sorted by address, then the NUL-terminated names. The second link includes it; text addresses
do not move between the links because the table lives in .rodata after the code.
"""
import subprocess
import sys


def short_name(demangled: str) -> str:
    """`ns::(anonymous namespace)::f(int)` -> `ns::f`: one word per frame in a backtrace."""
    name = demangled.replace("(anonymous namespace)::", "")
    return name.split("(", 1)[0] if not name.startswith("(") else name


def main() -> int:
    nm, elf, output = sys.argv[1], sys.argv[2], sys.argv[3]
    listing = subprocess.run([nm, "-n", "-C", "--defined-only", elf], check=True,
                             capture_output=True, text=True).stdout
    symbols = []
    for line in listing.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[1] in ("t", "T", "W", "w"):
            address = int(parts[0], 16)
            if address >= 0xFFFF800000000000:
                symbols.append((address, short_name(parts[2])))
    symbols.sort()

    lines = ['    .section .symbols, "a"', "    .balign 8", f"    .quad {len(symbols)}"]
    offset = 0
    for address, name in symbols:
        lines.append(f"    .quad {address:#x}, {offset}")
        offset += len(name.encode()) + 1
    for _, name in symbols:
        escaped = name.replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'    .asciz "{escaped}"')
    with open(output, "w") as f:
        f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
