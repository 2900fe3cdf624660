// AP start-up (Intel SDM vol. 3 §9.4 "multiple-processor initialization").
#include "arch/x86_64/smp_boot.hpp"

#include "lib/atomic.hpp"
#include "lib/string.hpp"

#include "arch/x86_64/apic.hpp"
#include "arch/x86_64/cpu_setup.hpp"
#include "arch/x86_64/cr.hpp"
#include "arch/x86_64/paging.hpp"
#include "arch/x86_64/tsc.hpp"

extern "C" char ap_trampoline_start[], ap_trampoline_end[];
extern "C" char tramp_cr3[], tramp_cr4[], tramp_efer[], tramp_entry64[], tramp_stack[];
extern "C" char tramp_gdt_pointer[], tramp_gdt[], tramp_far_pointer[], tramp_code64[], tramp_alive[];
extern "C" const std::uint64_t boot_pml4_address;  // boot.S: physical, below 4 GiB
extern "C" void ap_entry64();

namespace xenolith::arch {

namespace {

std::uint64_t g_page = 0;

// The address of a trampoline field in the installed copy.
template <typename T>
T* field(const char* symbol) {
    return reinterpret_cast<T*>(static_cast<char*>(phys_to_virt(g_page)) + (symbol - ap_trampoline_start));
}
std::uint32_t physical_of(const char* symbol) {
    return static_cast<std::uint32_t>(g_page + static_cast<std::uint64_t>(symbol - ap_trampoline_start));
}

void wait_us(std::uint64_t us) {
    const std::uint64_t start = rdtsc();
    const std::uint64_t ticks = tsc_hz() / 1'000'000 * us;
    while (rdtsc() - start < ticks)
        pause();
}

}  // namespace

void install_trampoline(std::uint64_t page_phys) {
    g_page = page_phys;
    std::memcpy(phys_to_virt(page_phys), ap_trampoline_start,
                static_cast<std::size_t>(ap_trampoline_end - ap_trampoline_start));
    // GDTR: 16-bit limit, then the 32-bit physical base of the trampoline's GDT.
    std::uint32_t gdt_base = physical_of(tramp_gdt);
    std::memcpy(field<char>(tramp_gdt_pointer) + 2, &gdt_base, 4);
    *field<std::uint32_t>(tramp_far_pointer) = physical_of(tramp_code64);
    // The boot page tables (identity map for the switch, high image map) sit below 4 GiB.
    *field<std::uint64_t>(tramp_cr3) = boot_pml4_address;
    *field<std::uint64_t>(tramp_cr4) = boot_cr4();
    *field<std::uint64_t>(tramp_efer) = boot_efer();
    *field<std::uint64_t>(tramp_entry64) = reinterpret_cast<std::uint64_t>(&ap_entry64);
}

Result<void> wake_processor(std::uint32_t apic_id, std::uint64_t stack_pointer) {
    auto* alive = field<Atomic<std::uint32_t>>(tramp_alive);
    alive->store(0);
    *field<std::uint64_t>(tramp_stack) = stack_pointer;

    LocalApic& lapic = local_apic();
    lapic.send_init(apic_id);
    wait_us(10'000);
    const auto vector_page = static_cast<std::uint8_t>(g_page >> 12);
    for (int attempt = 0; attempt < 2 && !alive->load(); ++attempt) {
        lapic.send_startup(apic_id, vector_page);
        wait_us(200);
    }
    // Allow a generous second for TCG on a loaded machine.
    for (int ms = 0; ms < 1000 && !alive->load(); ++ms)
        wait_us(1000);
    return alive->load() ? ok() : Result<void>(Errno::ETIMEDOUT);
}

}  // namespace xenolith::arch
