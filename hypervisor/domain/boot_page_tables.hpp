// Contents of a PV domain's boot frames: bootstrap page tables, start_info and the hypercall page.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "domain/boot_layout.hpp"
#include "lib/diagnostics.hpp"
#include "lib/result.hpp"

namespace xenolith {

// Entry flags the domU builder writes (pv-abi-core.md §2.2): L1 P|RW|A, L1 of a page-table frame
// P|A (read-only), L2-L4 P|RW|US|A|D.
inline constexpr std::uint64_t kBootL1Flags = 0x23;
inline constexpr std::uint64_t kBootL1ReadOnlyFlags = 0x21;
inline constexpr std::uint64_t kBootUpperFlags = 0x67;
inline constexpr std::uint64_t kPteAddressMask = 0x000ffffffffff000;

inline constexpr std::size_t kStartInfoSize = 1168;   // §3.1
inline constexpr std::size_t kMaxGuestCmdline = 1024;  // including the NUL (§3.1)

// The machine frame backing each pseudo-physical frame of the domain.
class PfnToMfn {
public:
    virtual std::uint64_t mfn_of(std::uint64_t pfn) const = 0;

protected:
    ~PfnToMfn() = default;
};

// Receives one page-table entry: write `value` at `index` of the table held in `table_pfn`.
class PageTableEntrySink {
public:
    virtual Result<void> set_entry(std::uint64_t table_pfn, std::uint32_t index, std::uint64_t value) = 0;

protected:
    ~PageTableEntrySink() = default;
};

// Emit every non-zero entry of the bootstrap tables (main region and INIT_P2M region), each once,
// into table frames the caller has zeroed. The hypervisor's L4 slots 256-271 are never written:
// the hypervisor installs them itself (§2.5). EINVAL (with a message) if an MFN cannot be mapped.
Result<void> emit_boot_page_tables(const DomainLayout& layout, const PfnToMfn& p2m, PageTableEntrySink& sink,
                                   Diagnostics& diag);

// What start_info needs beyond the layout: frames and ports the hypervisor allocated.
struct StartInfoInputs {
    std::uint64_t shared_info_maddr = 0;  // machine *address* of shared_info (§3.1)
    std::uint64_t store_mfn = 0;          // domU only
    std::uint32_t store_evtchn = 0;
    std::uint64_t console_mfn = 0;  // domU only
    std::uint32_t console_evtchn = 0;
    std::string_view cmdline;
};

// Zero the page and write struct start_info (§3.1, §2.8). E2BIG if the command line exceeds
// 1023 characters (it is refused, not cut, so the guest never boots with half an option).
Result<void> fill_start_info(const DomainLayout& layout, const StartInfoInputs& inputs,
                             std::span<std::byte, 4096> page, Diagnostics& diag);

// Fill the page with int3 and a 32-byte syscall stub per hypercall index, the iret one for 23 (§4.1).
void fill_hypercall_page(std::span<std::byte, 4096> page);

}  // namespace xenolith
