// What the memory-management test kernels share: the start-of-day layout seen through the
// bootstrap page tables, spare frames and mapping windows, table writes, time and a PRNG.
// Source: pv-abi-core.md §2 (layout), §2.2 (bootstrap tables), §5.3, §5.10, §7.4.
#pragma once

#include <cstdint>

#include "xen/memory.hpp"
#include "xen/mm.hpp"
#include "xt/test.hpp"

namespace mmt {

// Architectural PTE bits (§7.4); the hypervisor adds US, bit 52 / G, A at L4.
inline constexpr std::uint64_t P = 1ull << 0;
inline constexpr std::uint64_t RW = 1ull << 1;
inline constexpr std::uint64_t US = 1ull << 2;
inline constexpr std::uint64_t PWT = 1ull << 3;
inline constexpr std::uint64_t PCD = 1ull << 4;
inline constexpr std::uint64_t A = 1ull << 5;
inline constexpr std::uint64_t D = 1ull << 6;
inline constexpr std::uint64_t PS = 1ull << 7;
inline constexpr std::uint64_t G = 1ull << 8;
inline constexpr std::uint64_t GUEST_KERNEL = 1ull << 52;
inline constexpr std::uint64_t GNTTAB = 1ull << 62;
inline constexpr std::uint64_t NX = 1ull << 63;
inline constexpr std::uint64_t FRAME_MASK = 0x000F'FFFF'FFFF'F000ull;
inline constexpr std::uint64_t DATA = P | RW | A | D;  // what our data mappings use
inline constexpr std::uint64_t INVALID_M2P = ~0ull;

// Signals between an attacking guest and its victim, through the M2P (§2.5: every guest can
// read all of it): a guest sets the M2P entry of its lowest spare frame to a marker with
// MMU_MACHPHYS_UPDATE, the other looks for it. The victim says READY once its memory is filled,
// the attacker DONE when it has finished, the victim CHECKED once it has seen DONE (so the
// attacker stays alive, and its marker visible, until then).
inline constexpr std::uint64_t READY_MAGIC = 0x00D0'4E00'4D4D'0001ull;
inline constexpr std::uint64_t DONE_MAGIC = 0x00D0'4E00'4D4D'0002ull;
inline constexpr std::uint64_t CHECKED_MAGIC = 0x00D0'4E00'4D4D'0003ull;
void set_marker(std::uint64_t marker);
bool marker_present(std::uint64_t marker);
// Yields until the marker shows up or `timeout_ns` of system time passed; true if it did.
bool wait_for_marker(std::uint64_t marker, std::uint64_t timeout_ns);

inline std::uint64_t frame_of(std::uint64_t entry) { return (entry & FRAME_MASK) >> 12; }

// Number of spare windows at the end of the bootstrap region (its 512 KiB padding, §2 item 6).
inline constexpr unsigned WINDOWS = 32;

// Learns the layout from start_info and the bootstrap page tables. Call first.
void init();

// The bootstrap L4 (start_info.pt_base) and its MFN.
std::uint64_t boot_l4_mfn();
// The PTE the bootstrap tables hold for `va` (0 when some level is not present). Readable only
// while every table on the path lies inside the bootstrap region (true for the builder's).
std::uint64_t boot_pte(std::uint64_t va);
// The frame and index of the bootstrap L1 entry mapping `va`, and its machine address.
std::uint64_t boot_l1_mfn(std::uint64_t va);
std::uint64_t boot_l1_entry_maddr(std::uint64_t va);
// The bootstrap L2 (the one covering VIRT_BASE) and L3.
std::uint64_t boot_l2_mfn();
std::uint64_t boot_l3_mfn();

// First VA past the bootstrap region; the PFN there.
std::uint64_t region_end();
// Window k (0 .. WINDOWS-1): a padding page at the end of the region we may remap at will.
std::uint64_t window(unsigned k);
// Maps `mfn` at window k (RW or RO) with update_va_mapping(UVMF_INVLPG); returns its result.
long map_window(unsigned k, std::uint64_t mfn, bool writable);
template <class T = std::uint64_t>
volatile T* window_ptr(unsigned k) {
    return reinterpret_cast<volatile T*>(window(k));
}

// Spare frames: PFNs from the top of memory down, never mapped by the builder. spare_count()
// of them are available (the top of memory down to the region end).
std::uint64_t spare_count();
std::uint64_t spare_pfn(std::uint64_t i);
std::uint64_t spare_mfn(std::uint64_t i);
// The guest's own P2M (start_info.mfn_list), writable.
void set_p2m(std::uint64_t pfn, std::uint64_t mfn);
// True if `mfn` is one of ours according to the M2P and our P2M.
bool own_frame(std::uint64_t mfn);

// Writes all 512 entries of an untyped frame with mmu_update (plain writes, §5.3); returns the
// hypercall's result.
long write_table(std::uint64_t mfn, const std::uint64_t* entries);
// One mmu_update request; `done` receives the done count.
long mmu_one(std::uint64_t ptr, std::uint64_t val, unsigned* done = nullptr, unsigned foreigndom = xen::DOMID_SELF);
long mmuext_one(std::uint32_t cmd, std::uint64_t arg1, std::uint64_t arg2 = 0, unsigned foreigndom = xen::DOMID_SELF);
long pin(unsigned level, std::uint64_t mfn);  // level 1..4
long unpin(std::uint64_t mfn);
long current_reservation();
// decrease_reservation / populate_physmap of one frame: the extent count (1 done, 0 refused).
long decrease_one(std::uint64_t mfn);
long populate_one(std::uint64_t pfn, std::uint64_t& mfn_out);

// The guest command line's `key=N` value (decimal or 0x-hex), or `fallback`.
std::uint64_t cmdline_number(const char* key, std::uint64_t fallback);
// System time in ns from the shared_info page's vcpu_time_info of vCPU 0 (§8.1).
std::uint64_t now_ns();

// xorshift64*: reproducible, seeded from the command line.
class Random {
public:
    explicit Random(std::uint64_t seed) : m_state(seed ? seed : 0x9E3779B97F4A7C15ull) {}
    std::uint64_t next() {
        m_state ^= m_state >> 12;
        m_state ^= m_state << 25;
        m_state ^= m_state >> 27;
        return m_state * 0x2545F4914F6CDD1Dull;
    }
    std::uint64_t below(std::uint64_t n) { return n ? next() % n : 0; }
    bool chance(unsigned one_in) { return below(one_in) == 0; }

private:
    std::uint64_t m_state;
};

}  // namespace mmt
