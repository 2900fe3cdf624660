// Control registers and the instructions that act on the whole CPU (hlt, cli, invlpg, ...).
#pragma once

#include <cstdint>

namespace xenolith::arch {

namespace cr0 {
inline constexpr std::uint64_t PE = 1u << 0;
inline constexpr std::uint64_t MP = 1u << 1;
inline constexpr std::uint64_t EM = 1u << 2;
inline constexpr std::uint64_t TS = 1u << 3;
inline constexpr std::uint64_t NE = 1u << 5;
inline constexpr std::uint64_t WP = 1u << 16;
inline constexpr std::uint64_t PG = 1u << 31;
}  // namespace cr0

namespace cr4 {
inline constexpr std::uint64_t PAE = 1u << 5;
inline constexpr std::uint64_t PGE = 1u << 7;
inline constexpr std::uint64_t OSFXSR = 1u << 9;
inline constexpr std::uint64_t OSXMMEXCPT = 1u << 10;
inline constexpr std::uint64_t UMIP = 1u << 11;
inline constexpr std::uint64_t FSGSBASE = 1u << 16;
inline constexpr std::uint64_t OSXSAVE = 1u << 18;
inline constexpr std::uint64_t SMEP = 1u << 20;
inline constexpr std::uint64_t SMAP = 1u << 21;
}  // namespace cr4

inline std::uint64_t read_cr0() { std::uint64_t v; asm volatile("mov %%cr0, %0" : "=r"(v)); return v; }
inline void write_cr0(std::uint64_t v) { asm volatile("mov %0, %%cr0" ::"r"(v) : "memory"); }
inline std::uint64_t read_cr2() { std::uint64_t v; asm volatile("mov %%cr2, %0" : "=r"(v)); return v; }
inline std::uint64_t read_cr3() { std::uint64_t v; asm volatile("mov %%cr3, %0" : "=r"(v)); return v; }
inline void write_cr3(std::uint64_t v) { asm volatile("mov %0, %%cr3" ::"r"(v) : "memory"); }
inline std::uint64_t read_cr4() { std::uint64_t v; asm volatile("mov %%cr4, %0" : "=r"(v)); return v; }
inline void write_cr4(std::uint64_t v) { asm volatile("mov %0, %%cr4" ::"r"(v) : "memory"); }

inline void invlpg(std::uint64_t va) { asm volatile("invlpg (%0)" ::"r"(va) : "memory"); }

// Load a page-table root and drop every cached translation, global ones included: a CR3 write
// keeps global entries, clearing CR4.PGE drops them (SDM Vol. 3 §4.10.4.1). Guest user mappings
// are global (they survive the guest's kernel/user switch, pv-abi-core.md §7.4), so entering
// another address space - another vCPU, a new base pointer - needs this, not a plain CR3 write.
inline void write_cr3_flush_global(std::uint64_t root) {
    const std::uint64_t cr4 = read_cr4();
    if (cr4 & cr4::PGE)
        write_cr4(cr4 & ~cr4::PGE);
    write_cr3(root);
    if (cr4 & cr4::PGE)
        write_cr4(cr4);
}

// Drop every cached translation, global ones included, keeping the current root.
inline void flush_tlb_global() {
    const std::uint64_t cr4 = read_cr4();
    if (cr4 & cr4::PGE) {
        write_cr4(cr4 & ~cr4::PGE);
        write_cr4(cr4);
    } else {
        write_cr3(read_cr3());
    }
}

inline void cli() { asm volatile("cli" ::: "memory"); }
inline void sti() { asm volatile("sti" ::: "memory"); }
inline void hlt() { asm volatile("hlt" ::: "memory"); }
// Enable interrupts and halt atomically: sti's one-instruction shadow covers hlt.
inline void sti_hlt() { asm volatile("sti; hlt" ::: "memory"); }
inline void pause() { asm volatile("pause"); }
inline void stac() { asm volatile("stac" ::: "memory", "cc"); }
inline void clac() { asm volatile("clac" ::: "memory", "cc"); }

inline std::uint64_t read_rflags() {
    std::uint64_t v;
    asm volatile("pushfq; popq %0" : "=r"(v));
    return v;
}
inline constexpr std::uint64_t RFLAGS_IF = 1u << 9;

inline std::uint64_t read_rbp() { std::uint64_t v; asm volatile("mov %%rbp, %0" : "=r"(v)); return v; }
inline std::uint64_t read_rsp() { std::uint64_t v; asm volatile("mov %%rsp, %0" : "=r"(v)); return v; }

inline std::uint64_t rdtsc() {
    std::uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (std::uint64_t{hi} << 32) | lo;
}

}  // namespace xenolith::arch
