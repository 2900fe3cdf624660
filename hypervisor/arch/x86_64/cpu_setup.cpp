// Control registers, IDT, GDT and TSS set-up.
#include "arch/x86_64/cpu_setup.hpp"

#include "lib/string.hpp"

#include "arch/x86_64/cpu_features.hpp"
#include "arch/x86_64/cr.hpp"
#include "arch/x86_64/descriptors.hpp"
#include "arch/x86_64/layout.h"
#include "arch/x86_64/msr.hpp"
#include "arch/x86_64/paging.hpp"
#include "arch/x86_64/trap_frame.hpp"
#include "arch/x86_64/xstate.hpp"
#include "arch/x86_64/uaccess.hpp"
#include "core/cpu.hpp"
#include "mm/kernel_space.hpp"
#include "mm/page_allocator.hpp"

extern "C" char interrupt_stubs[];

namespace xenolith::arch {

namespace {

constexpr unsigned IDT_ENTRIES = 256;
constexpr std::uint64_t STUB_SIZE = 16;
// The GDT window spans the 14 guest pages plus the reserved page (§2.6).
constexpr unsigned GDT_WINDOW_PAGES = GDT_FIRST_RESERVED_BYTE / 4096 + 1;
constexpr std::uint16_t GDT_LIMIT = GDT_FIRST_RESERVED_BYTE + 4096 - 1;

alignas(4096) InterruptGate g_idt[IDT_ENTRIES];
alignas(8) std::uint64_t g_early_gdt[3] = {0, SegmentDescriptor::flat_code64(0), SegmentDescriptor::flat_data(0)};

// One read-only page of zeroes backs the guest part of every GDT window while no guest GDT is
// installed: loading a selector there finds a not-present descriptor and faults cleanly.
std::uint64_t g_zero_page_phys = 0;

std::uint64_t g_efer = 0;
std::uint64_t g_cr4 = 0;

unsigned selector_index(std::uint16_t selector) { return (selector & ~7u) / 8 - GDT_FIRST_RESERVED_BYTE / 8; }

}  // namespace

void configure_control_registers() {
    const CpuFeatures& f = cpu_features();
    if (!g_efer) {
        g_efer = rdmsr(msr::EFER) | efer::SCE;
        if (f.nx)
            g_efer |= efer::NXE;
        g_cr4 = read_cr4() | cr4::OSFXSR | cr4::OSXMMEXCPT;
        if (f.pge)
            g_cr4 |= cr4::PGE;
        if (f.smep)
            g_cr4 |= cr4::SMEP;
        if (f.smap) {
            g_cr4 |= cr4::SMAP;
            smap_enabled = true;
        }
        xstate_init_policy();
        if (xstate_policy().enabled)
            g_cr4 |= cr4::OSXSAVE;  // guests' x87/SSE/AVX state is switched with XSAVE
    }
    wrmsr(msr::EFER, g_efer);
    write_cr4(g_cr4);
    xstate_init_this_cpu();
    write_cr0(read_cr0() | cr0::WP | cr0::NE | cr0::MP);
}

std::uint64_t boot_efer() { return g_efer; }
std::uint64_t boot_cr4() { return g_cr4 & ~(cr4::SMEP | cr4::SMAP | cr4::PGE); }

void build_idt() {
    const auto stubs = reinterpret_cast<std::uint64_t>(interrupt_stubs);
    for (unsigned v = 0; v < IDT_ENTRIES; ++v) {
        // Guests (ring 3) may raise #BP, #OF and `int $0x80` directly (pv-abi-core.md §6.5);
        // every other `int n` hits a DPL-0 gate and becomes a #GP the hypervisor examines.
        const bool guest_callable = v == vector::BREAKPOINT || v == 4 || v == vector::GUEST_INT80;
        g_idt[v] = InterruptGate::make(stubs + v * STUB_SIZE, SEL_HV_CS, 0, guest_callable ? 3 : 0);
    }
}

void enable_ist_gates() {
    const auto stubs = reinterpret_cast<std::uint64_t>(interrupt_stubs);
    auto set = [&](unsigned vec, unsigned ist) {
        g_idt[vec] = InterruptGate::make(stubs + vec * STUB_SIZE, SEL_HV_CS, ist, 0);
    };
    // Guest-triggerable entries come from ring 3 and always switch to TSS.rsp0; NMI/#DF/#MC may
    // hit anywhere, so they get their own stacks.
    set(vector::DOUBLE_FAULT, IST_DOUBLE_FAULT);
    set(vector::NMI, IST_NMI);
    set(vector::MACHINE_CHECK, IST_MACHINE_CHECK);
}

void load_idt() {
    const DescriptorTablePointer pointer{sizeof(g_idt) - 1, reinterpret_cast<std::uint64_t>(g_idt)};
    lidt(pointer);
}

void load_early_gdt() {
    const DescriptorTablePointer pointer{sizeof(g_early_gdt) - 1, reinterpret_cast<std::uint64_t>(g_early_gdt)};
    lgdt(pointer);
    reload_segments(0x08, 0x10);
}

std::uint64_t gdt_filler_page() { return g_zero_page_phys; }

Result<void> setup_cpu_descriptors(Cpu& cpu) {
    if (!g_zero_page_phys)
        g_zero_page_phys = TRY(allocate_zeroed_frame());

    const std::uint64_t gdt_page_phys = TRY(allocate_zeroed_frame());
    auto* gdt = static_cast<std::uint64_t*>(phys_to_virt(gdt_page_phys));
    gdt[selector_index(SEL_HV_CS)] = SegmentDescriptor::flat_code64(0);
    gdt[selector_index(SEL_HV_DS)] = SegmentDescriptor::flat_data(0);
    gdt[selector_index(SEL_RING3_CS32)] = SegmentDescriptor::flat_code32(3);
    gdt[selector_index(SEL_RING3_DS)] = SegmentDescriptor::flat_data(3);
    gdt[selector_index(SEL_RING3_CS64)] = SegmentDescriptor::flat_code64(3);
    // Per-CPU entry: a data descriptor whose limit is the CPU number (as Xen does, §2.6).
    gdt[selector_index(SEL_PERCPU)] = 0x0000f30000000000ull | cpu.index;

    // TSS: ring-0 stack at the top of the stack block, IST stacks in its first pages.
    std::memset(&cpu.tss, 0, sizeof(cpu.tss));
    const std::uintptr_t block = cpu.stack_block;
    cpu.tss.rsp[0] = reinterpret_cast<std::uintptr_t>(stack_top_of(block));
    cpu.tss.ist[IST_DOUBLE_FAULT - 1] = block + 1 * 4096;
    cpu.tss.ist[IST_NMI - 1] = block + 2 * 4096;
    cpu.tss.ist[IST_MACHINE_CHECK - 1] = block + 3 * 4096;
    cpu.tss.io_bitmap_offset = sizeof(TaskStateSegment);  // no I/O bitmap yet
    const SystemDescriptor tss = SystemDescriptor::make(reinterpret_cast<std::uint64_t>(&cpu.tss),
                                                        sizeof(TaskStateSegment) - 1,
                                                        SystemDescriptor::TYPE_TSS_AVAILABLE);
    gdt[selector_index(SEL_TSS)] = tss.low;
    gdt[selector_index(SEL_TSS) + 1] = tss.high;

    // The window: 14 read-only zero pages, then this CPU's reserved page.
    const std::uintptr_t window = PERCPU_WINDOW_BASE + cpu.index * PERCPU_WINDOW_STRIDE;
    for (unsigned page = 0; page + 1 < GDT_WINDOW_PAGES; ++page) {
        TRY(kernel_map(window + page * 4096, g_zero_page_phys, 4096, MapAttributes::read_only()));
        cpu.gdt_window_frames[page] = g_zero_page_phys;
    }
    TRY(kernel_map(window + GDT_FIRST_RESERVED_BYTE, gdt_page_phys, 4096, MapAttributes::data()));

    cpu.reserved_gdt_page = gdt;
    cpu.gdt_window = window;
    lgdt(DescriptorTablePointer{GDT_LIMIT, window});
    reload_segments(SEL_HV_CS, SEL_HV_DS);
    ltr(SEL_TSS);
    return ok();
}

}  // namespace xenolith::arch
