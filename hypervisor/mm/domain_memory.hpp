// The memory a domain owns: its frames (with ownership recorded in the frame table), its
// pseudo-physical to machine list, and the machine-to-phys table every PV guest reads
// (pv-abi-core.md §2.5, §7.1).
#pragma once

#include <cstdint>

#include "lib/result.hpp"
#include "mm/frame_info.hpp"

namespace xenolith {

struct Domain;

// The read-only M2P at 0xFFFF800000000000 (guest-readable), one entry per machine frame,
// ~0 for frames no guest owns. Set up once on the boot CPU.
Result<void> init_machine_to_phys();
void set_machine_to_phys(std::uint64_t mfn, std::uint64_t pfn);
std::uint64_t machine_to_phys(std::uint64_t mfn);

// Give `domain` nr_pages frames as PFNs 0..nr_pages-1 (tot_pages/max_pages = nr_pages).
// ENOMEM if the machine has not enough free memory (nothing is kept then).
Result<void> assign_domain_memory(Domain& domain, std::uint64_t nr_pages);
// Scrub and free every frame the domain owns.
void release_domain_memory(Domain& domain);

// One more frame for the domain (scrubbed, M2P[mfn] = pfn), within max_pages; ENOMEM beyond.
Result<std::uint64_t> allocate_domain_frame(Domain& domain, std::uint64_t pfn);
// Give a frame back: EINVAL if not the domain's, EBUSY while anything refers to it.
Result<void> free_domain_frame(Domain& domain, std::uint64_t mfn);

// The machine frame the builder put behind a PFN (~0 if none).
std::uint64_t domain_pfn_to_mfn(const Domain& domain, std::uint64_t pfn);
bool domain_owns_frame(const Domain& domain, std::uint64_t mfn);

}  // namespace xenolith
