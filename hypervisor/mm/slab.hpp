// SlabCache: fixed-size objects carved from naturally aligned page blocks; TypedSlab<T> on top.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>

#include "lib/diagnostics.hpp"
#include "lib/result.hpp"

namespace xenolith {

// Where slabs come from (the buddy allocator through the direct map, or a test fake).
// Blocks must be aligned to their own size: a slab's header is found by rounding down.
class PageProvider {
public:
    virtual Result<void*> allocate_pages(unsigned order) = 0;
    virtual void release_pages(void* block, unsigned order) = 0;

protected:
    ~PageProvider() = default;
};

struct SlabStats {
    std::size_t objects_in_use;
    std::size_t objects_per_slab;
    std::size_t slabs;        // including the spare
    std::size_t spare_slabs;  // empty slabs kept for reuse (0 or 1)
    std::size_t pages;        // pages held from the provider
    std::uint64_t allocations;
    std::uint64_t releases;
    std::uint64_t failed_allocations;
    std::uint64_t bad_releases;  // double frees and foreign pointers refused
};

// Not thread-safe: the caller serialises every call. Objects are never moved or given back to
// the provider while allocated; an empty slab is kept as a spare (at most one) or returned.
class SlabCache {
public:
    static constexpr std::size_t kPageSize = 4096;
    static constexpr unsigned kMaxSlabOrder = 4;           // slabs of up to 64 KiB
    static constexpr std::size_t kMaxObjectsPerSlab = 512;  // bounds the per-slab bitmap
    static constexpr std::size_t kMinObjectsPerSlab = 8;    // pick a larger slab below this

    // An impossible size/alignment (zero, alignment not a power of two, too big for the largest
    // slab) makes the cache invalid: allocate() then fails with EINVAL.
    SlabCache(const char* name, std::size_t object_size, std::size_t align, PageProvider& provider);
    SlabCache(const SlabCache&) = delete;
    SlabCache& operator=(const SlabCache&) = delete;

    bool valid() const { return m_objects_per_slab != 0; }
    const char* name() const { return m_name; }
    std::size_t object_size() const { return m_object_size; }
    std::size_t stride() const { return m_stride; }
    unsigned slab_order() const { return m_slab_order; }

    // ENOMEM when the provider has no pages left, EINVAL for an invalid cache.
    Result<void*> allocate();
    // EINVAL (nothing changed) for null, foreign, interior or already-free pointers.
    Result<void> release(void* object);
    // True if `object` is an allocated object of this cache (what release() checks first).
    bool owns_live(const void* object) const;
    // Give the spare empty slab back to the provider.
    void trim();

    SlabStats stats() const;
    // Walk every slab and cross-check lists, bitmaps, free lists and counters.
    bool check_invariants(Diagnostics& diag) const;

private:
    struct Slab;
    Slab* slab_of(const void* object) const;
    bool object_index(const Slab* slab, const void* object, std::size_t& index) const;
    Result<Slab*> new_slab();
    void give_back(Slab* slab);
    void check_slab(const Slab* slab, int list, Diagnostics& diag) const;

    const char* m_name;
    std::size_t m_object_size;
    std::size_t m_stride = 0;
    std::size_t m_first_offset = 0;
    std::size_t m_objects_per_slab = 0;
    unsigned m_slab_order = 0;
    PageProvider& m_provider;
    Slab* m_partial = nullptr;  // slabs with free and used objects
    Slab* m_full = nullptr;
    Slab* m_spare = nullptr;
    std::size_t m_slab_count = 0;
    std::size_t m_in_use = 0;
    std::uint64_t m_allocations = 0;
    std::uint64_t m_releases = 0;
    std::uint64_t m_failed = 0;
    std::uint64_t m_bad_releases = 0;
};

// A slab cache for one type: constructs objects in place and destroys them before release.
template <typename T>
class TypedSlab {
public:
    TypedSlab(const char* name, PageProvider& provider) : m_cache(name, sizeof(T), alignof(T), provider) {}

    template <typename... Args>
    Result<T*> create(Args&&... args) {
        Result<void*> memory = m_cache.allocate();
        if (memory.is_error())
            return Error{memory.error()};
        return new (*memory) T(std::forward<Args>(args)...);
    }

    // Checked before the destructor runs, so a bad pointer never has ~T() called on it.
    Result<void> destroy(T* object) {
        if (!m_cache.owns_live(object))
            return m_cache.release(object);  // counts and reports the bad release
        object->~T();
        return m_cache.release(object);
    }

    SlabCache& cache() { return m_cache; }
    const SlabCache& cache() const { return m_cache; }

private:
    SlabCache m_cache;
};

}  // namespace xenolith
