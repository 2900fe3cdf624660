// Segment, system and gate descriptors as typed values (no bitfields), plus lgdt/lidt/ltr.
#pragma once

#include <cstddef>
#include <cstdint>

namespace xenolith::arch {

// An 8-byte code/data segment descriptor.
class SegmentDescriptor {
public:
    static constexpr std::uint64_t flat_code64(unsigned dpl) { return 0x00af9b000000ffffull | dpl_bits(dpl); }
    static constexpr std::uint64_t flat_code32(unsigned dpl) { return 0x00cf9b000000ffffull | dpl_bits(dpl); }
    static constexpr std::uint64_t flat_data(unsigned dpl) { return 0x00cf93000000ffffull | dpl_bits(dpl); }

private:
    static constexpr std::uint64_t dpl_bits(unsigned dpl) { return std::uint64_t{dpl & 3} << 45; }
};

// A 16-byte system descriptor (64-bit TSS or LDT), returned as its two quadwords.
struct SystemDescriptor {
    std::uint64_t low, high;

    static constexpr std::uint64_t TYPE_TSS_AVAILABLE = 0x9;
    static constexpr std::uint64_t TYPE_LDT = 0x2;

    static constexpr SystemDescriptor make(std::uint64_t base, std::uint32_t limit, std::uint64_t type) {
        std::uint64_t low = (limit & 0xffffull) | ((base & 0xffffffull) << 16) | (type << 40) |
                            (1ull << 47) /* present */ | ((std::uint64_t{limit} >> 16 & 0xf) << 48) |
                            (((base >> 24) & 0xff) << 56);
        return {low, base >> 32};
    }
};

// The 64-bit task-state segment (Intel SDM vol. 3 §8.7).
struct [[gnu::packed]] TaskStateSegment {
    std::uint32_t reserved0;
    std::uint64_t rsp[3];
    std::uint64_t reserved1;
    std::uint64_t ist[7];  // ist[0] is IST1
    std::uint64_t reserved2;
    std::uint16_t reserved3;
    std::uint16_t io_bitmap_offset;
};
static_assert(sizeof(TaskStateSegment) == 104);
static_assert(offsetof(TaskStateSegment, ist) == 0x24);

// A 16-byte 64-bit interrupt gate.
struct InterruptGate {
    std::uint64_t low, high;

    static constexpr InterruptGate make(std::uint64_t handler, std::uint16_t selector, unsigned ist, unsigned dpl) {
        std::uint64_t low = (handler & 0xffff) | (std::uint64_t{selector} << 16) | (std::uint64_t{ist & 7} << 32) |
                            (0xeull << 40) /* 64-bit interrupt gate */ | (std::uint64_t{dpl & 3} << 45) |
                            (1ull << 47) | (((handler >> 16) & 0xffff) << 48);
        return {low, handler >> 32};
    }
};
static_assert(sizeof(InterruptGate) == 16);

struct [[gnu::packed]] DescriptorTablePointer {
    std::uint16_t limit;
    std::uint64_t base;
};

inline void lgdt(const DescriptorTablePointer& p) { asm volatile("lgdt %0" ::"m"(p) : "memory"); }
inline void lidt(const DescriptorTablePointer& p) { asm volatile("lidt %0" ::"m"(p) : "memory"); }
inline void ltr(std::uint16_t selector) { asm volatile("ltr %0" ::"r"(selector) : "memory"); }
inline void lldt(std::uint16_t selector) { asm volatile("lldt %0" ::"r"(selector) : "memory"); }

// Reload CS with a far return, and the data segment registers, after a new GDT is loaded.
inline void reload_segments(std::uint16_t code, std::uint16_t data) {
    asm volatile(
        "pushq %q0\n\t"
        "leaq 1f(%%rip), %%rax\n\t"
        "pushq %%rax\n\t"
        "lretq\n"
        "1:\n\t"
        "movw %w1, %%ds\n\t"
        "movw %w1, %%es\n\t"
        "movw %w1, %%ss\n\t"
        :
        : "r"(std::uint64_t{code}), "r"(data)
        : "rax", "memory");
}

}  // namespace xenolith::arch
