// The table of CPUs and this_cpu().
#include "core/cpu.hpp"

#include "arch/x86_64/cr.hpp"
#include "mm/page_allocator.hpp"

namespace xenolith {

namespace {
Cpu g_boot_cpu;
Cpu* g_cpus[MAX_CPUS] = {&g_boot_cpu};
unsigned g_present = 1;

TypedSlab<Cpu>& cpu_cache() {
    static TypedSlab<Cpu> cache("cpu", slab_page_provider());
    return cache;
}
}  // namespace

Cpu& this_cpu() {
    const std::uintptr_t block = arch::read_rsp() & ~static_cast<std::uintptr_t>(STACK_BLOCK_SIZE - 1);
    return *stack_top_of(block)->cpu;
}

Cpu& cpu_by_index(unsigned index) { return *g_cpus[index]; }
Cpu& boot_cpu() { return g_boot_cpu; }

Result<Cpu*> create_cpu(unsigned index) {
    if (index >= MAX_CPUS || g_cpus[index])
        return Error{Errno::EINVAL};
    Cpu* cpu = TRY(cpu_cache().create());
    cpu->index = index;
    g_cpus[index] = cpu;
    return cpu;
}
unsigned cpus_present() { return g_present; }
void set_cpus_present(unsigned count) { g_present = count; }

unsigned cpus_online() {
    unsigned count = 0;
    for (unsigned i = 0; i < g_present; ++i)
        count += g_cpus[i] && g_cpus[i]->online.load() ? 1 : 0;
    return count;
}

}  // namespace xenolith
