// The hypervisor's own address space: the idle page tables (image W^X, direct map of RAM, MMIO
// window, per-CPU windows) shared by every CPU.
#pragma once

#include <cstdint>
#include <span>

#include "arch/x86_64/paging.hpp"
#include "boot/multiboot.hpp"
#include "lib/result.hpp"

// Physical address of the idle PML4, read by ap_entry64 (assembly).
extern "C" std::uint64_t idle_page_table_root;

namespace xenolith {

// Build the final page tables from the memory map and switch this CPU to them. Before this the
// boot tables (first 4 GiB identity and direct-mapped, RWX) are in use.
Result<void> build_kernel_space(std::span<const MemoryRegion> memory_map);

// Map more of the hypervisor's space (page-table frames come from the early pool before the page
// allocator exists, from it afterwards).
Result<void> kernel_map(std::uintptr_t virt, std::uint64_t phys, std::uint64_t size, arch::MapAttributes attributes);

// Point an existing 4 KiB mapping of the hypervisor's space at another frame (flushing it here;
// the per-CPU windows this is for are only used by their own CPU).
void remap_kernel_page(std::uintptr_t virt, std::uint64_t phys, arch::MapAttributes attributes);

// Map device registers uncached into the MMIO window; returns their virtual address.
Result<std::uintptr_t> map_mmio(std::uint64_t phys, std::uint64_t size);

// Where page-table frames come from once the page allocator runs.
void use_page_allocator_for_page_tables();

// Highest physical address + 1 covered by the direct map.
std::uint64_t direct_map_end();
// Is [phys, phys+len) inside a RAM region the direct map covers?
bool is_direct_mapped(std::uint64_t phys, std::uint64_t len);

}  // namespace xenolith
