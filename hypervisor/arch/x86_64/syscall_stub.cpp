// Generating the per-CPU syscall stubs.
#include "arch/x86_64/syscall_stub.hpp"

#include <cstdint>

#include "arch/x86_64/layout.h"
#include "arch/x86_64/msr.hpp"
#include "arch/x86_64/paging.hpp"
#include "core/cpu.hpp"
#include "lib/string.hpp"
#include "mm/kernel_space.hpp"
#include "mm/page_allocator.hpp"

extern "C" char syscall_entry[];

namespace xenolith::arch {

namespace {

// RFLAGS bits cleared on syscall entry: TF, IF, DF, NT, RF, VM, AC (Xen's XEN_SYSCALL_MASK,
// pv-abi-core.md §2.6). Interrupts stay off until the hypervisor is on its own stack.
constexpr std::uint64_t SYSCALL_FLAG_MASK = 0x100 | 0x200 | 0x400 | 0x4000 | 0x10000 | 0x20000 | 0x40000;

class StubWriter {
public:
    StubWriter(std::uint8_t* code, std::uint64_t code_va) : m_code(code), m_va(code_va) {}
    void bytes(std::initializer_list<std::uint8_t> list) {
        for (std::uint8_t b : list)
            m_code[m_length++] = b;
    }
    void u32(std::uint32_t value) {
        memcpy(m_code + m_length, &value, 4);
        m_length += 4;
    }
    void u64(std::uint64_t value) {
        memcpy(m_code + m_length, &value, 8);
        m_length += 8;
    }
    // A RIP-relative displacement to `target` from the end of an instruction whose disp32
    // field is the last thing written before the end.
    void rel32(std::uint64_t target) { u32(static_cast<std::uint32_t>(target - (m_va + m_length + 4))); }
    void pad_to(std::size_t offset) {
        while (m_length < offset)
            m_code[m_length++] = 0xcc;
    }
    std::uint64_t here() const { return m_va + m_length; }

private:
    std::uint8_t* m_code;
    std::uint64_t m_va;
    std::size_t m_length = 0;
};

}  // namespace

Result<void> install_syscall_entry(Cpu& cpu) {
    const std::uint64_t code_phys = TRY(allocate_zeroed_frame());
    const std::uint64_t data_phys = TRY(allocate_zeroed_frame());
    const std::uint64_t window = PERCPU_WINDOW_BASE + cpu.index * std::uint64_t{PERCPU_WINDOW_STRIDE};
    const std::uint64_t code_va = window + PERCPU_SYSCALL_STUB_OFFSET;
    const std::uint64_t data_va = window + PERCPU_SYSCALL_DATA_OFFSET;
    const auto stack_top = reinterpret_cast<std::uint64_t>(stack_top_of(cpu.stack_block));

    // Written through the direct map (writable, not executable); run from the window
    // (executable, not writable): no mapping is both.
    StubWriter w(static_cast<std::uint8_t*>(phys_to_virt(code_phys)), code_va);
    constexpr std::size_t TARGET_OFFSET = 48;
    w.bytes({0x48, 0x89, 0x25});  // mov %rsp, data(%rip)
    w.rel32(data_va);
    w.bytes({0x48, 0xbc});        // movabs $stack_top, %rsp
    w.u64(stack_top);
    w.bytes({0x68});              // push $FLAT_RING3_SS
    w.u32(SEL_RING3_DS);
    w.bytes({0xff, 0x35});        // push data(%rip): the guest rsp
    w.rel32(data_va);
    w.bytes({0xff, 0x25});        // jmp *target(%rip)
    w.rel32(code_va + TARGET_OFFSET);
    w.pad_to(TARGET_OFFSET);
    w.u64(reinterpret_cast<std::uint64_t>(syscall_entry));

    TRY(kernel_map(code_va, code_phys, PAGE_SIZE, MapAttributes::code()));
    TRY(kernel_map(data_va, data_phys, PAGE_SIZE, MapAttributes::data()));

    wrmsr(msr::STAR, (std::uint64_t{SEL_RING3_CS32} << 48) | (std::uint64_t{SEL_HV_CS} << 32));
    wrmsr(msr::LSTAR, code_va);
    wrmsr(msr::CSTAR, code_va);
    wrmsr(msr::SFMASK, SYSCALL_FLAG_MASK);
    return ok();
}

}  // namespace xenolith::arch
