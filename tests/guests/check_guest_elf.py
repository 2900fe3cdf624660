#!/usr/bin/env python3
"""guests.notes: check that each test-kernel ELF is something a Xen PV builder accepts.

Checks (pv-abi-core.md §1.1, §1.2): readelf -n lists notes owned by "Xen"; the notes GUEST_OS,
XEN_VERSION ("xen-3.0"...), LOADER ("generic"), VIRT_BASE, PADDR_OFFSET (0), ENTRY and FEATURES
are present with the expected values; ENTRY lies in an executable PT_LOAD; every PT_LOAD has
p_paddr = p_vaddr - VIRT_BASE (segments are placed by p_paddr); no PT_LOAD is W+X; a
HYPERCALL_PAGE note, when present, names a page-aligned address in an executable PT_LOAD.
"""
import argparse
import struct
import subprocess
import sys

PT_LOAD, PT_NOTE = 1, 4
PF_X, PF_W = 1, 2
NOTE = {"ENTRY": 1, "HYPERCALL_PAGE": 2, "VIRT_BASE": 3, "PADDR_OFFSET": 4, "XEN_VERSION": 5,
        "GUEST_OS": 6, "LOADER": 8, "FEATURES": 10}
EXPECTED_VIRT_BASE = 0xFFFFFFFF80000000


def program_headers(data):
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError("not a little-endian ELF64 file")
    e_machine, = struct.unpack_from("<H", data, 18)
    if e_machine != 62:
        raise ValueError("not EM_X86_64")
    e_entry, e_phoff = struct.unpack_from("<QQ", data, 24)
    e_phentsize, e_phnum = struct.unpack_from("<HH", data, 54)
    headers = []
    for i in range(e_phnum):
        p_type, p_flags, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, _ = struct.unpack_from(
            "<IIQQQQQQ", data, e_phoff + i * e_phentsize)
        headers.append(dict(type=p_type, flags=p_flags, offset=p_offset, vaddr=p_vaddr,
                            paddr=p_paddr, filesz=p_filesz, memsz=p_memsz))
    return e_entry, headers


def xen_notes(data, headers):
    notes = {}
    for ph in headers:
        if ph["type"] != PT_NOTE or ph["offset"] == 0:  # §1.1: p_offset 0 is skipped
            continue
        pos, end = ph["offset"], ph["offset"] + ph["filesz"]
        while pos + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", data, pos)
            name = data[pos + 12:pos + 12 + namesz]
            desc_at = pos + 12 + ((namesz + 3) & ~3)
            desc = data[desc_at:desc_at + descsz]
            pos = desc_at + ((descsz + 3) & ~3)
            if name == b"Xen\x00":
                notes[ntype] = desc
    return notes


def numeric(desc):
    # §1.1: sizes 1, 2, 4, 8 are little-endian integers; anything else reads as 0.
    return int.from_bytes(desc, "little") if len(desc) in (1, 2, 4, 8) else 0


def string(desc):
    return desc.split(b"\x00", 1)[0].decode("ascii", "replace")


def check(path, readelf, want_hypercall_page):
    errors = []
    with open(path, "rb") as f:
        data = f.read()
    entry, headers = program_headers(data)
    notes = xen_notes(data, headers)
    loads = [ph for ph in headers if ph["type"] == PT_LOAD]

    shown = subprocess.run([readelf, "-nW", path], check=True, capture_output=True, text=True).stdout
    if "Xen" not in shown:
        errors.append("readelf -n shows no notes owned by Xen")

    for name in ("GUEST_OS", "XEN_VERSION", "LOADER", "VIRT_BASE", "PADDR_OFFSET", "ENTRY", "FEATURES"):
        if NOTE[name] not in notes:
            errors.append(f"missing Xen note {name} ({NOTE[name]})")
    if errors:
        return errors

    if string(notes[NOTE["GUEST_OS"]]) != "Xenolith-test":
        errors.append(f"GUEST_OS is {string(notes[NOTE['GUEST_OS']])!r}")
    if not string(notes[NOTE["XEN_VERSION"]]).startswith("xen-3.0"):
        errors.append("XEN_VERSION does not start with xen-3.0")
    if not string(notes[NOTE["LOADER"]]).startswith("generic"):
        errors.append("LOADER is not generic")
    if string(notes[NOTE["FEATURES"]]) != "!writable_page_tables|pae_pgdir_above_4gb":
        errors.append(f"FEATURES is {string(notes[NOTE['FEATURES']])!r}")
    virt_base = numeric(notes[NOTE["VIRT_BASE"]])
    if virt_base != EXPECTED_VIRT_BASE:
        errors.append(f"VIRT_BASE is {virt_base:#x}")
    if numeric(notes[NOTE["PADDR_OFFSET"]]) != 0:
        errors.append("PADDR_OFFSET is not 0")
    note_entry = numeric(notes[NOTE["ENTRY"]])
    if note_entry != entry:
        errors.append(f"ENTRY note {note_entry:#x} differs from e_entry {entry:#x}")

    def in_exec_load(addr):
        return any(ph["flags"] & PF_X and ph["vaddr"] <= addr < ph["vaddr"] + ph["memsz"] for ph in loads)

    if not in_exec_load(note_entry):
        errors.append(f"ENTRY {note_entry:#x} is not inside an executable PT_LOAD")
    if want_hypercall_page and NOTE["HYPERCALL_PAGE"] not in notes:
        errors.append("asked for a hypercall page but has no HYPERCALL_PAGE note")
    if NOTE["HYPERCALL_PAGE"] in notes:
        page = numeric(notes[NOTE["HYPERCALL_PAGE"]])
        if page % 4096 != 0 or not in_exec_load(page):
            errors.append(f"HYPERCALL_PAGE {page:#x} is not a page-aligned executable address")

    if not loads:
        errors.append("no PT_LOAD segments")
    for ph in loads:
        if ph["flags"] & PF_W and ph["flags"] & PF_X:
            errors.append(f"PT_LOAD at {ph['vaddr']:#x} is both writable and executable")
        if ph["paddr"] != (ph["vaddr"] - virt_base) & 0xFFFFFFFFFFFFFFFF:
            errors.append(f"PT_LOAD at {ph['vaddr']:#x} has p_paddr {ph['paddr']:#x}, not p_vaddr - VIRT_BASE")
        if ph["vaddr"] < virt_base:
            errors.append(f"PT_LOAD at {ph['vaddr']:#x} lies below VIRT_BASE")
    return errors


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readelf", default="readelf")
    parser.add_argument("--with-hypercall-page", action="append", default=[],
                        help="an ELF (also listed among the others) that must carry HYPERCALL_PAGE")
    parser.add_argument("elves", nargs="+")
    args = parser.parse_args()
    failed = False
    for path in dict.fromkeys(args.elves + args.with_hypercall_page):
        errors = check(path, args.readelf, path in args.with_hypercall_page)
        for e in errors:
            print(f"{path}: {e}")
        if errors:
            failed = True
        else:
            print(f"{path}: ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
