// GuestFrames: the memory backend the PV memory-safety core runs over (real frames or a test fake).
#pragma once

#include <cstdint>

#include "mm/frame_info.hpp"

namespace xenolith {

// Everything PageRefs and PageTableValidator need from memory. The hypervisor implements it
// over the direct map and the frame table; host tests over a plain array. Frames are page-table
// sized: 512 eight-byte entries. Callers guarantee mfn < frame_count() and index < 512 (the
// core checks guest-supplied values before calling).
class GuestFrames {
public:
    static constexpr unsigned kEntriesPerFrame = 512;

    // Frames [0, frame_count()) have a FrameInfo; anything above is not RAM (MMIO or nothing).
    virtual std::uint64_t frame_count() const = 0;
    virtual FrameInfo& info(std::uint64_t mfn) = 0;
    virtual std::uint64_t read_entry(std::uint64_t mfn, unsigned index) const = 0;
    virtual void write_entry(std::uint64_t mfn, unsigned index, std::uint64_t value) = 0;
    // Store `desired` if the entry still holds `expected`; return what the entry held. Real
    // memory needs this because the MMU sets Accessed/Dirty bits concurrently (§5.3 cmd 2).
    virtual std::uint64_t compare_exchange_entry(std::uint64_t mfn, unsigned index, std::uint64_t expected,
                                                 std::uint64_t desired) = 0;
    // The frame is about to become a page table or descriptor page after having been writable:
    // flush any TLB that may still hold a writable translation of it (§7.3, "A clone must do the
    // same"). The hypervisor flushes every pCPU that ran the owner; tests count the calls.
    virtual void flush_stale_writable(std::uint64_t mfn) = 0;
    // The frame has just been written by the hypervisor, or its type count has just left or
    // reached zero (from now on it may be written, or it may have been written until now):
    // log-dirty tracking records it (docs/log-dirty.md). Tests may leave it alone.
    virtual void note_written(std::uint64_t) {}

    PageState& page(std::uint64_t mfn) { return info(mfn).page; }

protected:
    // Never deleted through a base pointer (no heap in the hypervisor).
    ~GuestFrames() = default;
};

}  // namespace xenolith
